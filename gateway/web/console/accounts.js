// 账号与角色: the accounts of a subtree (GET /v1/orgs/{org}/accounts?role=, paged) and a new login with one role
// (POST /v1/accounts {username, password, role, org_id, member_id}). Who sees and who may create what is identity's
// rule (docs/identity-rpc.md list_accounts, create_account), its refusals shown in Chinese.
import { boot, call, el, isDenied, localTime, say, showDenied, table } from "/console/shell.js";
import { fetchJson, orgOptions, pager, pathText, refusalText, scopeRoots, wholeSubtree } from "/console/people.js";

const PAGE_SIZE = 50;
const ROLE_LABELS = { org_admin: "组织管理员", branch_secretary: "党支部书记", member: "党员" };
const HEADERS = ["用户名", "角色", "所属组织", "关联党员", "创建时间"];
const main = document.getElementById("main");
const form = document.getElementById("account-form");
const status = document.getElementById("account-status");
const filters = document.getElementById("account-filters");
const listStatus = document.getElementById("account-list-status");
const orgs = [];
let created = null;     // the account just created, shown first until the page shown lists it

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
  return [el("span", { class: "account-username" }, ...name), account.roles.map((grant) => ROLE_LABELS[grant.role] || grant.role).join("、"),
    account.roles.map(orgText).join("、"), member, localTime(account.created_at)];
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
  const view = table(HEADERS, rows.map((account) => cells(account, account === created)), { id: "accounts" });
  view.querySelectorAll("tbody tr").forEach((row, index) => {
    row.dataset.account = rows[index].id;
    if (rows[index] === created) row.classList.add("account-new");
  });
  box.replaceChildren(view);
  return answer;
}

const listPager = pager(document.getElementById("account-pager"), showPage);

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
