// 账号: a login with one role (POST /v1/accounts {username, password, role, org_id, member_id}); who may create
// what is identity's rule (docs/identity-rpc.md create_account), its refusals shown in Chinese.
import { boot, call, say } from "/console/shell.js";
import { orgOptions, pathText, refusalText, scopeRoots, wholeSubtree } from "/console/people.js";

const ROLE_LABELS = { org_admin: "组织管理员", branch_secretary: "党支部书记", member: "党员" };
const form = document.getElementById("account-form");
const status = document.getElementById("account-status");
let orgs = [];

function fillOrgs() {
  const role = form.role.value;
  form.org_id.disabled = role === "member";
  form.org_id.replaceChildren(...orgOptions(orgs, { kinds: role === "branch_secretary" ? ["branch"] : null }));
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
    const grants = (account.roles || []).map((grant) => {
      const org = orgs.find((known) => known.id === grant.org_id);
      return `${ROLE_LABELS[grant.role] || grant.role}（${org ? pathText(org) : grant.org_id}）`;
    });
    say(status, `已创建账号 ${account.username}：${grants.join("、")}`, "ok");
    form.password.value = "";
  } catch (error) {
    say(status, refusalText(error), "error");
  } finally {
    button.disabled = false;
  }
});

const { roles } = await boot("accounts");
for (const root of scopeRoots(roles)) {
  try {
    for (const org of await wholeSubtree(root.id)) if (!orgs.some((known) => known.id === org.id)) orgs.push(org);
  } catch (error) {
    say(status, refusalText(error), "error");
  }
}
if (!roles.admin.length) {       // a secretary may create only member accounts of its branch
  form.role.value = "member";
  for (const option of form.role.options) option.disabled = option.value !== "member";
}
form.role.addEventListener("change", fillOrgs);
fillOrgs();
