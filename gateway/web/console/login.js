// Console login: POST /v1/auth/session sets the HttpOnly session cookie; the page never sees the token.
import { login, me } from "/web/common/api.js";
import { loginForm } from "/web/common/ui.js";
import { homeOf, rolesOf } from "/console/shell.js";
import { totpForm } from "/console/totp-login.js";

function nextPage(fallback) {
  const next = new URLSearchParams(location.search).get("next") || "";
  // only a console path of this site, never an address elsewhere
  return /^\/console\/[\w\-./?=&%]*$/.test(next) ? next : fallback;
}

async function enter() {
  location.replace(nextPage(homeOf(rolesOf(await me()))));
}

document.getElementById("login-box").append(loginForm(async ({ tenant_code, username, password }, form) => {
  const answer = await login(tenant_code, username, password);
  // the password was right but the account needs its 动态验证码 (or must bind one first)
  if (answer.next_step) form.replaceWith(totpForm(answer, enter));
  else await enter();
}, { title: "管理端登录" }));
