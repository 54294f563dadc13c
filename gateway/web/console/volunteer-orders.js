// 志愿订单: the orders of a subtree (GET /v1/orgs/{org}/volunteer-orders?status=&category=&overdue=, paged; overdue
// ones first when asked), each opening /console/volunteer-order?id= to review, merge, dispatch or resolve.
import { boot, call, el, errorText, isDenied, query, say, showDenied, table, localTime } from "/console/shell.js";
import { ORDER_STATUSES, categories, keepInAddress, orgChoices, statusBadge } from "/console/volunteer-common.js";

const form = document.getElementById("order-filters");
const status = document.getElementById("orders-status");
const main = document.getElementById("main");
const list = document.getElementById("orders");
const more = document.getElementById("more-orders");
const HEADERS = ["提交时间", "社区", "服务类别", "需求", "状态", "名额", "", ""];
let rows = [];
let nextToken = "";

function cells(order) {
  return [
    localTime(order.placed_at),
    order.community_name || "",
    order.category_label || order.category,
    el("span", { class: "small" }, order.description.length > 40 ? `${order.description.slice(0, 40)}…` : order.description),
    statusBadge(order),
    order.volunteers_needed ? `${order.claimed}/${order.volunteers_needed}` : "—",
    order.overdue ? el("span", { class: "badge badge-err overdue" }, "超时未审核") : "",
    el("a", { href: `/console/volunteer-order?id=${encodeURIComponent(order.order_id)}` }, "处理"),
  ];
}

function draw() {
  list.replaceChildren(rows.length
    ? table(HEADERS, rows.map(cells), { id: "orders-table" })
    : el("p", { class: "muted", id: "orders-table" }, "没有符合条件的订单。"));
  const table_ = list.querySelector("tbody");
  if (table_) [...table_.rows].forEach((row, index) => { row.dataset.id = rows[index].order_id; });
  more.hidden = !nextToken;
}

async function load(append = false) {
  const params = { org: form.org.value, status: form.status.value, category: form.category.value,
    overdue: form.overdue.checked ? "1" : "" };
  keepInAddress(params);
  say(status, "正在查询…");
  let answer;
  try {
    answer = await call("GET", `/v1/orgs/${encodeURIComponent(params.org)}/volunteer-orders` + query({
      status: params.status, category: params.category, overdue: params.overdue ? "true" : "", page_size: 50,
      page_token: append ? nextToken : "" }));
  } catch (error) {
    if (isDenied(error)) return showDenied(main, error);
    return say(status, errorText(error), "error");
  }
  say(status, "");
  rows = append ? rows.concat(answer.orders || []) : answer.orders || [];
  nextToken = answer.next_page_token || "";
  draw();
}

const { roles } = await boot("volunteer-orders");
const params = new URLSearchParams(location.search);
form.status.append(...ORDER_STATUSES.map(([value, label]) => el("option", { value }, label)));
form.status.value = params.get("status") || "";
form.category.append(...(await categories()).map((cat) => el("option", { value: cat.code }, cat.label)));
form.category.value = params.get("category") || "";
form.overdue.checked = params.get("overdue") === "1";
await orgChoices(form.org, roles, params.get("org") || "", { communitiesFirst: false });
form.addEventListener("submit", (event) => {
  event.preventDefault();
  load();
});
more.addEventListener("click", () => load(true));
load();
