// 主题党日: a branch secretary's activities and the plan form (POST :submit-plan, venue coordinates with their
// system as venue_crs, or the browser's own WGS-84 position); an admin's plans to review (approve / reject
// with a reason) and the subtree's activities.
import {
  KIND_LABELS, STATUS_LABELS, allPages, boot, call, el, errorText, localTime, say, table,
} from "/console/shell.js";

const pageStatus = document.getElementById("page-status");
const form = document.getElementById("plan-form");
const planStatus = document.getElementById("plan-status");
let planning = null;          // the activity whose plan the form fills
const BADGES = { planning: "badge-warn", submitted: "badge-info", approved: "badge-ok", closed: "" };

function when(activity) {
  const plan = activity.plan || {};
  if (!plan.start_at) return "";
  return `${plan.date} ${localTime(plan.start_at, false)}–${localTime(plan.end_at, false)}`;
}

function statusCell(activity) {
  const label = STATUS_LABELS[activity.status] || activity.status;
  if (activity.status === "planning" && activity.review?.decision === "rejected") {
    return el("span", { class: "badge badge-err" }, `已驳回：${activity.review.reason}`);
  }
  return el("span", { class: `badge ${BADGES[activity.status] || ""}` }, label);
}

function activityLink(activity, text = "查看活动与二维码") {
  return el("a", { href: `/console/activity?id=${encodeURIComponent(activity.id)}` }, text);
}

// ---------------------------------------------------------------- secretary
async function loadBranch(branch) {
  const box = document.getElementById("branch-activities");
  try {
    const activities = await allPages(`/v1/orgs/${encodeURIComponent(branch.id)}/activities`, { page_size: 100 },
      "activities");
    if (!activities.length) {
      box.replaceChildren(el("p", { class: "muted" }, "暂无上级下发的主题党日。"));
      return;
    }
    box.replaceChildren(table(["月份", "主题", "状态", "活动时间", "场地", "操作"], activities.map((activity) => [
      activity.month, activity.title, statusCell(activity), when(activity), activity.plan?.venue?.name || "",
      activity.status === "planning"
        ? el("button", { type: "button", class: "btn btn-primary btn-small plan-button", dataset: { activity: activity.id },
          onclick: () => openPlan(activity) }, "填写计划")
        : activity.status === "submitted" ? el("span", { class: "muted" }, "等待上级审核") : activityLink(activity),
    ]), { id: "branch-activity-table" }));
  } catch (error) {
    box.replaceChildren(el("p", { class: "notice notice-error" }, errorText(error)));
  }
}

function openPlan(activity) {
  planning = activity;
  form.hidden = false;
  say(planStatus, "");
  document.getElementById("plan-title").textContent = `填写活动计划：${activity.month} ${activity.title}`;
  const rejected = document.getElementById("plan-rejected");
  const review = activity.review || {};
  rejected.hidden = review.decision !== "rejected";
  rejected.textContent = review.decision === "rejected" ? `上次提交被驳回，原因：${review.reason}` : "";
  if (activity.due_from) form.date.min = activity.due_from;
  if (activity.due_to) form.date.max = activity.due_to;
  const plan = activity.plan || {};
  if (plan.date) form.date.value = plan.date;
  if (plan.start_at) form.start_time.value = localTime(plan.start_at, false);
  if (plan.end_at) form.end_time.value = localTime(plan.end_at, false);
  if (plan.venue?.name) form.venue_name.value = plan.venue.name;
  form.scrollIntoView({ block: "start" });
}

