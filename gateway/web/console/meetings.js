// 三会一课: the secretary plans a branch meeting (POST /v1/branches/{id}/meetings), projects its rotating sign-in and
// sign-out codes (the themed day's /console/screen, the meeting's id as the activity's), reschedules or cancels it
// before sign-in opens (POST /v1/meetings/{id}:reschedule, :cancel with a reason), and records it once held
// (POST /v1/meetings/{id}:record; late records are back-filled, 补录, with a reason, and listed apart).
import { allPages, boot, call, el, errorText, localTime, say, table } from "/console/shell.js";
import { orgLabel, subtreeOrgs } from "/console/charts.js";

export const TYPE_LABELS = { assembly: "支部党员大会", committee: "支委会", group: "党小组会", lesson: "党课", life: "组织生活会" };
const STATE_LABELS = { planned: "待召开", held: "已召开，待记录", not_held: "未举行（无人签到）", recorded: "已记录",
  cancelled: "已取消" };
const STATE_BADGES = { planned: "badge-info", held: "badge-warn", not_held: "badge-err", recorded: "badge-ok",
  cancelled: "badge-err" };

const pageStatus = document.getElementById("page-status");
const planForm = document.getElementById("meeting-form");
const planStatus = document.getElementById("meeting-status");
const filters = document.getElementById("meeting-filters");
const recordForm = document.getElementById("record-form");
const recordStatus = document.getElementById("record-status");
const rescheduleForm = document.getElementById("reschedule-form");
const rescheduleStatus = document.getElementById("reschedule-status");
const cancelForm = document.getElementById("cancel-form");
const cancelStatus = document.getElementById("cancel-status");
let recording = null;           // the meeting the record form is for
let changing = null;            // the meeting the reschedule or cancel form is for
let settings = { backfill_after_days: 3 };

function when(meeting) {
  return meeting.start_at ? `${meeting.date} ${localTime(meeting.start_at, false)}–${localTime(meeting.end_at, false)}` : "";
}

function attendanceText(meeting) {
  const a = meeting.attendance || {};
  return meeting.state === "planned" || meeting.state === "cancelled" ? "—" : `${a.present || 0}/${a.expected || 0}`;
}

function lines(text) {
  return text.split("\n").map((line) => line.trim()).filter(Boolean);
}

function daysSince(date) {
  const [y, m, d] = date.split("-").map(Number);
  const now = new Date(new Date().toLocaleString("en-US", { timeZone: "Asia/Shanghai" }));
  return Math.floor((Date.UTC(now.getFullYear(), now.getMonth(), now.getDate()) - Date.UTC(y, m - 1, d)) / 86400000);
}

// the service decides (MEETING_STARTED once the roster is frozen); the page only hides what can no longer apply
function changeable(meeting) {
  return meeting.state === "planned" && Date.now() < new Date(meeting.checkin_opens_at).getTime();
}

function actions(meeting) {
  const cells = [];
  if (meeting.state === "planned") {
    cells.push(el("a", { class: "btn btn-small screen-in", target: "_blank",
      href: `/console/screen?${new URLSearchParams({ id: meeting.id, direction: "in" })}` }, "签到码投屏"));
    cells.push(el("a", { class: "btn btn-small screen-out", target: "_blank",
      href: `/console/screen?${new URLSearchParams({ id: meeting.id, direction: "out" })}` }, "签退码投屏"));
  }
  if (changeable(meeting)) {
    cells.push(el("button", { type: "button", class: "btn btn-small reschedule-button",
      dataset: { meeting: meeting.id }, onclick: () => openReschedule(meeting) }, "改期"));
    cells.push(el("button", { type: "button", class: "btn btn-small cancel-button",
      dataset: { meeting: meeting.id }, onclick: () => openCancel(meeting) }, "取消"));
  }
  if (meeting.state === "cancelled") return el("div", { class: "row" }, ...cells);
  if (meeting.state === "held") {
    cells.push(el("button", { type: "button", class: "btn btn-primary btn-small record-button",
      dataset: { meeting: meeting.id }, onclick: () => openRecord(meeting) }, "录入记录"));
  }
  cells.push(el("a", { href: `/console/activity?id=${encodeURIComponent(meeting.id)}` }, "签到明细、请假与照片"));
  return el("div", { class: "row" }, ...cells);
}

