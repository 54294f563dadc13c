// The records of one activity, below its facts and codes: flagged scans with the records behind them, leave
// decisions, each member's final status once closed, photos and the written record, back-fill (补录),
// rectification items and the hash chain's verdict. Each section calls the API only; what a caller may do is the
// API's decision (a secretary's back-fill is refused there, so the form is offered to admins only).
import { allPages, call, el, errorText, localTime, query, say, table } from "/console/shell.js";

export const MEMBER_STATUS_LABELS = {
  present: "出席", incomplete: "未签退", excused: "请假", absent: "缺席", mobile: "流动党员（线上参与）",
};
const STATUS_BADGES = { present: "badge-ok", incomplete: "badge-warn", excused: "badge-info", absent: "badge-err", mobile: "" };
const FLAG_LABELS = {
  MOCK_LOCATION: "模拟定位", SHARED_DEVICE: "共用设备", IMPOSSIBLE_SPEED: "速度异常", NEW_DEVICE: "新设备",
  NO_MOVEMENT_TODAY: "当日无位置记录", BACKFILLED: "补录",
};
const LEAVE_LABELS = { pending: "待审批", approved: "已批准", refused: "未批准", lapsed: "已失效（会议已改期）" };
const LEAVE_BADGES = { approved: "badge-ok", refused: "badge-err", lapsed: "badge-err" };
const DIRECTION_LABELS = { in: "签到", out: "签退" };

let activity = null;
let roles = null;
let reload = async () => {};
const names = new Map();          // member id -> name: the branch's members, then the closed roster's names

const path = (suffix = "") => `/v1/activities/${encodeURIComponent(activity.id)}${suffix}`;
const nameOf = (memberId) => names.get(memberId) || memberId;
const $ = (id) => document.getElementById(id);

async function loadNames() {
  try {
    const members = await allPages(`/v1/orgs/${encodeURIComponent(activity.branch_id)}/members`, { page_size: 500 },
      "members", 5);
    for (const member of members) names.set(member.id, member.name);
  } catch (error) {
    // names are a convenience: without them the member ids are shown
  }
}

// ------------------------------------------------------------------ statuses
/** Each roster member's final status: the branch's statistics by member for the activity's month (one themed
 * day per branch and month, so each row counts exactly one status). */
async function loadStatuses() {
  const section = $("statuses-section");
  // a meeting (三会一课, month "") is no themed day of the statistics: its attendance is on the meetings page
  if (activity.status !== "closed" || !activity.month) {
    section.hidden = true;
    return [];
  }
  section.hidden = false;
  const box = $("statuses");
  try {
    const answer = await call("GET", `/v1/orgs/${encodeURIComponent(activity.branch_id)}/attendance-statistics` +
      query({ month_from: activity.month, month_to: activity.month, by: "member" }));
    const rows = (answer.rows || []).map((row) => ({
      member_id: row.member_id, name: row.member_name || nameOf(row.member_id),
      status: Object.keys(MEMBER_STATUS_LABELS).find((status) => Number(row[status]) > 0) || "",
    }));
    for (const row of rows) if (row.name && row.name !== row.member_id) names.set(row.member_id, row.name);
    window.consoleActivityStatuses = rows;      // the page's data, for whoever checks it against the API
    box.replaceChildren(rows.length ? el("div", { class: "table-wrap" }, el("table", { class: "table", id: "status-table" },
      el("thead", {}, el("tr", {}, ["党员", "考勤状态"].map((text) => el("th", { scope: "col" }, text)))),
      el("tbody", {}, rows.map((row) => el("tr", { dataset: { member: row.member_id, status: row.status } },
        el("td", { class: "member-name" }, row.name),
        el("td", {}, el("span", { class: `badge ${STATUS_BADGES[row.status] || ""}` },
          MEMBER_STATUS_LABELS[row.status] || "—"))))))) : el("p", { class: "muted" }, "名单为空。"));
    return rows;
  } catch (error) {
    box.replaceChildren(el("p", { class: "notice notice-error" }, errorText(error)));
    return [];
  }
}

// ------------------------------------------------------------------ scans and flags
function scanRows(scans) {
  return scans.map((scan) => [
    String(scan.seq), nameOf(scan.member_id), DIRECTION_LABELS[scan.direction] || scan.direction,
    localTime(scan.at), scan.backfilled ? "—" : `${Math.round(scan.distance_m)} 米`,
    (scan.flags || []).map((flag) => FLAG_LABELS[flag] || flag).join("、") || "—",
    scan.backfilled ? `补录：${scan.backfill_reason}` : scan.code_kind === "printed" ? "打印码" : "",
  ]);
}

