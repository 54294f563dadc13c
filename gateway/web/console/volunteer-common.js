// What the console's volunteer pages share: the organisation chooser (the caller's subtree), the order states and
// the tenant's service categories as the managers read them.
import { KIND_LABELS, FIELD_LABELS, allPages, call, el } from "/console/shell.js";

// the service's own labels (status_label), in the lifecycle's order
export const ORDER_STATUSES = [
  ["placed", "待审核"], ["approved", "待派单"], ["open", "接单中"], ["in_service", "服务中"],
  ["completed", "待评价"], ["confirmed", "已完成"], ["disputed", "有异议"], ["closed", "已结案"],
  ["rejected", "已驳回"], ["merged", "已合并"], ["cancelled", "已取消"],
];
export const STATUS_LABELS = Object.fromEntries(ORDER_STATUSES);
const STATUS_KINDS = { placed: "warn", approved: "info", open: "info", in_service: "info", completed: "warn",
  confirmed: "ok", disputed: "err", closed: "ok", rejected: "err" };
export const CLAIM_LABELS = { claimed: "已接单", checked_in: "已签到", checked_out: "已签退", withdrawn: "已撤回",
  released: "超时释放" };
export const DEFAULT_CATEGORIES = [{ code: "skills", label: "技能服务" }, { code: "services", label: "生活服务" },
  { code: "health", label: "健康服务" }];

export const statusBadge = (order) => el("span", { class: `badge ${STATUS_KINDS[order.status] ? "badge-" + STATUS_KINDS[order.status] : ""}` },
  order.status_label || STATUS_LABELS[order.status] || order.status);

/** The tenant's categories (the defaults when the settings cannot be read). */
export async function categories() {
  try {
    const settings = await call("GET", "/v1/volunteer/settings");
    return settings.categories && settings.categories.length ? settings.categories : DEFAULT_CATEGORIES;
  } catch (error) {
    return DEFAULT_CATEGORIES;
  }
}

/** Fill `select` with the organisations of the caller's grants and their subtrees (groups left out); `wanted`
 * (from the address) is chosen, and kept as an option even when it is not the caller's: the API decides. */
export async function orgChoices(select, roles, wanted, { communitiesFirst = false } = {}) {
  const choices = [];
  const grants = [...roles.admin, ...roles.secretary];
  for (const grant of grants) {
    if (choices.some((org) => org.id === grant.org.id)) continue;
    try {
      const orgs = await allPages(`/v1/orgs/${encodeURIComponent(grant.org.id)}/subtree`, { page_size: 500 }, "orgs", 5);
      for (const org of orgs) if (org.kind !== "group" && !choices.some((known) => known.id === org.id)) choices.push(org);
    } catch (error) {
      choices.push(grant.org);
    }
  }
  const top = choices.length ? Math.min(...choices.map((org) => org.level || 0)) : 0;
  const label = (org) => `${"　".repeat(Math.max(0, (org.level || 0) - top))}${org.name}（${
    org.field === "community" ? FIELD_LABELS.community : KIND_LABELS[org.kind] || ""}）`;
  let ordered = choices;
  if (communitiesFirst) {
    const communities = choices.filter((org) => org.field === "community");
    ordered = [...communities, ...choices.filter((org) => org.field !== "community")];
  }
  const options = ordered.map((org) => el("option", { value: org.id }, label(org)));
  if (wanted && !choices.some((org) => org.id === wanted)) options.unshift(el("option", { value: wanted }, wanted));
  select.replaceChildren(...options);
  select.value = wanted || ordered[0]?.id || "";
  return choices;
}

/** Replace the address's query with `params` (empty values left out), without a reload. */
export function keepInAddress(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== null && value !== "") search.set(key, String(value));
  const text = search.toString();
  history.replaceState(null, "", location.pathname + (text ? `?${text}` : ""));
}

/** "2026-05-01" in China for a Date (the statistics' dates). */
export function chinaDate(date = new Date()) {
  return new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit" }).format(date);
}