function changesCell(meeting) {
  const cancellation = meeting.cancellation || {};
  const moved = meeting.reschedules || [];
  return el("div", { class: "small meeting-changes" },
    cancellation.reason ? el("div", { class: "cancel-reason" },
      `取消原因：${cancellation.reason}（${localTime(cancellation.cancelled_at)}）`) : null,
    moved.length ? el("div", { class: "reschedule-note" }, `已改期 ${moved.length} 次` +
      (moved[moved.length - 1].reason ? `，最近一次原因：${moved[moved.length - 1].reason}` : "")) : null);
}

function recordCell(meeting) {
  const record = meeting.record || {};
  if (meeting.state === "cancelled" || !record.host) return changesCell(meeting);
  return el("div", { class: "small meeting-record" },
    el("div", {}, `主持：${record.host}　记录：${record.recorder}`),
    el("div", {}, `议题：${(record.topics || []).join("；")}`),
    (record.resolutions || []).length ? el("div", {}, `决议：${record.resolutions.join("；")}`) : null,
    record.backfilled ? el("span", { class: "badge badge-warn" }, "补录") : null);
}

async function loadMeetings() {
  const box = document.getElementById("meeting-list");
  const orgId = filters.org_id.value;
  if (!orgId) return;
  try {
    const meetings = await allPages(`/v1/orgs/${encodeURIComponent(orgId)}/meetings`,
      { meeting_type: filters.meeting_type.value, state: filters.state.value, page_size: 200 }, "meetings", 5);
    const onTime = meetings.filter((m) => !m.record?.backfilled);
    const listed = table(["会议时间", "支部", "类型", "主题", "状态", "出席/应到", "会议记录与变更", "操作"],
      onTime.map((m) => [when(m), m.branch_name, m.type_label || TYPE_LABELS[m.meeting_type], m.title,
        el("span", { class: `badge ${STATE_BADGES[m.state] || ""}` }, STATE_LABELS[m.state] || m.state),
        attendanceText(m), recordCell(m), actions(m)]), { id: "meeting-table" });
    listed.querySelectorAll("tbody tr").forEach((tr, index) => { tr.dataset.meeting = onTime[index].id; });
    box.replaceChildren(onTime.length ? listed : el("p", { class: "muted", id: "no-meetings" }, "暂无会议。"));
    const late = meetings.filter((m) => m.record?.backfilled);
    document.getElementById("backfilled-list").replaceChildren(late.length
      ? table(["会议日期", "支部", "类型", "主题", "出席/应到", "录入时间", "录入人", "补录原因"],
        late.map((m) => [m.date, m.branch_name, m.type_label, m.title, attendanceText(m),
          localTime(m.record.recorded_at), m.record.recorded_by, m.record.backfill_reason]), { id: "backfilled-table" })
      : el("p", { class: "muted", id: "no-backfilled" }, "暂无补录的记录。"));
  } catch (error) {
    box.replaceChildren(el("p", { class: "notice notice-error" }, errorText(error)));
  }
}

function openRecord(meeting) {
  hideChangeForms();
  recording = meeting;
  recordForm.hidden = false;
  say(recordStatus, "");
  const a = meeting.attendance || {};
  document.getElementById("record-title").textContent = `录入会议记录：${meeting.date} ${meeting.title}`;
  document.getElementById("record-attendance").textContent =
    `签到结果：应到 ${a.expected || 0} 人，出席 ${a.present || 0} 人，请假 ${a.excused || 0} 人，缺席 ${a.absent || 0} 人。`;
  const late = daysSince(meeting.date) > (settings.backfill_after_days || 3);
  document.getElementById("record-backfill-label").hidden = !late;
  recordForm.backfill_reason.required = late;
  recordForm.scrollIntoView({ block: "start" });
}

