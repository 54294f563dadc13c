// What the citizens' public pages (/v/) share: the tenant code they act in, the header with the login state, and
// an order's card with the actions its state allows (by the citizen's session or by the guest's tracking code).
import { get, post, logout, me } from "/web/common/api.js";
import { h, mount, notice, formatTime, formValues, busy } from "/web/common/ui.js";

const TENANT_KEY = "pb_citizen_tenant";     // localStorage: the 单位代码 last used on this phone (not a secret)

// The order's states (the API's status_label wins when present).
export const STATUS_LABELS = {
  placed: "待审核", approved: "待派单", rejected: "已驳回", merged: "已合并", cancelled: "已取消",
  open: "接单中", in_service: "服务中", completed: "待评价", confirmed: "已完成", disputed: "有异议", closed: "已结案",
};
const STATUS_KINDS = {
  placed: "warn", approved: "info", rejected: "err", merged: "", cancelled: "", open: "info", in_service: "info",
  completed: "warn", confirmed: "ok", disputed: "err", closed: "ok",
};
const CLAIM_LABELS = { claimed: "已接单", checked_in: "服务中", checked_out: "已完成服务", withdrawn: "已退出", released: "已释放" };
const CANCELLABLE = new Set(["placed", "approved"]);

// The tenant code: ?tenant= in the address wins (a community's printed link), else the one used last.
export function tenantCode() {
  const fromUrl = (new URLSearchParams(location.search).get("tenant") || "").trim();
  if (fromUrl) {
    localStorage.setItem(TENANT_KEY, fromUrl);
    return fromUrl;
  }
  return localStorage.getItem(TENANT_KEY) || "";
}

export function rememberTenant(code) {
  if (code) localStorage.setItem(TENANT_KEY, code);
}

// A link to another public page, carrying the tenant code.
export function pageUrl(path, params = {}) {
  const search = new URLSearchParams();
  const tenant = tenantCode();
  if (tenant) search.set("tenant", tenant);
  for (const [key, value] of Object.entries(params)) if (value) search.set(key, value);
  const text = search.toString();
  return text ? `${path}?${text}` : path;
}

// The tab row's links keep the tenant code.
export function keepTenantInTabs() {
  for (const link of document.querySelectorAll("nav.tabs a")) link.href = pageUrl(new URL(link.href).pathname);
}

export const isCitizen = (who) => Boolean(who && (who.account.roles || []).some((grant) => grant.role === "citizen"));

// The header's right side: who is logged in (a citizen) with 我的订单 and 退出, else 登录 / 注册.
export async function header() {
  keepTenantInTabs();
  const box = document.getElementById("who");
  const who = await me().catch(() => null);
  if (isCitizen(who)) {
    const phone = who.account.username || "";
    const masked = phone.length === 11 ? `${phone.slice(0, 3)}****${phone.slice(7)}` : phone;
    mount(box, h("span", { id: "citizen-who" }, who.account.name || masked), " ",
      h("button", { class: "link", type: "button", id: "logout", onclick: async () => {
        await logout().catch(() => null);
        location.replace(pageUrl("/v/"));
      } }, "退出"));
  } else {
    loggedOutHeader(box);
  }
  return who;
}

const loggedOutHeader = (box) =>
  mount(box, h("a", { href: pageUrl("/v/account", { next: location.pathname }), id: "login-link" }, "登录 / 注册"));

// a session ended elsewhere (logged out, revoked): the header says so at once; the page's next action asks to log in
window.addEventListener("pb:signed-out", () => loggedOutHeader(document.getElementById("who")));

export const statusBadge = (order) => h("span", { class: `badge status ${STATUS_KINDS[order.status] ? "badge-" + STATUS_KINDS[order.status] : ""}` },
  order.status_label || STATUS_LABELS[order.status] || order.status);

const stars = (rating) => "★".repeat(rating) + "☆".repeat(Math.max(0, 5 - rating));

function facts(order) {
  const rows = [
    ["社区", order.community_name],
    ["服务类别", order.category_label || order.category],
    ["服务地址", order.address],
    ["期望时间", order.wished_start ? `${formatTime(order.wished_start)} 至 ${formatTime(order.wished_end)}` : ""],
    ["提交时间", formatTime(order.placed_at)],
  ];
  const names = (order.claimants || []).filter((c) => c.status !== "withdrawn" && c.status !== "released");
  if (names.length) {
    rows.push(["志愿者", h("span", { class: "claimants" }, names.map((c) =>
      `${c.name}${CLAIM_LABELS[c.status] ? `（${CLAIM_LABELS[c.status]}）` : ""}`).join("、"))]);
  } else if (order.status === "open") {
    rows.push(["志愿者", `正在招募（需要 ${order.volunteers_needed} 人）`]);
  }
  return h("dl", { class: "kv" }, rows.filter(([, value]) => value).flatMap(([label, value]) => [h("dt", {}, label), h("dd", {}, value)]));
}

function outcome(order) {
  const lines = [];
  if (order.status === "rejected" && order.reject_reason) lines.push(notice("error", "未通过审核", `原因：${order.reject_reason}`));
  if (order.status === "merged") lines.push(notice("info", "已与相同需求的订单合并处理", "社区将按合并后的订单为您安排服务。"));
  if (order.completion_text) lines.push(h("div", { class: "completion" }, h("h3", {}, "服务情况"), h("p", {}, order.completion_text)));
  if (order.rating) {
    lines.push(h("p", { class: "my-rating" }, `我的评价：${stars(order.rating)}（${order.rating} 星）`,
      order.comment ? `，${order.comment}` : ""));
  }
  if (order.dispute_reason) lines.push(h("p", { class: "dispute" }, `我的异议：${order.dispute_reason}`));
  if (order.resolution) lines.push(notice("info", "社区处理结果", order.resolution));
  return lines;
}

