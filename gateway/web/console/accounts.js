// 账号与角色: the accounts of a subtree (GET /v1/orgs/{org}/accounts?role=, paged) and a new login with one role
// (POST /v1/accounts {username, password, role, org_id, member_id}). An admin manages an account of its subtree:
// 停用 / 启用 (POST /v1/accounts/{id}:disable {reason}, :enable), 重置密码 (:reset-password {password}, "" =
// generated and shown once), 删除 (DELETE /v1/accounts/{id}) and its 登录会话 with 注销. Who sees and who may do
// what is identity's rule (docs/identity-rpc.md), its refusals shown in Chinese.
import { boot, call, el, isDenied, localTime, say, showDenied, table } from "/console/shell.js";
import { fetchJson, orgOptions, pager, pathText, refusalText, scopeRoots, wholeSubtree } from "/console/people.js";
import { accountRefusal, showSessions } from "/console/sessions.js";

const PAGE_SIZE = 50;
const ROLE_LABELS = { org_admin: "组织管理员", branch_secretary: "党支部书记", member: "党员" };
const HEADERS = ["用户名", "角色", "所属组织", "关联党员", "创建时间", "状态"];
const main = document.getElementById("main");
const form = document.getElementById("account-form");
const status = document.getElementById("account-status");
const filters = document.getElementById("account-filters");
const listStatus = document.getElementById("account-list-status");
const orgs = [];
let created = null;     // the account just created, shown first until the page shown lists it
let isAdmin = false;    // an org admin manages accounts; a secretary lists and creates its branch's members' logins
let selected = null;    // the account the 账号管理 card shows

function orgText(grant) {
  const org = orgs.find((known) => known.id === grant.org_id);
  return org ? pathText(org) : grant.org_name || grant.org_id;
}

function cells(account, fresh) {
  const name = fresh ? [account.username, " ", el("span", { class: "badge badge-ok" }, "新建")] : [account.username];
  const member = account.member_id
    ? el("a", { href: `/console/member?id=${encodeURIComponent(account.member_id)}` },
      account.member_name || account.member_id)
    : "—";
  const state = account.disabled ? el("span", { class: "badge badge-err account-state" }, "已停用")
    : el("span", { class: "badge badge-ok account-state" }, "正常");
  const row = [el("span", { class: "account-username" }, ...name), account.roles.map((grant) => ROLE_LABELS[grant.role] || grant.role).join("、"),
    account.roles.map(orgText).join("、"), member, localTime(account.created_at), state];
  if (isAdmin) {
    row.push(el("button", { type: "button", class: "btn btn-small account-manage", onclick: () => openDetail(account) },
      "管理"));
  }
  return row;
}

async function showPage(token) {
  const answer = await fetchJson(`/v1/orgs/${encodeURIComponent(filters.org.value)}/accounts`,
    { role: filters.role.value, page_size: PAGE_SIZE, page_token: token });
  const shown = answer.accounts || [];
  if (created && shown.some((account) => account.id === created.id)) created = null;
  const rows = created ? [created, ...shown] : shown;
  const box = document.getElementById("account-table");
  if (!rows.length) {
    box.replaceChildren(el("p", { class: "muted", id: "accounts-empty" }, "没有符合条件的账号。"));
    return answer;
  }
  const view = table(isAdmin ? [...HEADERS, "操作"] : HEADERS, rows.map((account) => cells(account, account === created)),
    { id: "accounts" });
  view.querySelectorAll("tbody tr").forEach((row, index) => {
    row.dataset.account = rows[index].id;
    if (rows[index] === created) row.classList.add("account-new");
  });
  box.replaceChildren(view);
  return answer;
}

const listPager = pager(document.getElementById("account-pager"), showPage);

// ---- 账号管理: one account's state, password, removal and sessions
const detail = document.getElementById("account-detail");
const detailStatus = document.getElementById("account-detail-status");
const sessionsBox = document.getElementById("account-sessions");
const sessionsStatus = document.getElementById("account-sessions-status");

function showState() {
  document.getElementById("account-detail-name").textContent = selected.username;
  document.getElementById("account-detail-state").replaceChildren(selected.disabled
    ? el("span", { class: "badge badge-err" }, "已停用") : el("span", { class: "badge badge-ok" }, "正常"));
  document.getElementById("account-disable").hidden = selected.disabled;
  document.getElementById("account-enable").hidden = !selected.disabled;
  document.getElementById("account-remove-confirm").hidden = true;
}

async function loadSessions() {
  say(sessionsStatus, "");
  try {
    await showSessions(sessionsBox, sessionsStatus, selected.id);
  } catch (error) {
    sessionsBox.replaceChildren();
    say(sessionsStatus, accountRefusal(error), "error");
  }
}

async function openDetail(account) {
  selected = { ...account };
  detail.hidden = false;
  say(detailStatus, "");
  showState();
  detail.scrollIntoView({ block: "start" });
  await loadSessions();
}

/** One action on the selected account: its refusal shown in Chinese; the list and the sessions reloaded after. */
async function act(button, request, done) {
  button.disabled = true;
  try {
    const answer = await request();
    say(detailStatus, done(answer), "ok");
  } catch (error) {
    say(detailStatus, accountRefusal(error), "error");
  } finally {
    button.disabled = false;
  }
  showState();
  await load();
  if (!detail.hidden) await loadSessions();
}

