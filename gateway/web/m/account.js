// 我的账号: one's own password (POST /v1/me:change-password; the account's other logins end) and one's logins
// (GET /v1/sessions, POST /v1/sessions/{id}:revoke; ending this phone's own is a logout). For every account.
import { get, logout, post } from "/web/common/api.js";
import { busy, formatTime, formValues, h, mount, notice } from "/web/common/ui.js";
import { session, showLogin } from "/m/session.js";

const app = document.getElementById("app");
// SESSION_NOT_FOUND means a learning session on the study pages: here a login that has ended
const refusal = (error) => (error.code === "SESSION_NOT_FOUND" ? "该登录已结束" : error.message);

function passwordForm(done) {
  const error = h("div", { class: "form-error", role: "alert" });
  const form = h("form", { class: "card", id: "password-form" },
    h("h2", {}, "修改密码"),
    h("p", { class: "muted" }, "密码 8–128 位，至少包含字母、数字、符号中的两类。修改后，其他设备上的登录将全部退出。"),
    h("label", {}, "原密码", h("input", { name: "old_password", type: "password", required: true, autocomplete: "current-password" })),
    h("label", {}, "新密码", h("input", { name: "new_password", type: "password", required: true, autocomplete: "new-password" })),
    h("label", {}, "确认新密码", h("input", { name: "again", type: "password", required: true, autocomplete: "new-password" })),
    error,
    h("button", { type: "submit", class: "btn btn-primary btn-block" }, "修改密码"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const values = formValues(form);
    if (values.new_password !== values.again) {
      error.textContent = "两次输入的新密码不一致";
      return;
    }
    try {
      const answer = await busy(form.querySelector("button[type=submit]"), () => post("/v1/me:change-password",
        { old_password: values.old_password, new_password: values.new_password }));
      done(`密码已修改${answer.revoked_sessions ? `，其他设备上的 ${answer.revoked_sessions} 个登录已退出` : ""}。`);
    } catch (e) {
      error.textContent = refusal(e);
    }
  });
  return form;
}

function sessionItem(one, done) {
  const button = h("button", { type: "button", class: "btn btn-small session-revoke" }, one.current ? "退出本机" : "退出该设备");
  button.addEventListener("click", async () => {
    try {
      if (one.current) {              // this phone's own login: a logout
        await busy(button, () => logout());
        showLogin(() => render());
        return;
      }
      await busy(button, () => post(`/v1/sessions/${encodeURIComponent(one.id)}:revoke`));
      done(`已退出 ${formatTime(one.created_at)} 登录的设备。`);
    } catch (e) {
      done("", refusal(e));
    }
  });
  return h("li", { class: `session-item${one.current ? " session-current" : ""}`, dataset: { session: one.id } },
    h("div", {}, formatTime(one.created_at), " 登录", one.current ? [" ", h("span", { class: "badge badge-ok" }, "本机")] : null),
    h("div", { class: "muted small" }, `地址 ${one.client_address || "—"}`,
      one.refreshed_at ? ` · 最近使用 ${formatTime(one.refreshed_at)}` : ""),
    button);
}

async function render(message = "", failure = "") {
  const current = await session(() => render());
  if (!current) return;
  let sessions = [];
  let loadError = "";
  try {
    sessions = (await get("/v1/sessions")).sessions || [];
  } catch (e) {
    loadError = refusal(e);
  }
  const again = (ok, failed) => render(ok, failed);
  mount(app,
    h("div", { id: "flash" }, message ? notice("ok", message) : null,
      failure || loadError ? notice("error", failure || loadError) : null),
    passwordForm(again),
    h("section", { class: "card", id: "my-sessions" }, h("h2", {}, "我的登录"),
      h("p", { class: "muted" }, "本账号当前有效的登录。不认识的设备请退出并修改密码。"),
      h("ul", { class: "list" }, sessions.map((one) => sessionItem(one, again)))));
}

render();
