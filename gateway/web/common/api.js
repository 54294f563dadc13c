// The pages' one way to the API: same origin, JSON, the session cookie (sent by the browser, never read here)
// and the CSRF header read from the pb_csrf cookie. Failures throw ApiError carrying the code and a Chinese text.
// Access tokens are short: a call answered 401 TOKEN_EXPIRED refreshes the session (POST /v1/auth/session:refresh,
// the HttpOnly refresh cookie) and is sent once more. A session that has ended (logged out elsewhere, revoked,
// account disabled) fires "pb:signed-out" on window; each page set shows its login then.
import { messageFor } from "./messages.js";

export class ApiError extends Error {
  constructor(status, error) {
    super(messageFor(error));
    this.status = status;
    this.code = error.code;
    this.field = error.field || "";
    this.details = error.details || [];
    this.serverMessage = error.message || "";
  }
}

function cookie(name) {
  const found = document.cookie.split("; ").find((part) => part.startsWith(name + "="));
  return found ? decodeURIComponent(found.slice(name.length + 1)) : "";
}

const REFRESH_PATH = "/v1/auth/session:refresh";
const REFRESHED_KEY = "pb_refreshed_at";     // localStorage: when a tab of this site last refreshed the session
// a 401 with one of these: the session is over, not merely its access token (TOKEN_MISSING is no session at all,
// as a visitor of the public pages has)
const SIGNED_OUT = new Set(["TOKEN_REVOKED", "TOKEN_INVALID", "REFRESH_INVALID", "ACCOUNT_GONE"]);
let refreshing = null;

function signedOut(error) {
  window.dispatchEvent(new CustomEvent("pb:signed-out", { detail: error }));
}

// One refresh at a time, in this tab (calls failing together share it) and across the site's tabs (Web Locks,
// where the browser has them): a refresh token is used once, and a second use of it ends the session. A tab that
// gets the lock after another tab refreshed (since `sentAt`) just uses the cookies that tab set. Answers "ok",
// "ended" (refused: the session is over, "pb:signed-out" fired) or "failed" (no answer: the network).
function refreshSession(sentAt) {
  if (!refreshing) {
    const run = async () => {
      if (Number(localStorage.getItem(REFRESHED_KEY) || 0) > sentAt) return "ok";
      const response = await fetch(REFRESH_PATH, {
        method: "POST", credentials: "same-origin", cache: "no-store",
        headers: { Accept: "application/json", "X-CSRF-Token": cookie("pb_csrf") },
      });
      if (response.ok) {
        localStorage.setItem(REFRESHED_KEY, String(Date.now()));
        return "ok";
      }
      if (response.status === 401 || response.status === 403) {
        signedOut(new ApiError(401, { code: "REFRESH_INVALID", message: "" }));
        return "ended";
      }
      return "failed";
    };
    refreshing = (async () => {
      try {
        return navigator.locks ? await navigator.locks.request("pb-session-refresh", run) : await run();
      } catch (e) {
        return "failed";
      } finally {
        refreshing = null;
      }
    })();
  }
  return refreshing;
}

// api("GET", "/v1/me"); api("POST", "/v1/scans", {token, fix}); query values go in `query`. A file (Blob) as the
// body is sent as it is, with `contentType` (or its own type): an upload such as a member import.
export async function api(method, path, body, options = {}) {
  const sentAt = Date.now();
  try {
    return await send(method, path, body, options);
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401) throw error;
    if (error.code === "TOKEN_EXPIRED") {
      const refreshed = await refreshSession(sentAt);
      if (refreshed === "ok") return await send(method, path, body, options);
      if (refreshed === "ended") throw new ApiError(401, { code: "REFRESH_INVALID", message: "" });
      throw new ApiError(0, { code: "NETWORK", message: "" });
    }
    if (SIGNED_OUT.has(error.code)) signedOut(error);
    throw error;
  }
}

async function send(method, path, body, { query, contentType } = {}) {
  let url = path;
  if (query) {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value === undefined || value === null || value === "") continue;
      for (const one of Array.isArray(value) ? value : [value]) params.append(key, String(one));
    }
    const text = params.toString();
    if (text) url += "?" + text;
  }
  const headers = { Accept: "application/json" };
  const raw = typeof Blob !== "undefined" && body instanceof Blob;
  if (method !== "GET" && method !== "HEAD") {
    headers["X-CSRF-Token"] = cookie("pb_csrf");
    if (body !== undefined) headers["Content-Type"] = raw ? contentType || body.type : "application/json";
  }
  let response;
  try {
    response = await fetch(url, {
      method, headers, credentials: "same-origin", cache: "no-store",
      body: body === undefined || raw ? body : JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(0, { code: "NETWORK", message: "" });
  }
  const text = await response.text();
  let data = {};
  if (text) {
    try { data = JSON.parse(text); } catch (e) { data = {}; }
  }
  if (!response.ok) {
    throw new ApiError(response.status, data.error || { code: response.status >= 500 ? "INTERNAL" : "MALFORMED_REQUEST", message: "" });
  }
  return data;
}

export const get = (path, query) => api("GET", path, undefined, { query });
export const post = (path, body) => api("POST", path, body === undefined ? {} : body);

// Log in: the token stays in an HttpOnly cookie; the answer is {account, expires_in, csrf_token}.
export const login = (tenant_code, username, password) =>
  post("/v1/auth/session", { tenant_code, username, password });
export const logout = () => post("/v1/auth/session:end");

// Keep an open page's session checked: every `everyMs` while the page is shown, and when it is shown again, ask the
// gateway whether the session still holds (GET /v1/auth/session: no service is called). An ended session fires
// "pb:signed-out" within that time; an access token near its end is refreshed first, so links and images (sent
// by the browser with the cookie, not through `api`) keep working.
export function watchSession(everyMs = 30000) {
  const check = async () => {
    if (document.visibilityState !== "visible") return;
    try {
      const status = await get("/v1/auth/session");
      if (status.expires_in * 1000 < 2 * everyMs) await refreshSession(Date.now());
    } catch (e) {
      // no cookie any more on a page that had a session: ended in another tab (its logout cleared the cookies).
      // An ended session has fired its event in `api`; a network failure says nothing of the session.
      if (e instanceof ApiError && e.status === 401 && e.code === "TOKEN_MISSING") signedOut(e);
    }
  };
  setInterval(check, everyMs);
  document.addEventListener("visibilitychange", check);
}

// Who is logged in ({account, member, orgs}), or null when nobody is (401).
export async function me() {
  try {
    return await get("/v1/me");
  } catch (e) {
    if (e.status === 401) return null;
    throw e;
  }
}
