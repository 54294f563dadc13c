// Console login: POST /v1/auth/session sets the HttpOnly session cookie; the page never sees the token.
import { login, me } from "/web/common/api.js";
import { loginForm } from "/web/common/ui.js";
import { homeOf, rolesOf } from "/console/shell.js";

function nextPage(fallback) {
  const next = new URLSearchParams(location.search).get("next") || "";
  // only a console path of this site, never an address elsewhere
  return /^\/console\/[\w\-./?=&%]*$/.test(next) ? next : fallback;
}

document.getElementById("login-box").append(loginForm(async ({ tenant_code, username, password }) => {
  await login(tenant_code, username, password);
  location.replace(nextPage(homeOf(rolesOf(await me()))));
}, { title: "管理端登录" }));
