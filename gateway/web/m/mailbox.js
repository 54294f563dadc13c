// /m/mailbox: the secretary mailbox (书记信箱) on the phone: write to the branch secretary or to the superior
// (POST /v1/letters), optionally anonymous to the secretary (the superior still sees the writer: said on the form),
// and my letters with their answers (GET /v1/letters).
import { get, post } from "/web/common/api.js";
import { h, mount, notice, formatTime, formValues, busy } from "/web/common/ui.js";
import { session } from "/m/session.js";

const app = document.getElementById("app");
const TO = { branch: "党支部书记", superior: "上级党组织" };
const STATE = { open: "待答复", answered: "已答复", withdrawn: "已撤回" };

function letterCard(letter, refresh) {
  const state = letter.overdue ? "已超期未答复" : STATE[letter.state] || letter.state;
  const kind = letter.state === "answered" ? "ok" : letter.overdue ? "err" : letter.state === "open" ? "warn" : "";
  return h("article", { class: "card letter", dataset: { id: letter.id } },
    h("h3", {}, letter.subject, " ", h("span", { class: `badge ${kind ? "badge-" + kind : ""}` }, state)),
    h("p", { class: "small muted" }, `写给${TO[letter.to_kind] || ""} · ${formatTime(letter.asked_at)}`,
      letter.anonymous ? " · 对支部书记匿名" : ""),
    h("p", { class: "letter-body" }, letter.body),
    letter.answer
      ? h("div", { class: "notice notice-ok letter-answer" }, h("strong", {}, "答复："), letter.answer,
          h("p", { class: "small muted" }, formatTime(letter.answered_at)))
      : null,
    letter.state === "open"
      ? h("button", { type: "button", class: "link withdraw", onclick: async (event) => {
          if (!confirm("确定撤回这封信吗？")) return;
          try {
            await busy(event.target, () => post(`/v1/letters/${encodeURIComponent(letter.id)}:withdraw`));
            refresh("信件已撤回");
          } catch (error) {
            refresh("", error.message);
          }
        } }, "撤回")
      : null);
}

function writeForm(refresh) {
  const error = h("div", { class: "form-error", role: "alert" });
  const form = h("form", { class: "card", id: "letter-form" },
    h("h2", {}, "写信"),
    h("fieldset", {}, h("legend", {}, "收信人"),
      h("label", { class: "inline" }, h("input", { type: "radio", name: "to_kind", value: "branch", checked: true }), "本支部书记"),
      h("label", { class: "inline" }, h("input", { type: "radio", name: "to_kind", value: "superior" }), "上级党组织")),
    h("label", {}, "标题", h("input", { name: "subject", required: true, maxlength: 100 })),
    h("label", {}, "内容", h("textarea", { name: "body", required: true, maxlength: 2000, rows: 5,
      placeholder: "请写下您的意见、建议或需要帮助的事项" })),
    h("label", { class: "inline" }, h("input", { type: "checkbox", name: "anonymous", id: "anonymous" }), "对支部书记匿名"),
    h("p", { class: "small muted", id: "anonymous-note" },
      "匿名只对支部书记有效：上级党组织的管理员仍能看到写信人，以便核实和回应。"),
    error,
    h("button", { type: "submit", class: "btn btn-primary btn-block" }, "提交"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const values = formValues(form);
    try {
      await busy(form.querySelector("button[type=submit]"), () => post("/v1/letters", {
        to_kind: values.to_kind, subject: values.subject, body: values.body,
        anonymous: form.querySelector("#anonymous").checked,
      }));
      refresh("信件已提交，请留意答复");
    } catch (e) {
      error.textContent = e.message;
    }
  });
  return form;
}

async function render(message, failure) {
  const current = await session(() => render(), [notice("info", "该账号不是党员账号", "管理人员请在电脑管理端查看来信。"),
    h("p", {}, h("a", { href: "/console/mailbox" }, "进入书记信箱管理"))]);
  if (!current) return;
  const refresh = (ok, failed) => render(ok, failed);
  let letters = [];
  let loadError = "";
  try {
    letters = (await get("/v1/letters", { page_size: 100 })).letters || [];
  } catch (error) {
    loadError = error.message;
  }
  mount(app,
    h("div", { id: "flash" }, message ? notice("ok", message) : null, failure || loadError ? notice("error", failure || loadError) : null),
    writeForm(refresh),
    h("h2", {}, "我的来信"),
    letters.length ? h("div", { id: "my-letters" }, letters.map((letter) => letterCard(letter, refresh)))
      : h("p", { class: "muted", id: "my-letters" }, "还没有写过信。"));
}

render();
