// The console's frame: who is logged in (GET /v1/me), the navigation their roles allow, logout, and the few
// helpers every console page shares. Pages only call the API; what a caller may see is the API's decision.
import { api, ApiError, watchSession } from "/web/common/api.js";
import { h } from "/web/common/ui.js";

export { ApiError };
export const el = h;

export const FIELD_LABELS = {
  rural: "农村", community: "社区", school: "学校", enterprise: "企业", government: "机关",
  social: "社会组织", other: "其他",
};
export const KIND_LABELS = {
  city: "市委", county: "县（区）委", committee: "党委", general_branch: "党总支", branch: "党支部", group: "党小组",
};
export const STATUS_LABELS = { planning: "待填报计划", submitted: "待审核", approved: "已通过", closed: "已结束", cancelled: "已取消" };

const NAV = [
  { page: "ranking", href: "/console/ranking", label: "支部排名", roles: ["admin"] },
  { page: "themed-days", href: "/console/themed-days", label: "主题党日", roles: ["admin", "secretary"] },
  { page: "meetings", href: "/console/meetings", label: "三会一课", roles: ["admin", "secretary"] },
  { page: "meeting-ledger", href: "/console/meeting-ledger", label: "三会一课台账", roles: ["admin", "secretary"] },
  { page: "import", href: "/console/import", label: "党员导入", roles: ["admin", "secretary"] },
  { page: "statistics", href: "/console/statistics", label: "考勤统计", roles: ["admin", "secretary"] },
  { page: "orgs", href: "/console/orgs", label: "组织架构", roles: ["admin"] },
  { page: "members", href: "/console/members", label: "党员", roles: ["admin", "secretary"] },
  { page: "transfers", href: "/console/transfers", label: "组织关系转接", roles: ["admin", "secretary"] },
  { page: "development", href: "/console/development", label: "发展党员纪实", roles: ["admin", "secretary"] },
  { page: "accounts", href: "/console/accounts", label: "账号", roles: ["admin", "secretary"] },
  { page: "progress", href: "/console/progress", label: "开展进度", roles: ["admin"] },
  { page: "trend", href: "/console/trend", label: "得分趋势", roles: ["admin", "secretary"] },
  { page: "compare", href: "/console/compare", label: "组织对比", roles: ["admin"] },
  { page: "spot-check", href: "/console/spot-check", label: "一键抽查", roles: ["admin"] },
  { page: "supervision", href: "/console/supervision", label: "督导通报", roles: ["admin"] },
  { page: "points", href: "/console/points", label: "党员积分", roles: ["admin", "secretary"] },
  { page: "appraisal", href: "/console/appraisal", label: "民主评议", roles: ["admin", "secretary"] },
  { page: "content", href: "/console/content", label: "内容发布", roles: ["admin", "secretary"] },
  { page: "notices", href: "/console/notices", label: "通知已读", roles: ["admin", "secretary"] },
  { page: "library", href: "/console/library", label: "资料附件", roles: ["admin", "secretary"] },
  { page: "packages", href: "/console/packages", label: "学习套餐", roles: ["admin", "secretary"] },
  { page: "questions", href: "/console/questions", label: "题库", roles: ["admin"] },
  { page: "quizzes", href: "/console/quizzes", label: "答题竞赛", roles: ["admin", "secretary"] },
  { page: "gaps", href: "/console/gaps", label: "学习短板", roles: ["admin", "secretary"] },
  { page: "role-models", href: "/console/role-models", label: "先锋之星", roles: ["admin", "secretary"] },
  { page: "publicity", href: "/console/publicity", label: "发展公示", roles: ["admin", "secretary"] },
  { page: "mailbox", href: "/console/mailbox", label: "书记信箱", roles: ["admin", "secretary"] },
  // volunteer service ordering (志愿服务): orders, communities, teams, 双报到, statistics, the tenant's settings
  { page: "volunteer-orders", href: "/console/volunteer-orders", label: "志愿订单", roles: ["admin", "secretary"] },
  { page: "volunteer-community", href: "/console/volunteer-community", label: "社区点单设置", roles: ["admin", "secretary"] },
  { page: "volunteer-teams", href: "/console/volunteer-teams", label: "志愿队伍", roles: ["admin", "secretary"] },
  { page: "volunteer-reports", href: "/console/volunteer-reports", label: "双报到", roles: ["admin", "secretary"] },
  { page: "volunteer-statistics", href: "/console/volunteer-statistics", label: "志愿统计", roles: ["admin", "secretary"] },
  { page: "volunteer-settings", href: "/console/volunteer-settings", label: "志愿服务设置", roles: ["admin"] },
  // party dues (党费): the branch's standards and payments, bank statement import, arrears; totals for every level
  { page: "dues", href: "/console/dues", label: "党费标准与缴纳", roles: ["admin", "secretary"] },
  { page: "dues-payments", href: "/console/dues-payments", label: "党费缴纳记录", roles: ["admin", "secretary"] },
  { page: "dues-import", href: "/console/dues-import", label: "党费流水导入", roles: ["admin", "secretary"] },
  { page: "dues-arrears", href: "/console/dues-arrears", label: "党费欠缴", roles: ["admin", "secretary"] },
  { page: "dues-totals", href: "/console/dues-totals", label: "党费统计", roles: ["admin", "secretary"] },
  { page: "dues-rules", href: "/console/dues-rules", label: "党费收缴标准", roles: ["admin"] },
  { page: "security", href: "/console/security", label: "账号安全", roles: ["admin", "secretary", "auditor"] },
  // the tenant's auditors (审计员) see the audit log and nothing else
  { page: "audit-log", href: "/console/audit-log", label: "审计日志", roles: ["auditor"] },
];

