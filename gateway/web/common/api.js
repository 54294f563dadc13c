// The pages' one way to the API: same origin, JSON, the session cookie (sent by the browser, never read here)
// and the CSRF header read from the pb_csrf cookie. Failures throw ApiError carrying the code and a Chinese text.
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

// api("GET", "/v1/me"); api("POST", "/v1/scans", {token, fix}); query values go in `query`. A file (Blob) as the
// body is sent as it is, with `contentType` (or its own type): an upload such as a member import.
export async function api(method, path, body, { query, contentType } = {}) {
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

// Who is logged in ({account, member, orgs}), or null when nobody is (401).
export async function me() {
  try {
    return await get("/v1/me");
  } catch (e) {
    if (e.status === 401) return null;
    throw e;
  }
}