async function loadScans() {
  const headers = ["链序号", "党员", "类型", "时间", "距场地", "异常", "备注"];
  try {
    const scans = await allPages(path("/scans"), { page_size: 500 }, "scans", 20);
    const flagged = scans.filter((scan) => (scan.flags || []).some((flag) => flag !== "BACKFILLED"));
    $("flags").replaceChildren(flagged.length ? table(headers, scanRows(flagged), { id: "flag-table" })
      : el("p", { class: "muted", id: "no-flags" }, "暂无异常扫码。"));
    $("scans").replaceChildren(scans.length ? table(headers, scanRows(scans), { id: "scan-table" })
      : el("p", { class: "muted" }, "暂无扫码记录。"));
  } catch (error) {
    $("flags").replaceChildren(el("p", { class: "notice notice-error" }, errorText(error)));
  }
}

// ------------------------------------------------------------------ leave
async function loadLeaves() {
  const box = $("leaves");
  try {
    const { leaves = [] } = await call("GET", path("/leaves"));
    box.replaceChildren(leaves.length ? table(["党员", "请假事由", "申请时间", "状态", "处理"], leaves.map((leave) => [
      leave.member_name || nameOf(leave.member_id), leave.reason, localTime(leave.requested_at),
      el("span", { class: `badge ${LEAVE_BADGES[leave.state] || "badge-warn"}` }, LEAVE_LABELS[leave.state] || leave.state),
      leave.state === "pending" ? leaveControls(leave) : leave.state === "lapsed" ? lapseNote(leave) :
        [leave.decision_note, leave.decided_at ? localTime(leave.decided_at) : ""].filter(Boolean).join(" · "),
    ]), { id: "leave-table" }) : el("p", { class: "muted" }, "暂无请假申请。"));
  } catch (error) {
    box.replaceChildren(el("p", { class: "notice notice-error" }, errorText(error)));
  }
}

// a lapsed request: why and when, and what it had been (a meeting rescheduled to another time)
function lapseNote(leave) {
  const before = { pending: "原待审批", approved: "原已批准" }[leave.lapsed_from] || "";
  return [leave.lapsed_reason || "会议已改期", before, leave.lapsed_at ? localTime(leave.lapsed_at) : ""]
    .filter(Boolean).join(" · ");
}

function leaveControls(leave) {
  const note = el("input", { class: "leave-note", placeholder: "审批意见（选填）", maxlength: 500 });
  const decide = async (decision) => {
    try {
      await call("POST", `/v1/leaves/${encodeURIComponent(leave.id)}:decide`, { decision, note: note.value.trim() });
      say($("leaves-status"), `已${decision === "approved" ? "批准" : "驳回"} ${leave.member_name || nameOf(leave.member_id)} 的请假申请。`, "ok");
    } catch (error) {
      say($("leaves-status"), errorText(error), "error");
    }
    await loadLeaves();
  };
  return el("div", { class: "row leave-decision", dataset: { leave: leave.id } }, note,
    el("button", { type: "button", class: "btn btn-primary btn-small approve-leave", onclick: () => decide("approved") }, "批准"),
    el("button", { type: "button", class: "btn btn-small refuse-leave", onclick: () => decide("refused") }, "不批准"));
}

// ------------------------------------------------------------------ uploads
async function loadUploads() {
  const box = $("uploads");
  $("upload-reason-label").hidden = activity.status !== "closed";
  const blocked = !["approved", "closed"].includes(activity.status);
  for (const id of ["photo-submit", "text-submit"]) $(id).disabled = blocked;
  if (blocked) say($("uploads-status"), "活动计划审核通过后才能上传资料。", "info");
  try {
    const { uploads = [] } = await call("GET", path("/uploads"));
    const photos = uploads.filter((upload) => upload.kind === "photo").length;
    const chars = uploads.filter((upload) => upload.kind === "text").reduce((sum, upload) => sum + (upload.text || "").length, 0);
    box.replaceChildren(
      el("p", { id: "uploads-summary" }, `共 ${photos} 张照片，文字记录 ${chars} 字。`),
      uploads.length ? table(["类型", "内容", "上传时间", "补录原因", "SHA-256"], uploads.map((upload) => [
        upload.kind === "photo" ? "照片" : "会议记录",
        upload.kind === "photo" ? photoCell(upload) : upload.text,
        localTime(upload.added_at), upload.backfilled ? upload.backfill_reason : "",
        el("code", { title: upload.content_hash }, (upload.content_hash || "").slice(0, 12)),
      ]), { id: "upload-table" }) : el("p", { class: "muted" }, "暂无图文资料。"));
  } catch (error) {
    box.replaceChildren(el("p", { class: "notice notice-error" }, errorText(error)));
  }
}

