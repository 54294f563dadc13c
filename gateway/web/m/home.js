// /m/: the member's home on the phone: this month's themed day (time, venue, my status), leave before the start,
// the sign-out hint, a reflection after sign-out, a like for mobile members, my attendance history and my points.
import { get, post } from "/web/common/api.js";
import { h, mount, notice, formatTime, formValues, busy } from "/web/common/ui.js";
import { session } from "/m/session.js";
import { keepPositionIfAllowed } from "/m/positions.js";

const app = document.getElementById("app");

const ACTIVITY_STATUS = { planning: "筹备中", submitted: "计划待审核", approved: "已审核", closed: "已结束" };
const MY_STATUS = { present: "出席", incomplete: "未签退", excused: "请假", absent: "缺勤", mobile: "线上参与（流动党员）" };
const LEAVE_STATE = { pending: "待审批", approved: "已批准", refused: "未批准", lapsed: "已失效（会议已改期）" };
// a refused or lapsed (its meeting moved to another time) request may be asked again
const mayAskLeave = (leave) => !leave || leave.state === "refused" || leave.state === "lapsed";
const POINT_CATEGORY = { attendance: "参加活动", meeting: "三会一课", reflection: "心得体会", volunteer_hours: "志愿服务",
                         quiz: "学习答题", study: "学习套餐", contest: "知识竞赛", absence: "缺勤扣分",
                         deduction: "负面清单扣分" };

