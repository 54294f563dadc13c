// /v/account?tenant=&next=: a citizen logs in with its phone number and password (POST /v1/auth/session, the
// phone as the username) or registers first (POST /v1/citizens, public), then goes back to where it came from.
import { login, post } from "/web/common/api.js";
import { h, mount, formValues, busy } from "/web/common/ui.js";
import { header, pageUrl, rememberTenant, tenantCode } from "/v/common.js";

const app = document.getElementById("app");

function nextPage() {
  const next = new URLSearchParams(location.search).get("next") || "";
  // only a page of this site's public area, never an address elsewhere
  return /^\/v\/[\w\-./?=&%]*$/.test(next) && !next.startsWith("/v/account") ? next : pageUrl("/v/orders");
}

function tenantField(tenant) {
  return tenant
    ? h("input", { type: "hidden", name: "tenant_code", value: tenant })
    : h("label", {}, "单位代码", h("input", { name: "tenant_code", required: true, autocapitalize: "off" }));
}

function form(id, title, fields, button, act) {
  const error = h("div", { class: "form-error", role: "alert" });
  const node = h("form", { class: "card", id }, h("h2", {}, title), ...fields, error,
    h("button", { class: "btn btn-primary btn-block", type: "submit" }, button));
  node.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    try {
      await busy(node.querySelector("button[type=submit]"), () => act(formValues(node)));
    } catch (e) { error.textContent = e.message; }
  });
  return node;
}

const phoneInput = () => h("input", { name: "phone", type: "tel", required: true, maxlength: 11, pattern: "1[0-9]{10}",
  inputmode: "numeric", autocomplete: "tel", title: "请填写11位手机号码" });

async function signIn(values) {
  rememberTenant(values.tenant_code);
  await login(values.tenant_code, values.phone, values.password);
  location.assign(nextPage());
}

function render() {
  const tenant = tenantCode();
  const loginForm = form("citizen-login", "群众登录", [
    tenantField(tenant),
    h("label", {}, "手机号", phoneInput()),
    h("label", {}, "密码", h("input", { name: "password", type: "password", required: true, autocomplete: "current-password" })),
  ], "登录", signIn);
  const registerForm = form("citizen-register", "注册账号", [
    tenantField(tenant),
    h("label", {}, "姓名", h("input", { name: "name", required: true, maxlength: 40, autocomplete: "name" })),
    h("label", {}, "手机号", phoneInput()),
    h("label", {}, "设置密码", h("input", { name: "password", type: "password", required: true, minlength: 8, autocomplete: "new-password" })),
    h("p", { class: "small muted" }, "密码 8 到 128 位，须包含字母、数字、符号中的至少两类。手机号即登录账号。"),
  ], "注册并登录", async (values) => {
    await post("/v1/citizens", { tenant_code: values.tenant_code, phone: values.phone, password: values.password, name: values.name });
    await signIn(values);
  });
  mount(app,
    h("p", {}, "登录后可以在“我的订单”中随时查看所有订单的进度。不登录也可以点单，凭查询码查询。"),
    loginForm,
    h("details", { class: "card", id: "register" }, h("summary", {}, "还没有账号？注册一个"), registerForm),
    h("p", { class: "center small" }, h("a", { href: pageUrl("/v/") }, "不登录，直接点单")));
}

header().then(render);
