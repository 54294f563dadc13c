// /v/orders: a logged-in citizen's own orders (GET /v1/volunteer/my-orders) with their status, the volunteers'
// names, and what the state allows: cancel before dispatch, confirm and rate or dispute once completed.
import { get } from "/web/common/api.js";
import { h, mount, notice } from "/web/common/ui.js";
import { citizenActions, header, isCitizen, orderCard, pageUrl } from "/v/common.js";

const app = document.getElementById("app");
const FILTERS = [["", "全部"], ["placed", "待审核"], ["open", "接单中"], ["in_service", "服务中"],
  ["completed", "待评价"], ["confirmed", "已完成"]];

async function myOrders(status) {
  const orders = [];
  let token = "";
  for (let page = 0; page < 10; page += 1) {
    const answer = await get("/v1/volunteer/my-orders", { status, page_size: 50, page_token: token });
    orders.push(...(answer.orders || []));
    token = answer.next_page_token || "";
    if (!token) break;
  }
  return orders;
}

async function render(message = "", failure = "") {
  const who = await header();
  if (!isCitizen(who)) {
    return mount(app,
      who ? notice("info", "当前登录的不是群众账号", "“我的订单”供群众账号使用；游客点单请凭查询码查询。")
        : notice("info", "请先登录", "登录后可以查看您提交的所有订单；游客点单请凭查询码查询。"),
      h("div", { class: "actions" },
        h("a", { class: "btn btn-primary", href: pageUrl("/v/account", { next: "/v/orders" }) }, "登录 / 注册"),
        h("a", { class: "btn", href: pageUrl("/v/track") }, "凭查询码查询")));
  }
  const status = new URLSearchParams(location.search).get("status") || "";
  let orders = [];
  try {
    orders = await myOrders(status);
  } catch (e) {
    failure = failure || e.message;
  }
  const refresh = (order, text) => render(text);
  const placed = new URLSearchParams(location.search).get("placed");
  if (placed && !message) message = "订单已提交，社区审核后会安排志愿者。";
  mount(app,
    h("div", { id: "flash" }, message ? notice("ok", message) : null, failure ? notice("error", failure) : null),
    h("nav", { class: "row small", "aria-label": "按状态筛选", id: "status-filter" }, FILTERS.map(([value, label]) =>
      h("a", { href: pageUrl("/v/orders", { status: value }), class: `badge ${value === status ? "badge-info" : ""}`,
        "aria-current": value === status ? "page" : null }, label))),
    orders.length
      ? h("div", { id: "my-orders" }, orders.map((order) => orderCard(order, citizenActions(order), refresh, { withPhotos: true })))
      : h("p", { class: "muted", id: "my-orders" }, status ? "没有该状态的订单。" : "您还没有提交过订单。"),
    h("a", { class: "btn btn-primary btn-block", href: pageUrl("/v/") }, "我要点单"));
  if (placed) history.replaceState(null, "", pageUrl("/v/orders", { status }));
}

render();
