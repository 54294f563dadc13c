// What the organisation and member pages (组织架构, 党员, 党员详情, 组织关系转接, 账号) share: labels, the caller's
// scope roots, a pager over the API's page tokens and the full refusal text. The API decides who sees what.
import { ApiError, allPages, call, el, errorText, query } from "/console/shell.js";

export const MEMBER_STATUSES = ["applicant", "activist", "development_target", "probationary", "full"];
export const MEMBER_STATUS_LABELS = {
  applicant: "入党申请人", activist: "入党积极分子", development_target: "发展对象", probationary: "预备党员",
  full: "正式党员",
};
// the date each step records (services/identity/domain/lifecycle.py DATE_LABELS)
export const STEP_DATE_LABELS = {
  applicant: "申请入党日期", activist: "确定为入党积极分子日期", development_target: "确定为发展对象日期",
  probationary: "入党日期", full: "转正日期",
};
export const GENDER_LABELS = { male: "男", female: "女" };
export const CATEGORY_LABELS = {
  township: "乡镇", street: "街道", college: "高校", enterprise: "企业", organ: "机关", other: "其他",
};
export const TRANSFER_STATE_LABELS = { pending: "待办理", accepted: "已接收", rejected: "已退回" };

/** The organisations the caller's grants cover (admin first, then secretary branches), each once. */
export function scopeRoots(roles, { secretaries = true } = {}) {
  const roots = [];
  for (const grant of [...roles.admin, ...(secretaries ? roles.secretary : [])]) {
    if (!roots.some((org) => org.id === grant.org.id)) roots.push(grant.org);
  }
  return roots;
}

/** "第1县 / 第1镇党委 / 第1镇第1支部" below the tenant's root (the root's own name when it is the root). */
export function pathText(org) {
  const names = org.path_names || [];
  return names.slice(1).join(" / ") || org.name;
}

/** The table's message for the code, and the service's own Chinese sentence when it says more
 * (STATUS_INTERVAL_TOO_SHORT: "距上一步的时间间隔不足：确定为入党积极分子满一年后才能确定为发展对象"). */
export function refusalText(error) {
  const text = errorText(error);
  if (!(error instanceof ApiError)) return text;
  const server = error.serverMessage || "";
  if (server && server !== text && /[\u4e00-\u9fff]/.test(server) && !text.includes(server)) {
    return `${text.replace(/[。.]$/, "")}：${server}`;
  }
  return text;
}

/** Every organisation of a subtree (for pickers and branch names); at most `limit` pages of 500. */
export function wholeSubtree(orgId, params = {}, limit = 10) {
  return allPages(`/v1/orgs/${encodeURIComponent(orgId)}/subtree`, { page_size: 500, ...params }, "orgs", limit);
}

/** A pager over a paged list: load(token) fills the page; 上一页/下一页 follow the API's page tokens. */
export function pager(container, fetchPage) {
  const tokens = [""];     // tokens[i] opens page i
  let index = 0;
  const info = el("span", { class: "small muted pager-info" });
  const previous = el("button", { type: "button", class: "btn btn-small pager-previous" }, "上一页");
  const next = el("button", { type: "button", class: "btn btn-small pager-next" }, "下一页");
  container.replaceChildren(previous, info, next);
  async function open(to) {
    const answer = await fetchPage(tokens[to]);
    index = to;
    if (answer.next_page_token) tokens[index + 1] = answer.next_page_token;
    else tokens.length = index + 1;
    info.textContent = `第 ${index + 1} 页`;
    previous.disabled = index === 0;
    next.disabled = !answer.next_page_token;
    return answer;
  }
  previous.addEventListener("click", () => open(index - 1));
  next.addEventListener("click", () => open(index + 1));
  return { first: () => { tokens.length = 1; return open(0); } };
}

/** GET with the console's query helper. */
export function fetchJson(path, params = {}) {
  return call("GET", path + query(params));
}

/** <option>s of organisations by path. */
export function orgOptions(orgs, { kinds = null, blank = "" } = {}) {
  const options = orgs.filter((org) => !kinds || kinds.includes(org.kind))
    .map((org) => el("option", { value: org.id }, pathText(org)));
  return blank ? [el("option", { value: "" }, blank), ...options] : options;
}
