// Small DOM helpers; text always goes in as text (never as HTML), so API data cannot inject markup.

// h("p", {class: "muted"}, "文字", child, ...): an element; attributes starting with "on" become listeners.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));

// Replace an element's children.
export function mount(el, ...children) {
  el.replaceChildren(...children.flat().filter((c) => c !== undefined && c !== null && c !== false));
  return el;
}

// A message box: kind is "ok", "error", "warn" or "info" (class "notice notice-<kind>").
export function notice(kind, title, ...lines) {
  return h("div", { class: `notice notice-${kind}`, role: kind === "error" ? "alert" : "status" },
    title ? h("strong", { class: "notice-title" }, title) : null,
    ...lines.map((line) => (line instanceof Node ? line : h("p", {}, line))));
}

// Show a message in the page's #flash element (created when missing); it stays until replaced.
export function flash(kind, text) {
  let box = document.getElementById("flash");
  if (!box) {
    box = h("div", { id: "flash" });
    document.body.prepend(box);
  }
  mount(box, notice(kind, text));
}

// A form's fields as an object (FormData, trimmed strings).
export function formValues(form) {
  const values = {};
  for (const [key, value] of new FormData(form).entries()) values[key] = typeof value === "string" ? value.trim() : value;
  return values;
}

// Disable a button while an async action runs; returns the action's result.
export async function busy(button, action) {
  const label = button.textContent;
  button.disabled = true;
  button.textContent = "请稍候…";
  try {
    return await action();
  } finally {
    button.disabled = false;
    button.textContent = label;
  }
}

const pad = (n) => String(n).padStart(2, "0");
// "2026-12-05 10:03" in the phone's own time zone, from an ISO-8601 text.
export function formatTime(iso, { seconds = false, date = true } = {}) {
  if (!iso) return "";
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return String(iso);
  const day = `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())}`;
  const clock = `${pad(t.getHours())}:${pad(t.getMinutes())}${seconds ? ":" + pad(t.getSeconds()) : ""}`;
  return date ? `${day} ${clock}` : clock;
}

// Now as ISO-8601 with the local offset ("2026-12-05T10:03:12.000+08:00").
export function isoNow(now = new Date()) {
  const offset = -now.getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "-";
  const abs = Math.abs(offset);
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}T${pad(now.getHours())}:` +
    `${pad(now.getMinutes())}:${pad(now.getSeconds())}.${String(now.getMilliseconds()).padStart(3, "0")}` +
    `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

// A login form (单位代码 / 用户名 / 密码); onSubmit(values, form) is awaited, its error shown in the form.
export function loginForm(onSubmit, { title = "登录", tenant = "" } = {}) {
  const error = h("div", { class: "form-error", role: "alert" });
  const form = h("form", { class: "card login", autocomplete: "on" },
    h("h2", {}, title),
    h("label", {}, "单位代码", h("input", { name: "tenant_code", required: true, value: tenant, autocapitalize: "off", autocomplete: "organization" })),
    h("label", {}, "用户名", h("input", { name: "username", required: true, autocapitalize: "off", autocomplete: "username" })),
    h("label", {}, "密码", h("input", { name: "password", type: "password", required: true, autocomplete: "current-password" })),
    error,
    h("button", { type: "submit", class: "btn btn-primary btn-block" }, "登录"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const button = form.querySelector("button[type=submit]");
    try {
      await busy(button, () => onSubmit(formValues(form), form));
    } catch (e) {
      error.textContent = e.message;
    }
  });
  return form;
}
