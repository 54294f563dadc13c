// 志愿服务设置: the tenant's volunteer settings (GET/PATCH /v1/volunteer/settings): review time limit, check-in grace,
// auto-confirmation, default hours cap and fence radius, the 双报到 deadline and the service categories. The API
// lets only city admins change them; the page shows its refusal to anybody else.
import { boot, call, el, errorText, isDenied, say, showDenied } from "/console/shell.js";

const main = document.getElementById("main");
const form = document.getElementById("settings-form");
const status = document.getElementById("status");
const rows = document.getElementById("category-rows");
const NUMBERS = ["review_hours", "start_grace_minutes", "auto_confirm_hours", "default_hours_cap", "fence_radius_m"];

function categoryRow(category = { code: "", label: "" }) {
  const row = el("div", { class: "row category" },
    el("label", { class: "grow" }, "代码", el("input", { name: "code", value: category.code, required: true, maxlength: 32,
      pattern: "[a-z][a-z0-9_]*", title: "小写字母开头，可含小写字母、数字和下划线" })),
    el("label", { class: "grow" }, "名称", el("input", { name: "label", value: category.label, required: true, maxlength: 20 })),
    el("button", { type: "button", class: "btn btn-small", onclick: () => row.remove() }, "删除"));
  return row;
}

function fill(settings) {
  for (const name of NUMBERS) form.elements[name].value = settings[name] ?? "";
  form.elements.report_deadline.value = settings.report_deadline || "";
  rows.replaceChildren(...(settings.categories || []).map(categoryRow));
  form.hidden = false;
}

async function save(event) {
  event.preventDefault();
  const body = Object.fromEntries(NUMBERS.map((name) => [name, Number(form.elements[name].value)]));
  body.report_deadline = form.elements.report_deadline.value;
  body.categories = [...rows.querySelectorAll(".category")].map((row) => ({
    code: row.querySelector("[name=code]").value.trim(), label: row.querySelector("[name=label]").value.trim() }));
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    fill(await call("PATCH", "/v1/volunteer/settings", body));
    say(status, "设置已保存", "ok");
  } catch (error) {
    say(status, errorText(error), "error");
  } finally {
    button.disabled = false;
  }
}

await boot("volunteer-settings");
try {
  fill(await call("GET", "/v1/volunteer/settings"));
} catch (error) {
  if (isDenied(error)) showDenied(main, error);
  else say(status, errorText(error), "error");
}
form.addEventListener("submit", save);
document.getElementById("add-category").addEventListener("click", () => rows.append(categoryRow()));
