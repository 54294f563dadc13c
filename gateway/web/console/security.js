// 账号安全: one's own password (POST /v1/me:change-password {old_password, new_password}; every other session of
// the account is revoked) and one's own login sessions with 注销 (docs/identity-rpc.md sessions).
import { boot, call, say } from "/console/shell.js";
import { accountRefusal, showSessions } from "/console/sessions.js";

const form = document.getElementById("password-form");
const status = document.getElementById("password-status");
const list = document.getElementById("my-session-list");
const listStatus = document.getElementById("sessions-status");

async function loadSessions() {
  try {
    // 注销 of the current session is a logout: the login page, as 退出登录 does
    await showSessions(list, listStatus, "", { onOwnRevoked: () => location.replace("/console/login") });
  } catch (error) {
    say(listStatus, accountRefusal(error), "error");
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (form.new_password.value !== form.again.value) {
    say(status, "两次输入的新密码不一致", "error");
    return;
  }
  const button = document.getElementById("password-submit");
  button.disabled = true;
  try {
    const answer = await call("POST", "/v1/me:change-password",
      { old_password: form.old_password.value, new_password: form.new_password.value });
    form.reset();
    const others = answer.revoked_sessions ? `，其他设备上的 ${answer.revoked_sessions} 个登录已注销` : "";
    say(status, `密码已修改${others}。`, "ok");
    await loadSessions();
  } catch (error) {
    say(status, accountRefusal(error), "error");
  } finally {
    button.disabled = false;
  }
});

await boot("security");
await loadSessions();