/** A photo's thumbnail (loaded by the browser with the session cookie, only when scrolled near), opening the
 * photo as uploaded in a new tab. */
function photoCell(upload) {
  const photo = path(`/uploads/${encodeURIComponent(upload.id)}/photo`);
  const details = `${upload.content_type}，${(upload.size / 1024).toFixed(1)} KB`;
  const thumb = el("img", {
    class: "upload-thumb", src: `${photo}?size=thumb`, loading: "lazy", decoding: "async",
    alt: `活动照片（${localTime(upload.added_at)} 上传）`, dataset: { upload: upload.id },
    onerror: () => thumb.replaceWith(el("span", { class: "upload-thumb-missing muted" }, "缩略图无法显示")),
  });
  return el("figure", { class: "upload-photo" },
    el("a", { href: photo, target: "_blank", rel: "noopener", title: "在新标签页中查看原图" }, thumb),
    el("figcaption", { class: "small muted" }, `${details} · `,
      el("a", { href: photo, target: "_blank", rel: "noopener", class: "upload-full" }, "查看原图")));
}

function backfillReason() {
  return activity.status === "closed" ? $("upload-reason").value.trim() : "";
}

async function uploadPhoto(event) {
  event.preventDefault();
  const file = $("photo-file").files[0];
  if (!file) return;
  const status = $("uploads-status");
  if (!["image/jpeg", "image/png", "image/webp"].includes(file.type)) {
    say(status, "仅支持 JPEG、PNG、WEBP 格式的照片。", "error");
    return;
  }
  $("photo-submit").disabled = true;
  say(status, `正在上传 ${file.name}…`);
  try {
    await call("POST", path("/photos") + query({ backfill_reason: backfillReason() }), file, { contentType: file.type });
    say(status, `照片 ${file.name} 已上传。`, "ok");
    $("photo-form").reset();
  } catch (error) {
    say(status, `照片未上传：${errorText(error)}`, "error");
  } finally {
    $("photo-submit").disabled = false;
  }
  await loadUploads();
}

async function addText(event) {
  event.preventDefault();
  const status = $("uploads-status");
  $("text-submit").disabled = true;
  try {
    await call("POST", path("/text-records"), { text: $("text-record").value.trim(), backfill_reason: backfillReason() });
    say(status, "会议记录已提交。", "ok");
    $("text-form").reset();
  } catch (error) {
    say(status, errorText(error), "error");
  } finally {
    $("text-submit").disabled = false;
  }
  await loadUploads();
}

// ------------------------------------------------------------------ back-fill
function fillBackfill(statusRows) {
  const section = $("backfill-section");
  section.hidden = !(activity.status === "closed" && roles.admin.length);
  if (section.hidden) return;
  $("backfill-member").replaceChildren(...statusRows.map((row) => el("option", { value: row.member_id },
    `${row.name}（${MEMBER_STATUS_LABELS[row.status] || "—"}）`)));
}

async function backfill(event) {
  event.preventDefault();
  const form = $("backfill-form");
  const status = $("backfill-status");
  $("backfill-submit").disabled = true;
  try {
    await call("POST", path(":backfill-scan"), {
      member_id: form.member_id.value, direction: form.direction.value, reason: form.reason.value.trim(),
    });
    say(status, `已为 ${nameOf(form.member_id.value)} 补录${DIRECTION_LABELS[form.direction.value]}，考勤结果已更新。`, "ok");
    form.reason.value = "";
    await reload();
  } catch (error) {
    say(status, errorText(error), "error");
  } finally {
    $("backfill-submit").disabled = false;
  }
}

