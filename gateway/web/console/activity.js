// One activity: status, times, venue, live counts (refreshed while it is open), the links to its rotating codes and,
// where the superior allowed them, its printable codes (PNG from GET /v1/activities/{id}/qr/{in,out}?mode=print;
// the print stylesheet lays them out one per page).
import {
  STATUS_LABELS, boot, call, el, errorText, isDenied, localTime, query, say, showDenied,
} from "/console/shell.js";
import { showRecords } from "/console/activity-records.js";

const REFRESH_MS = 15000;
const main = document.getElementById("main");
const status = document.getElementById("activity-status");
const id = new URLSearchParams(location.search).get("id") || "";

function facts(list, pairs) {
  list.replaceChildren(...pairs.filter(([, value]) => value !== "" && value !== undefined)
    .flatMap(([term, value, key]) => [el("dt", {}, term), el("dd", { dataset: key ? { fact: key } : {} }, value)]));
}

function render(activity) {
  const plan = activity.plan || {};
  const venue = plan.venue || {};
  document.getElementById("activity-title").textContent = `${activity.branch_name} · ${activity.month} ${activity.title}`;
  document.title = `${activity.title} · 智慧党建管理端`;
  facts(document.getElementById("activity-facts"), [
    ["状态", STATUS_LABELS[activity.status] || activity.status, "status"],
    ["活动日期", plan.date || "未填报", "date"],
    ["活动时间", plan.start_at ? `${localTime(plan.start_at, false)}–${localTime(plan.end_at, false)}` : "", "time"],
    ["签到时段", plan.checkin_opens_at ? `${localTime(plan.checkin_opens_at)} 至 ${localTime(plan.checkin_closes_at)}` : ""],
    ["签退截止", plan.checkout_closes_at ? localTime(plan.checkout_closes_at) : ""],
    ["活动场地", venue.name || "", "venue"],
    ["场地坐标（WGS-84）", venue.name ? `${venue.lat.toFixed(6)}, ${venue.lng.toFixed(6)}` : ""],
    ["签到范围", activity.radius_m ? `${activity.radius_m} 米` : ""],
    ["审核", activity.review?.decision === "rejected" ? `已驳回：${activity.review.reason}` :
      activity.review?.decision === "approved" ? `已通过（${localTime(activity.review.reviewed_at)}）` : ""],
  ]);
  const totals = activity.totals || {};
  facts(document.getElementById("activity-counts"), activity.status === "closed" ? [
    ["名单人数", totals.roster, "roster"], ["出席", totals.present, "present"], ["未签退", totals.incomplete],
    ["请假", totals.excused], ["缺席", totals.absent], ["流动党员（线上）", totals.mobile],
  ] : [
    ["名单人数", activity.roster_frozen ? activity.roster_size : "签到开始前锁定", "roster"],
    ["应到现场", activity.roster_frozen ? activity.on_site_expected : "—", "expected"],
    ["已签到", activity.checkins, "checkins"], ["已签退", activity.checkouts, "checkouts"],
    ["异常扫码", activity.flagged, "flagged"],
  ]);
  document.getElementById("live-note").textContent = activity.status === "approved"
    ? `每 ${REFRESH_MS / 1000} 秒自动刷新，更新于 ${localTime(new Date().toISOString(), false)}` : "";
  for (const sheet of document.querySelectorAll(".qr-meta")) {
    sheet.textContent = `${activity.branch_name} · ${activity.title} · ${plan.date || ""} ${plan.start_at ?
      localTime(plan.start_at, false) : ""} · ${venue.name || ""}`;
  }
  document.getElementById("activity-info").hidden = false;
}

async function loadQr(activity) {
  const section = document.getElementById("qr-section");
  if (activity.status !== "approved") {
    section.hidden = true;
    say(status, activity.status === "closed" ? "活动已结束，签到、签退二维码已失效。" :
      activity.status === "cancelled" ? "会议已取消，不再签到、签退。" :
      activity.status === "submitted" ? "计划待上级审核，审核通过后可打印二维码。" :
        "计划尚未提交，审核通过后可打印二维码。");
    return;
  }
  document.getElementById("screen-in").href = `/console/screen?${new URLSearchParams({ id: activity.id, direction: "in" })}`;
  document.getElementById("screen-out").href = `/console/screen?${new URLSearchParams({ id: activity.id, direction: "out" })}`;
  showPrintedPolicy(activity);
  section.hidden = false;
  const printed = activity.printed_code_allowed;
  document.getElementById("qr-sheets").hidden = !printed;
  document.getElementById("print-qr").hidden = !printed;
  if (!printed) return;
  try {
    const [codeIn, codeOut] = await Promise.all(["in", "out"].map((direction) =>
      call("GET", `/v1/activities/${encodeURIComponent(activity.id)}/qr/${direction}${query({ mode: "print" })}`)));
    document.getElementById("qr-in").src = `data:image/png;base64,${codeIn.png}`;
    document.getElementById("qr-out").src = `data:image/png;base64,${codeOut.png}`;
  } catch (error) {
    section.hidden = true;
    say(status, `二维码无法显示：${errorText(error)}`, "error");
  }
}

/** Printed codes are valid for the whole window (a photo of one can be relayed): only where the superior allowed
 * them. An admin sees the switch; the service decides who may use it (an admin above the branch or the issuer). */
function showPrintedPolicy(activity) {
  const allowed = activity.printed_code_allowed;
  document.getElementById("printed-policy").textContent = allowed
    ? `上级已允许本活动使用打印的签到码（理由：${activity.printed_code_reason}）；用打印码的扫码记录会被标注“打印码”。`
    : "打印的签到码在整个活动期间有效，可能被拍照转发后远程签到，须经上级组织管理员批准才能使用。";
  const form = document.getElementById("printed-form");
  form.hidden = !roles.admin.length || activity.status === "closed";
  document.getElementById("printed-toggle").textContent = allowed ? "停止使用打印签到码" : "允许打印签到码";
  form.onsubmit = async (event) => {
    event.preventDefault();
    try {
      const updated = await call("POST", `/v1/activities/${encodeURIComponent(activity.id)}:printed-code`,
        { allowed: !allowed, reason: document.getElementById("printed-reason").value });
      say(status, updated.printed_code_allowed ? "已允许使用打印的签到码" : "已停止使用打印的签到码");
      await loadQr(updated);
    } catch (error) {
      say(status, errorText(error), "error");
    }
  };
}

/** After a change that moves the figures (a back-fill): the facts, counts and every record section again. */
async function reloadAll() {
  const activity = await call("GET", `/v1/activities/${encodeURIComponent(id)}`);
  render(activity);
  await showRecords(activity, roles, reloadAll);
}

async function refresh() {
  try {
    const activity = await call("GET", `/v1/activities/${encodeURIComponent(id)}`);
    render(activity);
    if (activity.status === "approved") setTimeout(refresh, REFRESH_MS);
  } catch (error) {
    setTimeout(refresh, REFRESH_MS * 2);  // a passing failure: keep the page, try again later
  }
}

const { roles } = await boot("themed-days");
document.getElementById("print-qr").addEventListener("click", () => window.print());
try {
  if (!id) throw Object.assign(new Error("no id"), { status: 404 });
  const activity = await call("GET", `/v1/activities/${encodeURIComponent(id)}`);
  render(activity);
  await loadQr(activity);
  if (activity.status === "approved") setTimeout(refresh, REFRESH_MS);
  await showRecords(activity, roles, reloadAll);
} catch (error) {
  if (isDenied(error) || !id) showDenied(main, error instanceof Error && !id ? null : error);
  else say(status, errorText(error), "error");
}
