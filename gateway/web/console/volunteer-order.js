// 订单处理 (/console/volunteer-order?id=): one order as its community's managers see it (GET
// /v1/volunteer/orders/{id}: the contact, the claims with their hours, the history) and what its state allows:
// review (approve, or reject with the reason the citizen reads), merge a duplicate into another order, dispatch
// (open for claiming by reported members, or to a team; volunteers needed, fence radius, hours cap), resolve a
// dispute (credit the hours or not, with a reason).
import { boot, call, el, errorText, isDenied, query, say, showDenied, table, localTime } from "/console/shell.js";
import { CLAIM_LABELS, STATUS_LABELS, statusBadge } from "/console/volunteer-common.js";

const main = document.getElementById("main");
const status = document.getElementById("status");
const box = document.getElementById("order");
const orderId = new URLSearchParams(location.search).get("id") || "";
const path = (tail = "") => `/v1/volunteer/orders/${encodeURIComponent(orderId)}${tail}`;
const ACTORS = { citizen: "群众", guest: "群众（游客）", member: "党员志愿者", manager: "社区管理员", system: "系统" };
const OPEN_TO_MERGE = new Set(["placed", "approved", "open", "in_service"]);

/** A form filled in wrongly, told before anything is sent. */
class FormProblem extends Error {}

function facts(order) {
  const rows = [
    ["订单号", order.order_id], ["社区", order.community_name], ["服务类别", order.category_label || order.category],
    ["需求描述", order.description], ["服务地址", order.address],
    ["位置", order.lat || order.lng ? `${order.lat}, ${order.lng}` : ""],
    ["期望时间", order.wished_start ? `${localTime(order.wished_start)} 至 ${localTime(order.wished_end)}` : ""],
    ["联系人", order.contact_name ? `${order.contact_name} ${order.contact_phone || ""}` : ""],
    ["提交时间", localTime(order.placed_at)], ["审核时间", localTime(order.reviewed_at)],
    ["派单时间", localTime(order.dispatched_at)], ["完成时间", localTime(order.completed_at)],
    ["确认时间", localTime(order.confirmed_at)],
    ["派单方式", order.mode === "team" ? `派给队伍：${order.team_name || order.team_id}` : order.mode === "claim" ? "党员认领（已报到党员）" : ""],
    ["名额", order.volunteers_needed ? `需要 ${order.volunteers_needed} 人，已接 ${order.claimed} 人` : ""],
    ["签到范围", order.fence_radius_m ? `${order.fence_radius_m} 米` : ""], ["时长上限", order.hours_cap ? `${order.hours_cap} 小时` : ""],
    ["未通过原因", order.reject_reason], ["合并到", order.merged_into],
    ["完成报告", order.completion_text],
    ["群众评价", order.rating ? `${"★".repeat(order.rating)}${"☆".repeat(5 - order.rating)}${order.comment ? `，${order.comment}` : ""}` : ""],
    ["异议", order.dispute_reason], ["处理结果", order.resolution],
  ];
  return el("dl", { class: "kv facts", id: "order-facts" },
    rows.filter(([, value]) => value).flatMap(([label, value]) => [el("dt", {}, label), el("dd", {}, value)]));
}

function claimsTable(order) {
  const claims = order.claimants || [];
  if (!claims.length) return null;
  return el("section", { class: "card" }, el("h2", {}, "接单志愿者"),
    table(["志愿者", "状态", "服务时长（小时）"], claims.map((claim) => [
      claim.name, CLAIM_LABELS[claim.status] || claim.status, claim.status === "checked_out" ? Number(claim.hours || 0).toFixed(2) : "",
    ]), { id: "claims-table" }));
}

function photos(order) {
  if (!(order.photo_ids || []).length) return null;
  return el("section", { class: "card" }, el("h2", {}, "服务照片"),
    el("div", { class: "row" }, order.photo_ids.map((id) => {
      const src = `/v1/volunteer/order-photos/${encodeURIComponent(id)}`;
      return el("a", { href: src, target: "_blank", rel: "noopener" }, el("img", { class: "upload-thumb", src, alt: "服务照片", loading: "lazy" }));
    })));
}

function historyTable(order) {
  const history = order.history || [];
  return el("section", { class: "card" }, el("h2", {}, "处理记录"),
    history.length ? table(["时间", "变化", "操作人", "说明"], history.map((step) => [
      localTime(step.at), `${STATUS_LABELS[step.from] || step.from || "—"} → ${STATUS_LABELS[step.to] || step.to}`,
      ACTORS[step.actor_kind] || step.actor_kind, step.reason || "",
    ]), { id: "history-table" }) : el("p", { class: "muted" }, "暂无记录。"));
}

/** A form whose submit calls `send(values)`; its answer is the order, drawn again with `done`. */
function actionForm(id, title, fields, buttons, send) {
  const form = el("form", { class: "card", id }, el("h2", {}, title), ...fields, el("div", { class: "actions" }, buttons));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = event.submitter;
    const values = Object.fromEntries(new FormData(form).entries());
    if (button && button.name) values[button.name] = button.value;
    for (const node of form.querySelectorAll("button")) node.disabled = true;
    try {
      const [order, done] = await send(values, form);
      draw(order);
      say(status, done, "ok");
    } catch (error) {
      say(status, error instanceof FormProblem ? error.message : errorText(error), "error");
    } finally {
      for (const node of form.querySelectorAll("button")) node.disabled = false;
    }
  });
  return form;
}