/** `api` with the console's habits: JSON in and out; errors are ApiError (status, code, message, details). */
export function call(method, path, body, options) {
  return api(method, path, body, options);
}

/** Query string from an object, empty values left out. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

/** Every page of a paged list: `key` names the list in each answer. */
export async function allPages(path, params, key, limit = 20) {
  const items = [];
  let token = "";
  for (let page = 0; page < limit; page += 1) {
    const answer = await call("GET", path + query({ ...params, page_token: token }));
    items.push(...(answer[key] || []));
    token = answer.next_page_token || "";
    if (!token) break;
  }
  return items;
}

/** The caller's roles as the console uses them: admin grants (org_admin) and secretary grants. */
export function rolesOf(me) {
  const orgs = new Map((me.orgs || []).map((org) => [org.id, org]));
  const grants = (me.account.roles || []).map((grant) => ({ ...grant, org: orgs.get(grant.org_id) }));
  return {
    admin: grants.filter((grant) => grant.role === "org_admin" && grant.org),
    secretary: grants.filter((grant) => grant.role === "branch_secretary" && grant.org),
    auditor: grants.filter((grant) => grant.role === "auditor" && grant.org),
  };
}

function roleLabel(roles) {
  const admin = roles.admin[0];
  if (admin) return admin.org.kind === "city" ? "市级管理员" : admin.org.kind === "county" ? "县（区）管理员" : "组织管理员";
  if (roles.secretary.length) return "党支部书记";
  return roles.auditor.length ? "审计员" : "";
}

/** A table: headers and rows of cells (text or nodes). */
export function table(headers, rows, attributes = {}) {
  return el("div", { class: "table-wrap" }, el("table", { class: "table", ...attributes },
    el("thead", {}, el("tr", {}, headers.map((header) => el("th", { scope: "col" }, header)))),
    el("tbody", {}, rows.map((cells) => el("tr", {}, cells.map((cell) => el("td", {}, cell)))))));
}

/** The message to show for a failed call. */
export function errorText(error) {
  if (error instanceof ApiError) return error.message;
  return "网络异常，请检查网络后重试";
}

/** True when the API said the object is not the caller's to see (outside its tenant or subtree) or not allowed. */
export function isDenied(error) {
  return error instanceof ApiError && (error.status === 404 || error.status === 403);
}

/** Replace the page's content by the refusal: nothing of the object is shown. */
export function showDenied(main, error) {
  main.replaceChildren(el("section", { class: "card denied center", id: "denied", role: "alert" },
    el("h2", {}, "无权访问或不存在"),
    el("p", {}, "您要查看的组织、活动或数据不存在，或不在您的管理范围内。"),
    error ? el("p", { class: "muted" }, errorText(error)) : null,
    el("p", {}, el("a", { href: "/console/" }, "返回首页"))));
}