function reasonForm(cls, label, button, placeholder, required, act) {
  const error = h("div", { class: "form-error", role: "alert" });
  const form = h("form", { class: cls },
    h("label", {}, label, h("textarea", { name: "reason", required, maxlength: 500, rows: 3, placeholder })),
    error, h("button", { class: "btn btn-block", type: "submit" }, button));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    try {
      await busy(form.querySelector("button"), () => act(formValues(form).reason));
    } catch (e) { error.textContent = e.message; }
  });
  return form;
}

function rateForm(act) {
  const error = h("div", { class: "form-error", role: "alert" });
  const form = h("form", { class: "rate-form" },
    h("fieldset", { class: "stars" }, h("legend", {}, "服务评分（必选）"),
      h("div", { class: "row" }, [1, 2, 3, 4, 5].map((n) =>
        h("label", { class: "option" }, h("input", { type: "radio", name: "rating", value: String(n), required: true }),
          `${n} 星`)))),
    h("label", {}, "评价（选填）", h("textarea", { name: "comment", maxlength: 500, rows: 3, placeholder: "说说志愿者的服务怎么样" })),
    error,
    h("button", { class: "btn btn-primary btn-block", type: "submit" }, "确认完成并评价"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const values = formValues(form);
    if (!values.rating) {
      error.textContent = "请选择评分";
      return;
    }
    try {
      await busy(form.querySelector("button[type=submit]"), () => act(Number(values.rating), values.comment || ""));
    } catch (e) { error.textContent = e.message; }
  });
  return form;
}

// actions: {cancel(reason), confirm(rating, comment), dispute(reason)} -> the order after the change;
// refresh(order, message) shows it again.
// withPhotos: the completion photos (a logged-in citizen's own orders; a guest has no session to load them with)
export function orderCard(order, actions, refresh, { withPhotos = false } = {}) {
  const body = [
    h("div", { class: "row" }, h("h3", { class: "grow" }, order.category_label || order.category), statusBadge(order)),
    h("p", { class: "description" }, order.description),
    facts(order),
    ...outcome(order),
    withPhotos && (order.photo_ids || []).length ? h("div", { class: "row photos" }, order.photo_ids.map((id) => {
      const src = `/v1/volunteer/order-photos/${encodeURIComponent(id)}`;
      return h("a", { href: src, target: "_blank", rel: "noopener" }, h("img", { class: "upload-thumb", src, alt: "服务照片", loading: "lazy" }));
    })) : null,
  ];
  if (CANCELLABLE.has(order.status)) {
    body.push(h("details", { class: "cancel" }, h("summary", {}, "不需要了？派单前可以取消"),
      reasonForm("cancel-form", "取消原因（选填）", "取消订单", "例如：问题已解决", false, async (reason) =>
        refresh(await actions.cancel(reason), "订单已取消"))));
  }
  if (order.status === "completed") {
    body.push(notice("info", "", "志愿者已完成服务，请确认并评价；如有问题可以提出异议，社区会核实处理。"));
    body.push(rateForm(async (rating, comment) => refresh(await actions.confirm(rating, comment), "感谢您的评价！")));
    body.push(h("details", { class: "dispute" }, h("summary", {}, "对服务有异议？"),
      reasonForm("dispute-form", "异议内容", "提交异议", "请说明哪里不满意，社区会核实处理", true, async (reason) =>
        refresh(await actions.dispute(reason), "异议已提交，社区将核实处理"))));
  }
  return h("article", { class: "card order", dataset: { id: order.order_id, status: order.status } }, ...body);
}

// The same actions for a logged-in citizen (its own orders) ...
export const citizenActions = (order) => ({
  cancel: (reason) => post(`/v1/volunteer/orders/${encodeURIComponent(order.order_id)}:cancel`, { reason }),
  confirm: (rating, comment) => post(`/v1/volunteer/orders/${encodeURIComponent(order.order_id)}:confirm`, { rating, comment }),
  dispute: (reason) => post(`/v1/volunteer/orders/${encodeURIComponent(order.order_id)}:dispute`, { reason }),
});

// ... and for a guest holding the tracking code and the contact phone's last four digits.
export function trackedActions(tenant_code, tracking_code, phone_last4) {
  const path = `/v1/volunteer/tracked-orders/${encodeURIComponent(tracking_code)}`;
  return {
    load: () => get(path, { tenant_code, phone_last4 }),
    cancel: (reason) => post(`${path}:cancel`, { tenant_code, phone_last4, reason }),
    confirm: (rating, comment) => post(`${path}:confirm`, { tenant_code, phone_last4, rating, comment }),
    dispute: (reason) => post(`${path}:dispute`, { tenant_code, phone_last4, reason }),
  };
}

// A form asking for the 单位代码 when the page has none.
export function tenantForm(onCode, text = "请输入社区告知您的单位代码（也可扫描社区张贴的二维码直接进入）。") {
  const form = h("form", { class: "card", id: "tenant-form" },
    h("h2", {}, "选择所在地区"),
    h("p", { class: "muted" }, text),
    h("label", {}, "单位代码", h("input", { name: "tenant_code", required: true, autocapitalize: "off" })),
    h("button", { class: "btn btn-primary btn-block", type: "submit" }, "确定"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const code = formValues(form).tenant_code;
    rememberTenant(code);
    onCode(code);
  });
  return form;
}
