// /m/meetings: my branch's meetings (三会一课 and the organisational-life meeting, GET /v1/orgs/{branch}/meetings):
// time, venue and my status; leave before the start (POST /v1/activities/{id}/leaves: a meeting's sign-in is the
// themed day's, so its id is the activity's); signing in is scanning the code projected at the meeting (/m/scan).
import { get, post } from "/web/common/api.js";
import { h, mount, notice, formatTime, formValues, busy, flash } from "/web/common/ui.js";
import { session, membersOnly } from "/m/session.js";

const app = document.getElementById("app");
const STATE = { planned: "待召开", held: "已召开", not_held: "未举行", recorded: "已召开", cancelled: "已取消" };
const MY_STATUS = { present: "出席", incomplete: "未签退", excused: "请假", absent: "缺席", mobile: "线上参与（流动党员）" };
const LEAVE_STATE = { pending: "待审批", approved: "已批准", refused: "未批准", lapsed: "已失效（会议已改期）" };
// a refused request may be asked again, and so may one that lapsed when the meeting moved to another time
const mayAskLeave = (leave) => !leave || leave.state === "refused" || leave.state === "lapsed";

function leaveForm(meeting, refresh) {
  const form = h("form", { class: "leave-form" },
    h("label", {}, "请假事由", h("textarea", { name: "reason", required: true, maxlength: 200, placeholder: "请说明不能参加的原因" })),
    h("div", { class: "form-error", role: "alert" }),
    h("button", { class: "btn btn-block", type: "submit" }, "提交请假申请"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = form.querySelector(".form-error");
    error.textContent = "";
    try {
      await busy(form.querySelector("button"), () => post(`/v1/activities/${encodeURIComponent(meeting.id)}/leaves`,
        formValues(form)));
      refresh("请假申请已提交，等待支部书记审批。");
    } catch (e) { error.textContent = e.message; }
  });
  return h("details", { class: "leave" }, h("summary", {}, "不能参加？会议开始前可以请假"), form);
}

async function meetingCard(meeting, member, refresh) {
  const planned = meeting.state === "planned";
  if (meeting.state === "cancelled") {
    return h("article", { class: "card meeting", dataset: { id: meeting.id } },
      h("div", { class: "row" }, h("h3", { class: "grow" }, `${meeting.type_label}：${meeting.title}`),
        h("span", { class: "badge" }, STATE.cancelled)),
      h("dl", { class: "kv" },
        h("dt", {}, "原定时间"), h("dd", { class: "meeting-time" }, `${formatTime(meeting.start_at)} - ${formatTime(meeting.end_at, { date: false })}`),
        h("dt", {}, "取消原因"), h("dd", { class: "cancel-reason" }, (meeting.cancellation || {}).reason || "")),
      h("p", { class: "muted small" }, "会议已取消，无需签到。"));
  }
  const [scans, leaves] = planned || !meeting.my_status ? await Promise.all([
    get(`/v1/activities/${encodeURIComponent(meeting.id)}/scans`).then((r) => r.scans).catch(() => []),
    get(`/v1/activities/${encodeURIComponent(meeting.id)}/leaves`).then((r) => r.leaves).catch(() => []),
  ]) : [[], []];
  const checkin = scans.find((s) => s.member_id === member.id && s.direction === "in");
  const checkout = scans.find((s) => s.member_id === member.id && s.direction === "out");
  const leave = leaves.filter((l) => l.member_id === member.id).pop();
  let mine = meeting.my_status ? MY_STATUS[meeting.my_status] || meeting.my_status
    : checkout ? "已签退" : checkin ? "已签到，待签退" : leave ? `请假${LEAVE_STATE[leave.state] || ""}` : "未签到";
  if (!planned && !meeting.my_status) mine = "不在参会名单中";
  const started = Date.now() >= new Date(meeting.start_at).getTime();
  const body = [
    h("div", { class: "row" }, h("h3", { class: "grow" }, `${meeting.type_label}：${meeting.title}`),
      h("span", { class: "badge" }, STATE[meeting.state] || meeting.state)),
    h("dl", { class: "kv" },
      h("dt", {}, "时间"), h("dd", { class: "meeting-time" }, `${formatTime(meeting.start_at)} - ${formatTime(meeting.end_at, { date: false })}`),
      h("dt", {}, "地点"), h("dd", {}, meeting.venue_name),
      h("dt", {}, "签到"), h("dd", {}, `开始前 30 分钟至开始后 10 分钟，${meeting.radius_m} 米范围内扫码`)),
    h("p", {}, "我的状态：", h("span", { class: "badge my-meeting-status" }, mine)),
  ];
  if (checkin) body.push(h("p", { class: "small" }, `签到时间：${formatTime(checkin.at, { seconds: true })}`));
  if (checkout) body.push(h("p", { class: "small" }, `签退时间：${formatTime(checkout.at, { seconds: true })}`));
  if (planned && !checkin && leave && leave.state === "lapsed") {
    body.push(h("p", { class: "small leave-lapsed" }, "会议已改期，原请假申请已失效；如新的时间仍不能参加，请重新请假。"));
  }
  if (planned && !checkin && !started && mayAskLeave(leave) && !member.mobile) {
    body.push(leaveForm(meeting, refresh));
  }
  if (planned && !checkin && !leave) {
    body.push(h("p", { class: "muted small" }, "到达会场后，用手机扫描现场投屏的签到二维码即可签到；会议结束后扫描签退二维码签退。"));
  }
  if (meeting.record && meeting.record.topics && meeting.record.topics.length) {
    body.push(h("p", { class: "small" }, `议题：${meeting.record.topics.join("；")}`));
  }
  return h("article", { class: "card meeting", dataset: { id: meeting.id } }, ...body);
}

async function render(message, error) {
  const who = await session(render, membersOnly("三会一课", "请使用党员账号登录，查看本支部的会议。"));
  if (!who) return;
  try {
    const answer = await get(`/v1/orgs/${encodeURIComponent(who.member.branch_id)}/meetings`, { page_size: 50 });
    const cards = await Promise.all(answer.meetings.map((m) => meetingCard(m, who.member, render)));
    if (message) flash("ok", message);
    if (error) flash("error", error);
    mount(app, cards.length ? h("section", { id: "meetings" }, ...cards)
        : notice("info", "暂无会议", "支部安排会议后会显示在这里。"));
  } catch (e) {
    mount(app, notice("error", "加载失败", e.message));
  }
}

render();