const accountPath = (suffix = "") => `/v1/accounts/${encodeURIComponent(selected.id)}${suffix}`;

document.getElementById("account-disable").addEventListener("click", (event) => act(event.target, async () => {
  const reason = document.getElementById("account-disable-reason").value.trim();
  const account = await call("POST", accountPath(":disable"), { reason });
  selected.disabled = account.disabled;
  document.getElementById("account-disable-reason").value = "";
}, () => `已停用账号 ${selected.username}：不能再登录，已登录的设备将在几秒内退出。`));

document.getElementById("account-enable").addEventListener("click", (event) => act(event.target, async () => {
  const account = await call("POST", accountPath(":enable"), {});
  selected.disabled = account.disabled;
}, () => `已启用账号 ${selected.username}，可以重新登录。`));

document.getElementById("account-reset").addEventListener("click", (event) => {
  const input = document.getElementById("account-reset-password");
  return act(event.target, async () => {
    const answer = await call("POST", accountPath(":reset-password"), { password: input.value });
    input.value = "";
    return answer;
  }, (answer) => answer.generated_password
    ? `已重置账号 ${selected.username} 的密码，新密码：${answer.generated_password}（只显示这一次，请告知本人）。其登录已全部注销。`
    : `已重置账号 ${selected.username} 的密码，其登录已全部注销。`);
});

document.getElementById("account-remove").addEventListener("click", () => {
  document.getElementById("account-remove-confirm").hidden = false;
});
document.getElementById("account-remove-no").addEventListener("click", () => {
  document.getElementById("account-remove-confirm").hidden = true;
});
document.getElementById("account-remove-yes").addEventListener("click", async (event) => {
  event.target.disabled = true;
  try {
    await call("DELETE", accountPath());
    detail.hidden = true;
    say(listStatus, `已删除账号 ${selected.username}（党员信息保留）。`, "ok");
    selected = null;
    await load();
  } catch (error) {
    document.getElementById("account-remove-confirm").hidden = true;
    say(detailStatus, accountRefusal(error), "error");
  } finally {
    event.target.disabled = false;
  }
});

async function load() {
  try {
    await listPager.first();
  } catch (error) {
    if (isDenied(error)) showDenied(main, error);
    else say(listStatus, refusalText(error), "error");
  }
}

/** The new account as the list shows it (names of its organisation and member), when it falls within the list's
 * filter: the list is ordered by account id, so it may sit on any page. */
async function listedAfterCreate(account) {
  const grant = account.roles[0];
  const org = orgs.find((known) => known.id === grant?.org_id);
  const inFilter = grant && (!filters.role.value || filters.role.value === grant.role)
    && org && (org.path_ids || []).includes(filters.org.value);
  if (!inFilter) return null;
  const answer = await fetchJson(`/v1/orgs/${encodeURIComponent(grant.org_id)}/accounts`,
    { role: grant.role, page_size: 500 });
  return (answer.accounts || []).find((row) => row.id === account.id) || null;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const role = form.role.value;
  const body = { username: form.username.value.trim(), password: form.password.value, role };
  if (role !== "member") body.org_id = form.org_id.value;
  if (form.member_id.value.trim()) body.member_id = form.member_id.value.trim();
  const button = document.getElementById("account-submit");
  button.disabled = true;
  try {
    const account = await call("POST", "/v1/accounts", body);
    const grants = (account.roles || []).map((grant) => `${ROLE_LABELS[grant.role] || grant.role}（${orgText(grant)}）`);
    say(status, `已创建账号 ${account.username}：${grants.join("、")}`, "ok");
    form.password.value = "";
    try {
      created = await listedAfterCreate(account);
    } catch {
      created = null;       // the list below still reloads; the status line has said what was created
    }
    await load();
  } catch (error) {
    say(status, refusalText(error), "error");
  } finally {
    button.disabled = false;
  }
});

function fillOrgs() {
  const role = form.role.value;
  form.org_id.disabled = role === "member";
  form.org_id.replaceChildren(...orgOptions(orgs, { kinds: role === "branch_secretary" ? ["branch"] : null }));
}

const { roles } = await boot("accounts");
isAdmin = roles.admin.length > 0;
for (const root of scopeRoots(roles)) {
  try {
    for (const org of await wholeSubtree(root.id)) if (!orgs.some((known) => known.id === org.id)) orgs.push(org);
  } catch (error) {
    say(listStatus, refusalText(error), "error");
  }
}
if (!roles.admin.length) {       // a secretary may create only member accounts of its branch
  form.role.value = "member";
  for (const option of form.role.options) option.disabled = option.value !== "member";
}
form.role.addEventListener("change", fillOrgs);
fillOrgs();

const params = new URLSearchParams(location.search);
const asked = params.get("org") || "";
filters.org.replaceChildren(...orgOptions(orgs.filter((org) => org.kind !== "group")));
if (asked && !orgs.some((org) => org.id === asked)) filters.org.append(el("option", { value: asked }, "（链接中的组织）"));
if (asked) filters.org.value = asked;
filters.role.value = ROLE_LABELS[params.get("role")] ? params.get("role") : "";
filters.addEventListener("submit", (event) => {
  event.preventDefault();
  const search = new URLSearchParams({ org: filters.org.value });
  if (filters.role.value) search.set("role", filters.role.value);
  history.replaceState(null, "", `?${search}`);
  created = null;
  load();
});
await load();