function reviewForm() {
  return actionForm("review-form", "审核", [
    el("label", {}, "审核意见（驳回时必填，群众可以看到）", el("textarea", { name: "reason", maxlength: 500, rows: 2 })),
  ], [
    el("button", { type: "submit", class: "btn btn-primary", name: "decision", value: "approve" }, "通过"),
    el("button", { type: "submit", class: "btn", name: "decision", value: "reject" }, "驳回"),
  ], async (values) => {
    if (values.decision === "reject" && !values.reason.trim()) throw new FormProblem("驳回请填写原因");
    const order = await call("POST", path(":review"), { decision: values.decision, reason: values.reason.trim() });
    return [order, values.decision === "approve" ? "已通过，请派单" : "已驳回"];
  });
}

async function mergeForm(order) {
  let others = [];
  try {
    const answer = await call("GET", `/v1/orgs/${encodeURIComponent(order.community_id)}/volunteer-orders` + query({ page_size: 100 }));
    others = (answer.orders || []).filter((other) => other.order_id !== order.order_id && OPEN_TO_MERGE.has(other.status));
  } catch (error) { /* nothing to merge into: the form says so */ }
  if (!others.length) return null;
  return actionForm("merge-form", "合并重复订单", [
    el("p", { class: "muted small" }, "与本社区另一订单需求相同时，合并到该订单统一服务；本订单将显示为“已合并”。"),
    el("label", {}, "合并到", el("select", { name: "into_order_id", required: true }, others.map((other) =>
      el("option", { value: other.order_id }, `${localTime(other.placed_at)} ${other.category_label || other.category}：${other.description.slice(0, 30)}（${STATUS_LABELS[other.status] || other.status}）`)))),
    el("label", {}, "说明", el("input", { name: "reason", maxlength: 200 })),
  ], [el("button", { type: "submit", class: "btn" }, "合并")], async (values) =>
    [await call("POST", path(":merge"), { into_order_id: values.into_order_id, reason: values.reason || "" }), "已合并"]);
}

async function dispatchForm(order) {
  const [settings, teams] = await Promise.all([
    call("GET", "/v1/volunteer/settings").catch(() => ({})),
    call("GET", `/v1/orgs/${encodeURIComponent(order.community_id)}/volunteer-teams`).then((r) => r.teams || []).catch(() => []),
  ]);
  const teamSelect = el("select", { name: "team_id" }, el("option", { value: "" }, teams.length ? "请选择队伍" : "该社区还没有志愿队伍"),
    teams.map((team) => el("option", { value: team.team_id }, team.name)));
  const form = actionForm("dispatch-form", "派单", [
    el("fieldset", {}, el("legend", {}, "派单方式"),
      el("label", { class: "option" }, el("input", { type: "radio", name: "mode", value: "claim", checked: true }), "开放给已向本社区报到的党员认领"),
      el("label", { class: "option" }, el("input", { type: "radio", name: "mode", value: "team" }), "派给志愿队伍（队员认领）")),
    el("label", {}, "志愿队伍", teamSelect),
    el("div", { class: "form-grid" },
      el("label", {}, "需要志愿者（人）", el("input", { name: "volunteers_needed", type: "number", min: 1, max: 50, value: 1, required: true })),
      el("label", {}, "签到范围（米）", el("input", { name: "fence_radius_m", type: "number", min: 50, max: 2000, value: settings.fence_radius_m || 300 })),
      el("label", {}, "每人时长上限（小时）", el("input", { name: "hours_cap", type: "number", min: 0.5, max: 24, step: 0.5, value: settings.default_hours_cap || 8 }))),
  ], [el("button", { type: "submit", class: "btn btn-primary" }, "派单")], async (values) => {
    if (values.mode === "team" && !values.team_id) throw new FormProblem("请选择志愿队伍");
    const answer = await call("POST", path(":dispatch"), {
      mode: values.mode, team_id: values.mode === "team" ? values.team_id : "",
      volunteers_needed: Number(values.volunteers_needed), fence_radius_m: Number(values.fence_radius_m),
      hours_cap: Number(values.hours_cap) });
    return [answer, "已派单，党员可以认领了"];
  });
  return form;
}

function resolveForm() {
  return actionForm("resolve-form", "处理异议", [
    el("label", { class: "inline" }, el("input", { type: "checkbox", name: "credit", value: "1" }), "服务属实，计入志愿者的服务时长"),
    el("label", {}, "处理意见（群众可以看到）", el("textarea", { name: "reason", required: true, maxlength: 500, rows: 2 })),
  ], [el("button", { type: "submit", class: "btn btn-primary" }, "提交处理结果")], async (values) =>
    [await call("POST", path(":resolve"), { credit: values.credit === "1", reason: values.reason.trim() }), "异议已处理"]);
}

async function draw(order) {
  window.volunteerOrder = order;      // the page's data, for whoever checks it against the API
  const actions = [];
  if (order.status === "placed") {
    actions.push(reviewForm());
    actions.push(await mergeForm(order));
  }
  if (order.status === "approved") actions.push(await dispatchForm(order));
  if (order.status === "disputed") actions.push(resolveForm());
  box.replaceChildren(
    el("section", { class: "card", dataset: { id: order.order_id, status: order.status } },
      el("div", { class: "row" }, el("h2", { class: "grow" }, `${order.category_label || order.category}：${order.community_name || ""}`),
        order.overdue ? el("span", { class: "badge badge-err" }, "超时未审核") : null, statusBadge(order)),
      facts(order)),
    ...[...actions, claimsTable(order), photos(order), historyTable(order)].filter(Boolean));
}

await boot("volunteer-orders");
try {
  await draw(await call("GET", path()));
} catch (error) {
  if (isDenied(error)) showDenied(main, error);
  else say(status, errorText(error), "error");
}