async function submitRecord(event) {
  event.preventDefault();
  const button = document.getElementById("record-submit");
  button.disabled = true;
  try {
    const saved = await call("POST", `/v1/meetings/${encodeURIComponent(recording.id)}:record`, {
      host: recordForm.host.value.trim(), recorder: recordForm.recorder.value.trim(),
      topics: lines(recordForm.topics.value), resolutions: lines(recordForm.resolutions.value),
      minutes: recordForm.minutes.value.trim(), backfill_reason: recordForm.backfill_reason.value.trim(),
    });
    recordForm.hidden = true;
    recordForm.reset();
    say(pageStatus, saved.record.backfilled ? `已补录 ${saved.title} 的会议记录。` : `已保存 ${saved.title} 的会议记录。`, "ok");
    await loadMeetings();
  } catch (error) {
    if (error.code === "BACKFILL_REASON_REQUIRED") {
      document.getElementById("record-backfill-label").hidden = false;
      recordForm.backfill_reason.required = true;
    }
    say(recordStatus, errorText(error), "error");
  } finally {
    button.disabled = false;
  }
}

function hideChangeForms() {
  rescheduleForm.hidden = true;
  cancelForm.hidden = true;
  changing = null;
}

function openReschedule(meeting) {
  hideChangeForms();
  recordForm.hidden = true;
  changing = meeting;
  rescheduleForm.reset();
  say(rescheduleStatus, "");
  document.getElementById("reschedule-title").textContent =
    `会议改期：${meeting.type_label || TYPE_LABELS[meeting.meeting_type]}“${meeting.title}”（原定 ${when(meeting)}）`;
  rescheduleForm.title.placeholder = `不填则保持原主题“${meeting.title}”`;
  rescheduleForm.date.value = meeting.date;
  rescheduleForm.start_time.value = localTime(meeting.start_at, false);
  rescheduleForm.end_time.value = localTime(meeting.end_at, false);
  rescheduleForm.venue_name.value = meeting.venue_name;
  rescheduleForm.venue_crs.value = "wgs84";
  rescheduleForm.venue_lat.value = meeting.venue_lat ? String(meeting.venue_lat) : "";
  rescheduleForm.venue_lng.value = meeting.venue_lng ? String(meeting.venue_lng) : "";
  rescheduleForm.hidden = false;
  rescheduleForm.scrollIntoView({ block: "start" });
}

function openCancel(meeting) {
  hideChangeForms();
  recordForm.hidden = true;
  changing = meeting;
  cancelForm.reset();
  say(cancelStatus, "");
  document.getElementById("cancel-title").textContent =
    `取消会议：${meeting.type_label || TYPE_LABELS[meeting.meeting_type]}“${meeting.title}”（${when(meeting)}）`;
  cancelForm.hidden = false;
  cancelForm.scrollIntoView({ block: "start" });
}

async function submitReschedule(event) {
  event.preventDefault();
  const lat = Number(rescheduleForm.venue_lat.value.trim());
  const lng = Number(rescheduleForm.venue_lng.value.trim());
  if (!rescheduleForm.venue_lat.value.trim() || !rescheduleForm.venue_lng.value.trim() || !Number.isFinite(lat)
      || !Number.isFinite(lng)) {
    say(rescheduleStatus, "请填写正确的经纬度（数字，例如 纬度 33.0676、经度 107.0238）。", "error");
    return;
  }
  const button = document.getElementById("reschedule-submit");
  button.disabled = true;
  try {
    const moved = await call("POST", `/v1/meetings/${encodeURIComponent(changing.id)}:reschedule`, {
      title: rescheduleForm.title.value.trim(), date: rescheduleForm.date.value,
      start_time: rescheduleForm.start_time.value, end_time: rescheduleForm.end_time.value,
      venue_name: rescheduleForm.venue_name.value.trim(), venue_lat: lat, venue_lng: lng,
      venue_crs: rescheduleForm.venue_crs.value, reason: rescheduleForm.reason.value.trim(),
    });
    hideChangeForms();
    say(pageStatus, `已将${moved.type_label}“${moved.title}”改期至 ${when(moved)}，地点：${moved.venue_name}。`, "ok");
    await loadMeetings();
  } catch (error) {
    say(rescheduleStatus, errorText(error), "error");
  } finally {
    button.disabled = false;
  }
}