const pad = (n) => String(n).padStart(2, "0");
const thisMonth = (d = new Date()) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}`;
const statusBadge = (text, kind = "") => h("span", { class: `badge ${kind ? "badge-" + kind : ""}` }, text);

function planLines(activity) {
  const plan = activity.plan || {};
  if (!plan.start_at) return [h("p", { class: "muted" }, "支部尚未确定活动时间和地点。")];
  return [h("dl", { class: "kv" },
    h("dt", {}, "时间"), h("dd", { class: "plan-time" }, `${formatTime(plan.start_at)} - ${formatTime(plan.end_at, { date: false })}`),
    h("dt", {}, "地点"), h("dd", { class: "plan-venue" }, (plan.venue && plan.venue.name) || ""),
    h("dt", {}, "签到"), h("dd", {}, `开始前 30 分钟至开始后 ${plan.grace_minutes ?? 10} 分钟，${activity.radius_m} 米范围内扫码`))];
}

// What the member has done in an activity: own scans, own leave, own reflection.
async function myPart(activity, memberId) {
  const [scans, leaves, reflections] = await Promise.all([
    get(`/v1/activities/${activity.id}/scans`).then((r) => r.scans).catch(() => []),
    get(`/v1/activities/${activity.id}/leaves`).then((r) => r.leaves).catch(() => []),
    get(`/v1/activities/${activity.id}/reflections`, { page_size: 500 }).then((r) => r.reflections).catch(() => []),
  ]);
  const mine = scans.filter((s) => s.member_id === memberId);
  return {
    checkin: mine.find((s) => s.direction === "in"),
    checkout: mine.find((s) => s.direction === "out"),
    leave: leaves.filter((l) => l.member_id === memberId).pop(),
    reflection: reflections.find((r) => r.member_id === memberId),
  };
}

function statusOf(activity, part) {
  if (activity.my_status) return [MY_STATUS[activity.my_status] || activity.my_status, activity.my_status === "absent" ? "err" : "ok"];
  if (part.checkout) return ["已签退", "ok"];
  if (part.checkin) return ["已签到，待签退", "info"];
  if (part.leave) return [`请假${LEAVE_STATE[part.leave.state] || ""}`, mayAskLeave(part.leave) ? "err" : "warn"];
  return ["未签到", ""];
}

function leaveForm(activity, refresh) {
  const form = h("form", { class: "leave-form" },
    h("label", {}, "请假事由", h("textarea", { name: "reason", required: true, maxlength: 200, placeholder: "请说明不能参加的原因" })),
    h("div", { class: "form-error", role: "alert" }),
    h("button", { class: "btn btn-block", type: "submit" }, "提交请假申请"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = form.querySelector(".form-error");
    error.textContent = "";
    try {
      await busy(form.querySelector("button"), () => post(`/v1/activities/${activity.id}/leaves`, formValues(form)));
      refresh("请假申请已提交，等待支部书记审批。");
    } catch (e) { error.textContent = e.message; }
  });
  return h("details", { class: "leave" }, h("summary", {}, "不能参加？活动开始前可以请假"), form);
}

function reflectionForm(activity, refresh) {
  const form = h("form", { class: "reflection-form" },
    h("label", {}, "心得体会", h("textarea", { name: "text", required: true, maxlength: 2000, placeholder: "写下参加本次活动的收获和体会" })),
    h("div", { class: "form-error", role: "alert" }),
    h("button", { class: "btn btn-primary btn-block", type: "submit" }, "发表心得体会"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = form.querySelector(".form-error");
    error.textContent = "";
    try {
      await busy(form.querySelector("button"), () => post(`/v1/activities/${activity.id}/reflections`, formValues(form)));
      refresh("心得体会已发表。");
    } catch (e) { error.textContent = e.message; }
  });
  return form;
}

function likeButton(activity, refresh) {
  const button = h("button", { class: "btn btn-block", type: "button", id: "like" }, "为本次活动点赞");
  button.addEventListener("click", async () => {
    try {
      const result = await busy(button, () => post(`/v1/activities/${activity.id}:like`));
      refresh(result && result.repeat ? "您已点过赞。" : "点赞成功，感谢参与！");
    } catch (e) { refresh(null, e.message); }
  });
  return button;
}

async function activityCard(activity, who, refresh) {
  const member = who.member;
  const part = await myPart(activity, member.id);
  const [status, kind] = statusOf(activity, part);
  const started = activity.plan && activity.plan.start_at && Date.now() >= new Date(activity.plan.start_at).getTime();
  const closed = activity.status === "closed";
  const body = [
    h("div", { class: "row" }, h("h3", { class: "grow" }, activity.title),
      statusBadge(ACTIVITY_STATUS[activity.status] || activity.status)),
    ...planLines(activity),
    h("p", {}, "我的状态：", h("span", { class: "my-status" }, statusBadge(status, kind))),
  ];
  if (part.checkin) body.push(h("p", { class: "small" }, `签到时间：${formatTime(part.checkin.at, { seconds: true })}`));
  if (part.checkout) body.push(h("p", { class: "small" }, `签退时间：${formatTime(part.checkout.at, { seconds: true })}`));
  if (part.leave) {
    body.push(h("p", { class: "small" }, `请假：${LEAVE_STATE[part.leave.state] || part.leave.state}（${part.leave.reason}）`,
      part.leave.decision_note ? `，${part.leave.decision_note}` : ""));
  }
  if (!closed && !part.checkin && !started && activity.plan && activity.plan.start_at &&
      mayAskLeave(part.leave) && !member.mobile) {
    body.push(leaveForm(activity, refresh));
  }
  if (part.checkin && !part.checkout && !closed) {
    body.push(notice("info", "记得签退", "活动结束后，请扫描现场的签退二维码完成签退；签退后可以发表心得体会。"));
  }
  if (!part.checkin && !closed && activity.status === "approved" && !member.mobile && !part.leave) {
    body.push(h("p", { class: "muted small" }, "到达活动地点后，用手机扫描现场的签到二维码即可签到。"));
  }
  if (member.mobile && activity.status !== "planning") {
    body.push(h("p", { class: "muted small" }, "您是流动党员，可线上参与：学习活动内容后点赞并发表心得体会。"));
    body.push(likeButton(activity, refresh));
  }
  if (part.reflection) {
    body.push(h("div", { class: "reflection" }, h("h3", {}, "我的心得体会"), h("p", {}, part.reflection.text),
      h("p", { class: "muted small" }, formatTime(part.reflection.posted_at))));
  } else if (part.checkout || (member.mobile && activity.roster_frozen)) {
    body.push(reflectionForm(activity, refresh));
  }
  return h("section", { class: "card activity", dataset: { id: activity.id } }, ...body);
}

function historyCard(activities) {
  const past = activities.filter((a) => a.status === "closed");
  const rows = past.map((a) => h("li", { class: "row" },
    h("span", { class: "grow" }, `${a.month} ${a.title}`),
    statusBadge(MY_STATUS[a.my_status] || "—", a.my_status === "absent" ? "err" : a.my_status ? "ok" : "")));
  return h("section", { class: "card", id: "history" }, h("h2", {}, "我的考勤记录"),
    rows.length ? h("ul", { class: "list" }, rows) : h("p", { class: "muted" }, "暂无已结束的活动。"));
}

function pointsCard(ledger) {
  if (!ledger) return h("section", { class: "card", id: "points" }, h("h2", {}, "我的积分"), h("p", { class: "muted" }, "暂无积分信息。"));
  const entries = ledger.entries.slice().reverse().map((e) => h("tr", {},
    h("td", {}, formatTime(e.at, { date: true }).slice(0, 10)),
    h("td", {}, POINT_CATEGORY[e.category] || e.category, e.reason ? h("div", { class: "muted small" }, e.reason) : null),
    h("td", { class: "num" }, (e.points > 0 ? "+" : "") + e.points)));
  return h("section", { class: "card", id: "points" },
    h("h2", {}, "我的积分"),
    h("div", { class: "stats" },
      h("div", { class: "stat" }, h("b", { id: "points-total" }, String(ledger.total)), `本周期积分（${ledger.cycle}）`),
      h("div", { class: "stat" }, h("b", {}, String(ledger.threshold)), "合格线")),
    ledger.below_threshold ? notice("warn", "", "积分低于合格线，请积极参加组织生活。") : null,
    entries.length
      ? h("div", { class: "table-wrap" }, h("table", { class: "table" },
          h("thead", {}, h("tr", {}, h("th", {}, "日期"), h("th", {}, "事项"), h("th", { class: "num" }, "积分"))),
          h("tbody", {}, entries)))
      : h("p", { class: "muted" }, "本周期暂无积分记录。"));
}

async function render(message, error) {
  const current = await session(() => render(), [notice("info", "该账号不是党员账号", "管理人员请使用电脑打开管理端。"),
    h("p", {}, h("a", { href: "/console/" }, "进入电脑管理端"))]);
  if (!current) return;
  const branchId = current.member.branch_id;
  const [monthly, all, ledger] = await Promise.all([
    get(`/v1/orgs/${branchId}/activities`, { month: thisMonth() }).then((r) => r.activities).catch(() => []),
    get(`/v1/orgs/${branchId}/activities`, { page_size: 100 }).then((r) => r.activities).catch(() => []),
    get("/v1/points/ledger").catch(() => null),
  ]);
  const refresh = (ok, failed) => render(ok, failed);
  const cards = await Promise.all(monthly.map((a) => activityCard(a, current, refresh)));
  mount(app,
    h("div", { id: "flash" }, message ? notice("ok", message) : null, error ? notice("error", error) : null),
    h("h2", {}, `本月主题党日（${thisMonth()}）`),
    cards.length ? cards : h("section", { class: "card" }, h("p", { class: "muted" }, "本月暂无主题党日活动。")),
    historyCard(all),
    pointsCard(ledger),
    h("section", { class: "card" }, h("a", { href: "/m/appraisal", id: "appraisal-link" }, "民主评议党员（自评、互评、投票）")),
    h("section", { class: "card" }, h("a", { href: "/m/dues", id: "dues-link" }, "我的党费（应交标准、已缴月份、收据）")),
    h("section", { class: "card" }, h("a", { href: "/m/development", id: "development-link" }, "我的发展纪实（发展阶段、谈话、培训、公示）")));
}

render();
keepPositionIfAllowed();     // an earlier position of the day for a later sign-in (fix.history)
