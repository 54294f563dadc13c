// The member pages' session: who is logged in, the header's name and 退出, and the login form when no one is.
// A page calls `session(run, ...)` first; after a login or a logout the page's `run` starts it again.
import { login, logout, me, watchSession } from "/web/common/api.js";
import { h, mount, notice, loginForm } from "/web/common/ui.js";

const TENANT_KEY = "pb_member_tenant";       // localStorage: the 单位代码 this phone logged in with (not a secret)

export function tenantCode() {
  return localStorage.getItem(TENANT_KEY) || "";
}

export function rememberTenant(code) {
  if (code) localStorage.setItem(TENANT_KEY, code);
}

let loginShown = false;
let restart = null;       // the page's run and leaving of the last session(): what a session ended later goes back to

// The login form in place of the page; once logged in, `run()` starts the page again. `leaving` stops what the page
// keeps running (a countdown) before the form replaces it.

export function showLogin(run, leaving = null) {
  if (leaving) leaving();
  loginShown = true;
  mount(document.getElementById("who"));
  mount(document.getElementById("app"), loginForm(async ({ tenant_code, username, password }) => {
    await login(tenant_code, username, password);
    rememberTenant(tenant_code);
    await run();
  }, { title: "党员登录", tenant: tenantCode() }));
}

// The logged-in account (GetMe's answer) with the header filled in, or null once the page shows the login form or
// an error instead. `notMember` (nodes) is shown to an account without a member record; without it such an account
// is let in. `leaving`: as for showLogin.

export async function session(run, notMember = null, leaving = null) {
  const app = document.getElementById("app");
  if (!restart) {
    // a session ended elsewhere (logout on another phone, an admin's revocation, a disabled account): the login
    // form at once, not a page whose every action fails; checked each minute while shown and when shown again
    window.addEventListener("pb:signed-out", () => {
      if (restart && !loginShown) showLogin(restart.run, restart.leaving);
    });
    watchSession(60000);
  }
  restart = { run, leaving };
  const current = await me().catch(() => undefined);
  if (current === null) {
    showLogin(run, leaving);
    return null;
  }
  loginShown = false;
  if (current === undefined) {
    mount(app, notice("error", "加载失败", "网络连接失败，请稍后再试。"));
    return null;
  }
  mount(document.getElementById("who"),
    h("a", { href: "/m/account", id: "my-account", title: "我的账号：修改密码、登录设备" },
      current.member ? current.member.name : current.account.username), " ",
    h("button", { class: "link", type: "button", id: "logout",
      onclick: async () => { await logout(); showLogin(run, leaving); } }, "退出"));
  if (!current.member && notMember) {
    mount(app, ...[].concat(notMember));
    return null;
  }
  return current;
}

// What an account without a member record sees on a members-only page.
export function membersOnly(title, text = "请使用党员账号登录。") {
  return notice("info", title, text);
}
