// The login's second step (动态验证码): a login whose password was right answers a challenge instead of a session
// (next_step TOTP_REQUIRED, or TOTP_ENROL_REQUIRED with a new secret to add first); the code and the challenge go to
// POST /v1/auth/session:totp, which sets the session cookie as /v1/auth/session does.
import { post } from "/web/common/api.js";
import { h } from "/web/common/ui.js";

export function totpForm(challenge, onDone) {
  const error = h("div", { class: "form-error", role: "alert" });
  const input = h("input", { name: "code", id: "totp-code", required: true, inputmode: "numeric", pattern: "[0-9]{6}",
                             maxlength: "6", autocomplete: "one-time-code", autocapitalize: "off" });
  const enrolling = challenge.next_step === "TOTP_ENROL_REQUIRED";
  const intro = enrolling
    ? [h("p", { class: "small" }, "本单位要求市、县级管理员使用动态验证码。请在手机验证器（如 Google Authenticator、微软验证器）中添加以下密钥，然后输入显示的 6 位数字。密钥只显示这一次。"),
       h("p", {}, "密钥：", h("code", { id: "totp-secret" }, challenge.totp_secret)),
       h("p", { class: "small muted" }, "或在验证器中导入：", h("code", { id: "totp-uri" }, challenge.totp_uri))]
    : [h("p", { class: "small" }, "本账号已启用动态验证码，请输入手机验证器显示的 6 位数字。")];
  const form = h("form", { class: "card login", id: "totp-form" },
    h("h2", {}, enrolling ? "绑定动态验证码" : "动态验证码"), ...intro,
    h("label", {}, "动态验证码", input), error,
    h("button", { type: "submit", class: "btn btn-primary btn-block" }, "验证并登录"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      await post("/v1/auth/session:totp", { challenge_token: challenge.challenge_token, code: input.value.trim() });
      await onDone();
    } catch (e) {
      // a spent or expired challenge: only a new login helps
      error.textContent = e.code === "CHALLENGE_INVALID" ? "验证已失效，请刷新页面重新登录" : e.message;
      input.select();
    } finally {
      button.disabled = false;
    }
  });
  setTimeout(() => input.focus(), 0);
  return form;
}
