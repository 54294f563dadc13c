// 账号安全 › 动态验证码 (TOTP): one's own status (GET /v1/me/totp), enrolment (POST /v1/me/totp:begin shows the secret
// once; :confirm with the first code switches it on), switching it off with a current code (:disable), and, for a
// city admin, the tenant's rule that makes it mandatory for city and county admins (POST /v1/tenant/totp-policy).
import { call, el, errorText, say } from "/console/shell.js";

const panel = document.getElementById("totp-panel");
const body = document.getElementById("totp-body");
const status = document.getElementById("totp-status");

function codeForm(label, buttonText, onCode) {
  const input = el("input", { name: "code", required: true, inputmode: "numeric", pattern: "[0-9]{6}", maxlength: "6",
                              autocomplete: "one-time-code" });
  const form = el("form", { class: "form-grid" }, el("label", {}, label, input),
    el("div", { class: "actions wide" }, el("button", { type: "submit", class: "btn btn-primary" }, buttonText)));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button");
    button.disabled = true;
    try {
      await onCode(input.value.trim());
    } catch (error) {
      say(status, errorText(error), "error");
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

async function show(message = "") {
  const now = await call("GET", "/v1/me/totp");
  body.replaceChildren();
  say(status, message, "ok");
  if (now.totp_enabled) {
    body.append(el("p", { id: "totp-state" }, `已启用（${now.enabled_at.slice(0, 10)}起）。每次登录需输入手机验证器显示的 6 位动态验证码。`));
    if (now.mandatory) body.append(el("p", { class: "small muted" }, "本单位要求市、县级管理员必须使用动态验证码，不能停用。手机丢失请联系上级管理员重置。"));
    else body.append(codeForm("停用需输入当前动态验证码", "停用动态验证码", async (code) => {
      await call("POST", "/v1/me/totp:disable", { code });
      await show("动态验证码已停用。");
    }));
  } else {
    body.append(el("p", { id: "totp-state" }, "未启用。启用后，登录时除密码外还需输入手机验证器显示的 6 位动态验证码。"));
    const start = el("button", { type: "button", class: "btn btn-primary", id: "totp-begin" }, "开始绑定");
    start.addEventListener("click", async () => {
      try {
        const begun = await call("POST", "/v1/me/totp:begin", {});
        body.replaceChildren(
          el("p", { class: "small" }, "请在手机验证器中添加以下密钥（只显示这一次），然后输入验证器显示的 6 位数字完成绑定。"),
          el("p", {}, "密钥：", el("code", { id: "totp-secret" }, begun.totp_secret)),
          el("p", { class: "small muted" }, "导入链接：", el("code", { id: "totp-uri" }, begun.totp_uri)),
          codeForm("动态验证码", "确认绑定", async (code) => {
            await call("POST", "/v1/me/totp:confirm", { code });
            await show("动态验证码已启用。");
          }));
      } catch (error) {
        say(status, errorText(error), "error");
      }
    });
    body.append(start);
  }
  const policy = el("label", {}, el("input", { type: "checkbox", id: "totp-policy", checked: now.tenant_requires_for_admins }),
    " 本单位市、县级管理员必须使用动态验证码（仅市级管理员可修改）");
  policy.querySelector("input").addEventListener("change", async (event) => {
    try {
      await call("POST", "/v1/tenant/totp-policy", { totp_required_for_admins: event.target.checked });
      await show("安全策略已保存。");
    } catch (error) {
      event.target.checked = !event.target.checked;
      say(status, errorText(error), "error");
    }
  });
  body.append(policy);
}

if (panel) {
  show().catch((error) => say(status, errorText(error), "error"));
}
