// 书记信箱: the letters the caller receives in a subtree (GET /v1/orgs/{id}/letters), overdue first; an anonymous
// letter shows the branch secretary no writer (the API leaves the author out), the superior's admins see it; each
// open letter can be answered (POST /v1/letters/{id}:answer).
import { answerOr, boot, call, el, errorText, localTime, query, say } from "/console/shell.js";
import { fillOrgs, subtreeOrgs } from "/console/charts.js";

const main = document.getElementById("main");
const status = document.getElementById("status");
const filters = document.getElementById("filters");
const content = document.getElementById("content");
const STATES = [["", "全部"], ["overdue", "已超期"], ["open", "待答复"], ["answered", "已答复"], ["withdrawn", "已撤回"]];
const TO = { branch: "党支部书记", superior: "上级党组织" };
const STATE = { open: "待答复", answered: "已答复", withdrawn: "已撤回" };

function writer(letter) {
  if (letter.author) return `${letter.author.name}${letter.anonymous ? "（对支部书记匿名）" : ""}`;
  return "匿名";
}

function letterCard(letter) {
  const badge = letter.overdue ? ["已超期", "err"] : [STATE[letter.state] || letter.state,
    letter.state === "answered" ? "ok" : letter.state === "open" ? "warn" : ""];
  const card = el("article", { class: "card letter", "data-id": letter.id },
    el("h3", {}, letter.subject, " ", el("span", { class: `badge badge-${badge[1]}` }, badge[0])),
    el("p", { class: "small muted" }, `来信人：${writer(letter)} · 写给${TO[letter.to_kind]} · ${localTime(letter.asked_at)}`,
      ` · 答复期限 ${localTime(letter.due_at)}`),
    el("p", {}, letter.body));
  if (letter.answer) {
    card.append(el("div", { class: "notice notice-ok" }, `答复：${letter.answer}`,
      el("span", { class: "small muted" }, ` （${localTime(letter.answered_at)}${letter.answered_late ? "，超期答复" : ""}）`)));
  }
  if (letter.state === "open") {
    const note = el("p", { class: "notice", role: "status", hidden: true });
    const form = el("form", { class: "answer-form" },
      el("label", {}, "答复内容", el("textarea", { name: "answer", required: true, maxlength: 2000, rows: 3 })),
      el("button", { type: "submit", class: "btn btn-primary" }, "答复"), note);
    form.onsubmit = async (event) => {
      event.preventDefault();
      try {
        await call("POST", `/v1/letters/${encodeURIComponent(letter.id)}:answer`, { answer: form.answer.value });
        await load();
        say(status, "已答复", "ok");
      } catch (error) {
        say(note, errorText(error), "error");
      }
    };
    card.append(form);
  }
  return card;
}

async function load() {
  const orgId = filters.org.value;
  const answer = await answerOr(main, status, call("GET",
    `/v1/orgs/${encodeURIComponent(orgId)}/letters${query({ state: filters.state.value, page_size: 200 })}`));
  if (!answer) return;
  history.replaceState(null, "", query({ org: orgId, state: filters.state.value }) || location.pathname);
  content.replaceChildren(
    el("p", { class: "summary", id: "letters-summary" }, `共 ${answer.total} 封，其中超期未答复 ${answer.overdue} 封`),
    ...(answer.letters.length ? answer.letters.map(letterCard) : [el("p", { class: "muted" }, "暂无来信。")]));
}

async function start() {
  const { roles } = await boot("mailbox");
  const params = new URLSearchParams(location.search);
  const { roots, orgs } = await subtreeOrgs(roles, { secretaries: true });
  const orgSelect = el("select", { name: "org", id: "org" });
  fillOrgs(orgSelect, orgs, roots, params.get("org"));
  const stateSelect = el("select", { name: "state", id: "state" },
    STATES.map(([value, label]) => el("option", { value }, label)));
  stateSelect.value = params.get("state") || "";
  filters.replaceChildren(el("label", {}, "组织范围", orgSelect), el("label", {}, "状态", stateSelect),
    el("button", { type: "submit", class: "btn" }, "查询"));
  filters.onsubmit = (event) => { event.preventDefault(); load(); };
  await load();
}

start();