function usePosition() {
  if (!navigator.geolocation) {
    say(planStatus, "此浏览器不支持定位，请从地图上取坐标并选择坐标系。", "error");
    return;
  }
  say(planStatus, "正在获取当前位置…");
  navigator.geolocation.getCurrentPosition((position) => {
    form.venue_lat.value = position.coords.latitude.toFixed(6);
    form.venue_lng.value = position.coords.longitude.toFixed(6);
    form.venue_crs.value = "wgs84";     // a browser reports WGS-84
    say(planStatus, `已填入当前位置（WGS-84，精度约 ${Math.round(position.coords.accuracy)} 米）。`, "ok");
  }, (error) => {
    say(planStatus, error.code === error.PERMISSION_DENIED
      ? "未获得定位权限：请在浏览器设置中允许本网站使用位置信息，或从地图上取坐标并选择坐标系。"
      : "无法获取当前位置，请稍后重试，或从地图上取坐标并选择坐标系。", "error");
  }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 0 });
}

async function submitPlan(event) {
  event.preventDefault();
  const lat = Number(form.venue_lat.value.trim());
  const lng = Number(form.venue_lng.value.trim());
  if (!form.venue_lat.value.trim() || !form.venue_lng.value.trim() || !Number.isFinite(lat) || !Number.isFinite(lng)) {
    say(planStatus, "请填写正确的经纬度（数字，例如 纬度 33.0676、经度 107.0238）。", "error");
    return;
  }
  const button = document.getElementById("plan-submit");
  button.disabled = true;
  try {
    await call("POST", `/v1/activities/${encodeURIComponent(planning.id)}:submit-plan`, {
      date: form.date.value, start_time: form.start_time.value, end_time: form.end_time.value,
      venue_name: form.venue_name.value.trim(), venue_lat: lat, venue_lng: lng, venue_crs: form.venue_crs.value,
    });
    form.hidden = true;
    say(pageStatus, "计划已提交，等待上级审核。", "ok");
    await loadBranch(secretaryBranch);
  } catch (error) {
    say(planStatus, errorText(error), "error");
  } finally {
    button.disabled = false;
  }
}

// ---------------------------------------------------------------- admin
async function loadPending(root) {
  const box = document.getElementById("pending-plans");
  try {
    const activities = await allPages(`/v1/orgs/${encodeURIComponent(root.id)}/activities`,
      { status: "submitted", page_size: 200 }, "activities");
    if (!activities.length) {
      box.replaceChildren(el("p", { class: "muted", id: "no-pending" }, "暂无待审核的计划。"));
      return;
    }
    box.replaceChildren(table(["支部", "主题", "活动时间", "场地", "坐标（WGS-84）", "审核"],
      activities.map((activity) => [
        activity.branch_name, `${activity.month} ${activity.title}`, when(activity), activity.plan?.venue?.name || "",
        activity.plan?.venue ? `${activity.plan.venue.lat.toFixed(6)}, ${activity.plan.venue.lng.toFixed(6)}` : "",
        reviewControls(activity, root),
      ]), { id: "pending-table" }));
  } catch (error) {
    box.replaceChildren(el("p", { class: "notice notice-error" }, errorText(error)));
  }
}

function reviewControls(activity, root) {
  const reason = el("input", { class: "reject-reason", placeholder: "驳回理由", maxlength: 500, hidden: true });
  const note = el("span", { class: "notice notice-error", hidden: true });
  const decide = async (decision) => {
    if (decision === "rejected" && reason.hidden) {
      reason.hidden = false;
      reason.focus();
      return;
    }
    if (decision === "rejected" && !reason.value.trim()) {
      say(note, "请填写驳回理由。", "error");
      return;
    }
    try {
      await call("POST", `/v1/activities/${encodeURIComponent(activity.id)}:review`,
        decision === "rejected" ? { decision, reason: reason.value.trim() } : { decision });
      say(pageStatus, decision === "approved" ? `已通过 ${activity.branch_name} 的计划。` :
        `已驳回 ${activity.branch_name} 的计划。`, "ok");
      await Promise.all([loadPending(root), loadSubtree(root)]);
    } catch (error) {
      say(note, errorText(error), "error");
    }
  };
  return el("div", { class: "row review", dataset: { activity: activity.id } },
    el("button", { type: "button", class: "btn btn-primary btn-small approve", onclick: () => decide("approved") }, "通过"),
    el("button", { type: "button", class: "btn btn-small reject", onclick: () => decide("rejected") }, "驳回"),
    reason, note);
}

