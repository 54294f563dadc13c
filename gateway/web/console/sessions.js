// 登录会话: an account's live sessions (GET /v1/sessions?account_id=, "" = one's own) with 注销 for each
// (POST /v1/sessions/{id}:revoke). Shown on 账号 (an admin over an account of its subtree) and 账号安全 (one's own).
import { ApiError, call, el, localTime, say, table } from "/console/shell.js";
import { refusalText } from "/console/people.js";

const HEADERS = ["登录时间", "最近续期", "登录地址", "有效期至", "操作"];
// codes whose table text means something else on the learning pages
const SESSION_TEXTS = { SESSION_NOT_FOUND: "该登录会话已结束或不存在" };

/** The refusal's Chinese text, with the sessions' own meaning of shared codes. */
export function accountRefusal(error) {
  if (error instanceof ApiError && SESSION_TEXTS[error.code]) return SESSION_TEXTS[error.code];
  return refusalText(error);
}

/** Fill `box` with the sessions of `accountId`; `status` shows what 注销 did. `onOwnRevoked` runs once the caller's
 * current session has been revoked (its page is logged out). */
export async function showSessions(box, status, accountId = "", { onOwnRevoked } = {}) {
  const answer = await call("GET", "/v1/sessions", undefined, { query: { account_id: accountId } });
  const sessions = answer.sessions || [];
  if (!sessions.length) {
    box.replaceChildren(el("p", { class: "muted", id: "sessions-empty" }, "没有有效的登录会话。"));
    return sessions;
  }
  const rows = sessions.map((session) => [
    el("span", {}, localTime(session.created_at),
      session.current ? [" ", el("span", { class: "badge badge-ok" }, "当前会话")] : null),
    session.refreshed_at ? localTime(session.refreshed_at) : "—",
    session.client_address || "—",
    localTime(session.expires_at),
    el("button", { type: "button", class: "btn btn-small session-revoke", onclick: async (event) => {
      event.target.disabled = true;
      try {
        await call("POST", `/v1/sessions/${encodeURIComponent(session.id)}:revoke`, {});
        if (session.current && onOwnRevoked) {
          onOwnRevoked();
          return;
        }
        say(status, `已注销 ${localTime(session.created_at)} 登录的会话，该设备将在几秒内退出登录。`, "ok");
      } catch (error) {
        say(status, accountRefusal(error), "error");
      }
      try {
        await showSessions(box, status, accountId, { onOwnRevoked });
      } catch (error) {
        say(status, accountRefusal(error), "error");
      }
    } }, "注销"),
  ]);
  const view = table(HEADERS, rows, { id: "sessions" });
  view.querySelectorAll("tbody tr").forEach((row, index) => {
    row.dataset.session = sessions[index].id;
    if (sessions[index].current) row.classList.add("session-current");
  });
  box.replaceChildren(view);
  return sessions;
}