/** The answer of a call, or null once its refusal is shown: out of scope replaces the page (showDenied), any other
 * error goes to the status line. */
export async function answerOr(main, status, request) {
  try {
    return await request;
  } catch (error) {
    if (isDenied(error)) showDenied(main, error);
    else say(status, errorText(error), "error");
    return null;
  }
}

/** A status line under a form or section; kind "error" | "ok" | "warn" | "info". */
export function say(node, text, kind = "info") {
  node.textContent = text;
  node.className = `notice notice-${kind}`;
  node.hidden = !text;
}

function toLogin() {
  const next = location.pathname + location.search;
  location.replace(`/console/login${query({ next })}`);
}

/** Log the caller in by cookie session; page = the NAV entry to highlight. Answers {me, roles} or redirects. A
 * session ended later (logged out elsewhere, revoked, the account disabled) sends the page to the login within
 * seconds (``watchSession``: admins are few, so a check every 5 s costs the gateway nothing to speak of). */
export async function boot(page) {
  let me;
  try {
    me = await call("GET", "/v1/me");
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      toLogin();
      return new Promise(() => {});
    }
    throw error;
  }
  window.addEventListener("pb:signed-out", toLogin);
  watchSession(5000);
  const roles = rolesOf(me);
  renderHeader(page, me, roles);
  const main = document.getElementById("main");
  if (!roles.admin.length && !roles.secretary.length && !roles.auditor.length) {
    main.replaceChildren(el("section", { class: "card denied center", id: "denied" },
      el("h2", {}, "无权访问管理端"),
      el("p", {}, "管理端供组织部门管理员和党支部书记使用。党员请使用手机端："), el("a", { href: "/m/" }, "进入党员端")));
    return new Promise(() => {});
  }
  const item = NAV.find((entry) => entry.page === page);
  if (item && !item.roles.some((role) => roles[role].length)) {
    showDenied(main);
    return new Promise(() => {});
  }
  return { me, roles };
}

function renderHeader(page, me, roles) {
  const links = NAV.filter((entry) => entry.roles.some((role) => roles[role].length)).map((entry) =>
    el("a", { href: entry.href, class: entry.page === page ? "active" : null,
      "aria-current": entry.page === page ? "page" : null }, entry.label));
  document.getElementById("console-nav").replaceChildren(...links);
  const who = me.member?.name || me.account.username;
  const orgName = (roles.admin[0] || roles.secretary[0] || roles.auditor[0])?.org?.name || "";
  document.getElementById("console-header").replaceChildren(
    el("h1", {}, "智慧党建管理端"),
    el("span", { class: "small", id: "whoami" }, [orgName, roleLabel(roles), who].filter(Boolean).join(" · ")),
    el("button", { type: "button", class: "link", id: "logout", onclick: logout }, "退出登录"));
}

async function logout() {
  try {
    await call("POST", "/v1/auth/session:end", {});
  } finally {
    location.replace("/console/login");
  }
}

/** The first page a caller's roles open. */
export function homeOf(roles) {
  if (roles.admin.length) return "/console/ranking";
  return roles.secretary.length ? "/console/themed-days" : "/console/audit-log";
}

/** "2026-12-05T02:00:00Z" -> "2026-12-05 10:00" in Beijing time. */
export function localTime(stamp, withDate = true) {
  if (!stamp) return "";
  const parts = new Intl.DateTimeFormat("zh-CN", {
    timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
    hour12: false,
  }).formatToParts(new Date(stamp));
  const part = (type) => parts.find((p) => p.type === type)?.value || "";
  const time = `${part("hour")}:${part("minute")}`;
  return withDate ? `${part("year")}-${part("month")}-${part("day")} ${time}` : time;
}

/** A file download of text made in the page (CSV with a BOM so that Excel reads the Chinese). */
export function downloadText(filename, text, type = "text/csv;charset=utf-8") {
  const url = URL.createObjectURL(new Blob(["\ufeff", text], { type }));
  const link = el("a", { href: url, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/** One CSV field, quoted when needed; a leading = + - @ is neutralised so that a spreadsheet never runs it. */
export function csvField(value) {
  let text = String(value ?? "");
  if (/^[=+\-@\t\r]/.test(text) && !/^-?\d+(\.\d+)?$/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