async function submitCancel(event) {
  event.preventDefault();
  const reason = cancelForm.reason.value.trim();
  if (!reason) {
    say(cancelStatus, "请填写取消会议的原因。", "error");
    return;
  }
  const button = document.getElementById("cancel-submit");
  button.disabled = true;
  try {
    const cancelled = await call("POST", `/v1/meetings/${encodeURIComponent(changing.id)}:cancel`, { reason });
    hideChangeForms();
    say(pageStatus, `已取消 ${cancelled.date} 的${cancelled.type_label}“${cancelled.title}”。`, "ok");
    await loadMeetings();
  } catch (error) {
    say(cancelStatus, errorText(error), "error");
  } finally {
    button.disabled = false;
  }
}

async function submitPlan(event) {
  event.preventDefault();
  const lat = Number(planForm.venue_lat.value.trim());
  const lng = Number(planForm.venue_lng.value.trim());
  if (!planForm.venue_lat.value.trim() || !planForm.venue_lng.value.trim() || !Number.isFinite(lat) || !Number.isFinite(lng)) {
    say(planStatus, "请填写正确的经纬度（数字，例如 纬度 33.0676、经度 107.0238）。", "error");
    return;
  }
  const button = document.getElementById("meeting-submit");
  button.disabled = true;
  try {
    const meeting = await call("POST", `/v1/branches/${encodeURIComponent(planForm.branch_id.value)}/meetings`, {
      meeting_type: planForm.meeting_type.value, title: planForm.title.value.trim(), date: planForm.date.value,
      start_time: planForm.start_time.value, end_time: planForm.end_time.value,
      venue_name: planForm.venue_name.value.trim(), venue_lat: lat, venue_lng: lng, venue_crs: planForm.venue_crs.value,
    });
    say(planStatus, `已安排 ${meeting.date} ${localTime(meeting.start_at, false)} 的${meeting.type_label}“${meeting.title}”。` +
      "会议开始前 30 分钟可投屏签到码。", "ok");
    await loadMeetings();
  } catch (error) {
    say(planStatus, errorText(error), "error");
  } finally {
    button.disabled = false;
  }
}

const { roles } = await boot("meetings");
settings = await call("GET", "/v1/meeting-settings").catch(() => settings);
const { roots, orgs } = await subtreeOrgs(roles, { secretaries: true });
const branches = orgs.filter((org) => org.kind === "branch");
if (branches.length) {
  document.getElementById("plan-section").hidden = false;
  planForm.branch_id.replaceChildren(...branches.map((org) => el("option", { value: org.id }, org.name)));
  planForm.addEventListener("submit", submitPlan);
}
document.getElementById("list-section").hidden = false;
filters.org_id.replaceChildren(...orgs.filter((org) => org.kind !== "group")
  .map((org) => el("option", { value: org.id }, orgLabel(org, roots))));
const wanted = new URLSearchParams(location.search).get("org");
if (wanted && orgs.some((org) => org.id === wanted)) filters.org_id.value = wanted;
document.getElementById("list-title").textContent = "会议";
filters.addEventListener("submit", (event) => {
  event.preventDefault();
  loadMeetings();
});
recordForm.addEventListener("submit", submitRecord);
document.getElementById("record-cancel").addEventListener("click", () => { recordForm.hidden = true; });
rescheduleForm.addEventListener("submit", submitReschedule);
cancelForm.addEventListener("submit", submitCancel);
document.getElementById("reschedule-close").addEventListener("click", hideChangeForms);
document.getElementById("cancel-close").addEventListener("click", hideChangeForms);
loadMeetings();