async function loadSubtree(root) {
  const box = document.getElementById("subtree-activities");
  const filters = document.getElementById("activity-filters");
  try {
    const activities = await allPages(`/v1/orgs/${encodeURIComponent(root.id)}/activities`,
      { month: filters.month.value, status: filters.status.value, page_size: 200 }, "activities", 5);
    box.replaceChildren(activities.length ? table(["支部", "月份", "主题", "状态", "活动时间", "已签到/应到", "操作"],
      activities.map((activity) => [
        activity.branch_name, activity.month, activity.title, statusCell(activity), when(activity),
        activity.roster_frozen ? `${activity.checkins}/${activity.on_site_expected}` : "—", activityLink(activity, "查看"),
      ]), { id: "subtree-table" }) : el("p", { class: "muted" }, "没有符合条件的活动。"));
  } catch (error) {
    box.replaceChildren(el("p", { class: "notice notice-error" }, errorText(error)));
  }
}

// ---------------------------------------------------------------- 一键下发
async function setupThemeForm(roles) {
  const themeForm = document.getElementById("theme-form");
  const themeStatus = document.getElementById("theme-status");
  const choices = [];
  for (const grant of roles.admin) {
    try {
      const orgs = await allPages(`/v1/orgs/${encodeURIComponent(grant.org.id)}/subtree`, { page_size: 500 }, "orgs", 5);
      choices.push(...orgs.filter((org) => !["branch", "group"].includes(org.kind)));
    } catch (error) {
      choices.push(grant.org);
    }
  }
  const top = choices[0]?.level || 0;
  themeForm.org_id.replaceChildren(...choices.map((org) => el("option", { value: org.id },
    `${"　".repeat(Math.max(0, (org.level || 0) - top))}${org.name}（${KIND_LABELS[org.kind] || ""}）`)));
  const now = new Date();
  themeForm.month.value = `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, "0")}`;
  themeForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = document.getElementById("theme-submit");
    const org = choices.find((one) => one.id === themeForm.org_id.value);
    button.disabled = true;
    say(themeStatus, "正在下发…");
    try {
      const answer = await call("POST", "/v1/themes", {
        org_id: themeForm.org_id.value, month: themeForm.month.value, title: themeForm.title.value.trim(),
        due_from: themeForm.due_from.value, due_to: themeForm.due_to.value,
      });
      say(themeStatus, `下发成功：${org?.name || ""}范围内 ${answer.activities_created} 个支部收到了` +
        `${answer.theme.month}主题党日“${answer.theme.title}”，请提醒支部书记填报活动计划。`, "ok");
      await loadSubtree(adminRoot);
    } catch (error) {
      say(themeStatus, errorText(error), "error");
    } finally {
      button.disabled = false;
    }
  });
}

const { roles } = await boot("themed-days");
const secretaryBranch = roles.secretary[0]?.org;
if (secretaryBranch) {
  document.getElementById("secretary-section").hidden = false;
  document.getElementById("secretary-title").textContent = `${secretaryBranch.name} · 主题党日`;
  document.getElementById("use-position").addEventListener("click", usePosition);
  document.getElementById("plan-cancel").addEventListener("click", () => { form.hidden = true; });
  form.addEventListener("submit", submitPlan);
  loadBranch(secretaryBranch);
}
const adminRoot = roles.admin[0]?.org;
if (adminRoot) {
  document.getElementById("admin-section").hidden = false;
  document.getElementById("activity-filters").addEventListener("submit", (event) => {
    event.preventDefault();
    loadSubtree(adminRoot);
  });
  loadPending(adminRoot);
  loadSubtree(adminRoot);
  setupThemeForm(roles);
}