// ------------------------------------------------------------------ rectifications
async function loadRectifications() {
  const box = $("rectifications");
  $("rectification-form").hidden = !roles.admin.length;
  try {
    const items = (await allPages(`/v1/orgs/${encodeURIComponent(activity.branch_id)}/rectifications`,
      { page_size: 200 }, "rectifications", 5)).filter((item) => item.activity_id === activity.id);
    box.replaceChildren(items.length ? table(["整改内容", "期限", "状态", "下达时间", "办结"], items.map((item) => [
      item.title, item.due_on,
      el("span", { class: `badge ${item.state === "closed" ? "badge-ok" : item.overdue ? "badge-err" : "badge-warn"}` },
        item.state === "closed" ? "已办结" : item.overdue ? "已逾期" : "整改中"),
      localTime(item.opened_at),
      item.state === "closed" ? `${item.closing_note}（${localTime(item.closed_at)}）` :
        roles.admin.length ? closeControls(item) : "",
    ]), { id: "rectification-table" }) : el("p", { class: "muted" }, "暂无整改事项。"));
  } catch (error) {
    box.replaceChildren(el("p", { class: "notice notice-error" }, errorText(error)));
  }
}

function closeControls(item) {
  const note = el("input", { class: "close-note", placeholder: "办结说明", maxlength: 500 });
  const close = async () => {
    if (!note.value.trim()) {
      say($("rectifications-status"), "请填写办结说明。", "error");
      return;
    }
    try {
      await call("POST", `/v1/rectifications/${encodeURIComponent(item.id)}:close`, { note: note.value.trim() });
      say($("rectifications-status"), `整改事项“${item.title}”已办结。`, "ok");
    } catch (error) {
      say($("rectifications-status"), errorText(error), "error");
    }
    await loadRectifications();
  };
  return el("div", { class: "row" }, note,
    el("button", { type: "button", class: "btn btn-small close-rectification", onclick: close }, "办结"));
}

async function openRectification(event) {
  event.preventDefault();
  const form = $("rectification-form");
  try {
    await call("POST", path("/rectifications"), { title: form.title.value.trim(), due_on: form.due_on.value });
    say($("rectifications-status"), "整改事项已下达。", "ok");
    form.reset();
  } catch (error) {
    say($("rectifications-status"), errorText(error), "error");
  }
  await loadRectifications();
}

// ------------------------------------------------------------------ chain
async function verifyChain() {
  const box = $("chain-result");
  box.replaceChildren(el("p", { class: "muted" }, "正在校验…"));
  try {
    const report = await call("GET", path("/chain"));
    window.consoleChainReport = report;
    box.replaceChildren(el("div", { class: `verdict ${report.ok ? "verdict-ok" : "verdict-error"}`, id: "chain-verdict",
      role: "status" },
    el("span", { class: "verdict-icon" }, report.ok ? "✓" : "✗"),
    el("span", { class: "verdict-title" }, report.ok ? "完整" : "被篡改"),
    el("span", {}, report.ok
      ? `共校验 ${report.checked} 条记录，链头序号 ${report.head_seq}${report.sealed ? "，与结束时封存的链头一致" : ""}。`
      : `共校验 ${report.checked} 条记录，发现 ${report.problems.length} 处问题。`)),
    report.problems?.length ? table(["序号", "问题", "说明"], report.problems.map((problem) => [
      String(problem.seq), problem.problem, problem.message]), { id: "chain-problems" }) : "",
    report.head_hash ? el("p", { class: "small muted" }, `链头哈希：${report.head_hash}`) : "");
  } catch (error) {
    box.replaceChildren(el("p", { class: "notice notice-error" }, errorText(error)));
  }
}

let wired = false;

/** Show (or refresh) the record sections for `current`; `refresh` reloads the whole page's data. */
export async function showRecords(current, callerRoles, refresh) {
  activity = current;
  roles = callerRoles;
  reload = refresh;
  if (!wired) {
    wired = true;
    $("photo-form").addEventListener("submit", uploadPhoto);
    $("text-form").addEventListener("submit", addText);
    $("backfill-form").addEventListener("submit", backfill);
    $("rectification-form").addEventListener("submit", openRectification);
    $("verify-chain").addEventListener("click", verifyChain);
    await loadNames();
  }
  $("activity-records").hidden = false;
  const [statusRows] = await Promise.all([loadStatuses(), loadLeaves(), loadUploads(), loadRectifications()]);
  await loadScans();          // after the statuses: the closed roster's names label the scans too
  fillBackfill(statusRows);
}
