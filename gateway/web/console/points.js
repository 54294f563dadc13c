// 党员积分: a member's ledger of a cycle (GET /v1/points/ledger: balance, per category, every entry), with the
// actions the API allows a manager of the member (POST /v1/members/{id}/deductions from the negative list,
// POST /v1/points/corrections); the talk list of a subtree (GET /v1/orgs/{id}/talk-candidates), each member shown
// talked or not, with a form recording the talk (POST /v1/members/{id}/talks) and the cycle's talk records
// (GET /v1/orgs/{id}/talks); the tenant's points rules and negative list (GET /v1/points/rules), which the city
// admin edits (PUT /v1/points/rules, the whole table at once; the API validates it and lists every problem).
// Tables are exported as CSV.
import { ApiError, allPages, answerOr, boot, call, el, errorText, isDenied, localTime, query, say, showDenied, table } from "/console/shell.js";
import { exportCsv, fillOrgs, subtreeOrgs, twin } from "/console/charts.js";

const CATEGORIES = {
  attendance: "参加主题党日", meeting: "三会一课", reflection: "心得体会", volunteer_hours: "志愿服务（每小时）", quiz: "学习答题",
  study: "学习套餐", contest: "知识竞赛", absence: "缺席扣分", negative: "负面清单扣分",
};
const main = document.getElementById("main");
const status = document.getElementById("status");
const params = new URLSearchParams(location.search);
let rules = { negative_list: [] };
let ledgerShown = { headers: [], rows: [] };
let talkShown = { headers: [], rows: [] };

function points(value) {
  const number = Number(value || 0);
  return `${number > 0 ? "+" : ""}${Number.isInteger(number) ? number : number.toFixed(2)}`;
}

function total(value) {
  const number = Number(value || 0);
  return Number.isInteger(number) ? String(number) : number.toFixed(2);
}

function ledgerHref(memberId, cycle) {
  return `/console/points${query({ member: memberId, cycle })}`;
}

const names = new Map();

async function memberName(memberId) {
  if (!names.has(memberId)) {
    names.set(memberId, call("GET", `/v1/members/${encodeURIComponent(memberId)}`)
      .then((member) => member.name || memberId, () => memberId));
  }
  return names.get(memberId);
}

async function loadLedger(memberId, cycle) {
  const ledger = await answerOr(main, status, call("GET", `/v1/points/ledger${query({ member_id: memberId, cycle })}`));
  if (!ledger) return;
  const name = await memberName(memberId);
  const entries = ledger.entries || [];
  document.getElementById("ledger-summary").textContent =
    `${name} · ${ledger.cycle} 周期 · 共 ${entries.length} 条记录`;
  document.getElementById("ledger-facts").replaceChildren(
    el("dt", {}, "积分余额"), el("dd", { id: "ledger-total" }, total(ledger.total)),
    el("dt", {}, "诫勉谈话线"), el("dd", {}, total(ledger.threshold)),
    el("dt", {}, "状态"), el("dd", { id: "ledger-state" }, ledger.below_threshold ? "低于谈话线，列入诫勉谈话名单" : "正常"),
    ...Object.entries(ledger.by_category || {}).flatMap(([category, value]) =>
      [el("dt", {}, CATEGORIES[category] || category), el("dd", {}, points(value))]));
  const corrected = new Set(entries.map((entry) => entry.corrects).filter(Boolean));
  ledgerShown = twin(document.getElementById("ledger-table"), ["时间", "类别", "积分", "事由", "来源"],
    entries.map((entry) => [localTime(entry.at), CATEGORIES[entry.category] || entry.category, points(entry.points),
      entry.reason || "", entry.corrects ? "更正" : entry.source_kind === "person" ? "人工录入" : "系统自动"]),
    "ledger-rows");
  // a correction button on each entry that is neither a correction nor corrected already
  const rows = document.querySelectorAll("#ledger-rows tbody tr");
  document.querySelector("#ledger-rows thead tr").append(el("th", { scope: "col", class: "no-print" }, "操作"));
  entries.forEach((entry, index) => {
    if (entry.corrects || corrected.has(entry.id)) return;
    rows[index].append(el("td", { class: "no-print" }, el("button", {
      type: "button", class: "btn btn-small correct", "data-entry": entry.id,
      onclick: () => correct(entry, memberId, ledger.cycle),
    }, "更正")));
  });
  const codes = document.getElementById("deduction-code");
  codes.replaceChildren(...(rules.negative_list || []).map((item) =>
    el("option", { value: item.code }, `${item.name}（${points(item.points)}分）`)));
  const form = document.getElementById("deduction-form");
  form.hidden = !(rules.negative_list || []).length;
  form.onsubmit = (event) => {
    event.preventDefault();
    deduct(memberId, ledger.cycle);
  };
  document.getElementById("ledger-section").hidden = false;
}

async function deduct(memberId, cycle) {
  const note = document.getElementById("deduction-status");
  const reason = document.getElementById("deduction-reason").value.trim();
  if (!reason) return say(note, "请填写扣分事由。", "warn");
  try {
    await call("POST", `/v1/members/${encodeURIComponent(memberId)}/deductions`, {
      code: document.getElementById("deduction-code").value, reason, request_id: crypto.randomUUID(),
    });
  } catch (error) {
    return say(note, errorText(error), "error");
  }
  document.getElementById("deduction-reason").value = "";
  await loadLedger(memberId, cycle);
  say(note, "已扣分。", "ok");
}

async function correct(entry, memberId, cycle) {
  const reason = window.prompt("请填写更正原因：");
  if (!reason || !reason.trim()) return;
  try {
    await call("POST", "/v1/points/corrections", { entry_id: entry.id, reason: reason.trim() });
  } catch (error) {
    return say(status, errorText(error), "error");
  }
  await loadLedger(memberId, cycle);
  say(status, "已更正：已记入一条相反的积分记录。", "ok");
}

/** Today where the talks are held (Asia/Shanghai), YYYY-MM-DD: the latest date a talk may have. */
function today() {
  return new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai" }).format(new Date());
}

/** The first day of a points cycle: 1 January of "2026", 1 September of "2026-2027" (the API's rule). */
function cycleStart(cycle) {
  return /^\d{4}$/.test(cycle) ? `${cycle}-01-01` : `${cycle.slice(0, 4)}-09-01`;
}

function talkState(member) {
  return member.talked ? `已谈话（${member.talk?.held_on || ""}）` : "未谈话";
}

async function loadTalk() {
  const form = document.getElementById("talk-filters");
  const org = form.org.value;
  const cycle = form.cycle.value.trim();
  if (!org) return;
  say(document.getElementById("talk-status"), "");
  let answer;
  let members = [];
  let talks = [];
  try {
    let token = "";
    for (let page = 0; page < 20; page += 1) {
      answer = await call("GET", `/v1/orgs/${encodeURIComponent(org)}/talk-candidates${query({ cycle, page_size: 500, page_token: token })}`);
      members = members.concat(answer.members || []);
      token = answer.next_page_token || "";
      if (!token) break;
    }
    talks = await allPages(`/v1/orgs/${encodeURIComponent(org)}/talks`, { cycle: answer.cycle, page_size: 500 }, "talks");
  } catch (error) {
    if (isDenied(error)) return showDenied(main, error);
    return say(status, errorText(error), "error");
  }
  const shownNames = await Promise.all(members.map((member) => memberName(member.member_id)));
  document.getElementById("talk-summary").textContent =
    `${answer.cycle} 周期积分低于 ${total(answer.threshold)} 分的党员共 ${answer.total} 名，` +
    `已谈话 ${members.filter((member) => member.talked).length} 名。`;
  talkShown = twin(document.getElementById("talk-table"), ["党员", "所在支部", "积分", "谈话情况"],
    members.map((member, index) => [shownNames[index], branchNames.get(member.branch_id) || member.branch_id,
      total(member.total), talkState(member)]),
    "talk-rows");
  document.querySelector("#talk-rows thead tr").append(el("th", { scope: "col", class: "no-print" }, "操作"));
  document.querySelectorAll("#talk-rows tbody tr").forEach((row, index) => {
    const member = members[index];
    row.dataset.member = member.member_id;
    row.cells[3].replaceChildren(el("span", { class: `badge ${member.talked ? "badge-ok" : "badge-warn"}` }, talkState(member)));
    row.append(el("td", { class: "no-print" },
      el("a", { href: ledgerHref(member.member_id, answer.cycle) }, "查看积分"), " ",
      member.talked ? null : el("button", {
        type: "button", class: "btn btn-small record-talk", "data-member": member.member_id,
        onclick: () => openTalkForm(row, member, shownNames[index], answer.cycle),
      }, "记录谈话")));
  });
  await showTalks(answer.cycle, talks);
}

/** The cycle's talk records of the subtree, newest first: also those of members no longer on the list. */
async function showTalks(cycle, talks) {
  const talkNames = await Promise.all(talks.map((talk) => memberName(talk.member_id)));
  document.getElementById("talks-summary").textContent = `${cycle} 周期共记录诫勉谈话 ${talks.length} 次。`;
  document.getElementById("talks-table").replaceChildren(table(["谈话日期", "党员", "所在支部", "谈话内容", "记录时间"],
    talks.map((talk, index) => [talk.held_on, talkNames[index], branchNames.get(talk.branch_id) || talk.branch_id,
      el("span", { class: "talk-note" }, talk.note), localTime(talk.recorded_at)]),
    { id: "talks-rows" }));
}

/** The small form under a member's row: the talk's date (within the cycle, not after today) and what was said. */
function openTalkForm(row, member, name, cycle) {
  document.querySelector("#talk-rows .talk-form-row")?.remove();
  const note = el("p", { class: "notice", role: "status", hidden: true });
  const form = el("form", { class: "talk-form", "aria-label": `记录与${name}的诫勉谈话` },
    el("div", { class: "form-grid" },
      el("label", {}, "谈话日期", el("input", { type: "date", name: "held_on", required: true, value: today(),
        min: cycleStart(cycle), max: today() })),
      el("label", { class: "wide" }, "谈话内容", el("textarea", { name: "note", required: true, maxlength: "2000",
        rows: "3", placeholder: "谈话指出的问题、本人态度和改进要求" }))),
    el("div", { class: "actions" },
      el("button", { type: "submit", class: "btn btn-primary" }, "保存谈话记录"),
      el("button", { type: "button", class: "btn", onclick: () => formRow.remove() }, "取消")),
    note);
  const formRow = el("tr", { class: "talk-form-row no-print" },
    el("td", { colspan: String(row.cells.length) }, el("p", { class: "small" }, `记录与 ${name} 的诫勉谈话（${cycle} 周期）`), form));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    recordTalk(form, note, member, name, cycle);
  });
  row.after(formRow);
  form.held_on.focus();
}

async function recordTalk(form, note, member, name, cycle) {
  const heldOn = form.held_on.value;
  const text = form.note.value.trim();
  if (!heldOn) return say(note, "请填写谈话日期。", "warn");
  if (!text) return say(note, "请填写谈话内容。", "warn");
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  let talk;
  try {
    talk = await call("POST", `/v1/members/${encodeURIComponent(member.member_id)}/talks`,
      { cycle, held_on: heldOn, note: text });
  } catch (error) {
    button.disabled = false;
    return say(note, errorText(error), "error");
  }
  await loadTalk();
  say(document.getElementById("talk-status"), `已记录与 ${name} 的诫勉谈话（${talk.held_on}）。`, "ok");
}

async function loadRules() {
  rules = await call("GET", "/v1/points/rules");
  document.getElementById("rules-summary").textContent =
    `积分周期：${rules.cycle === "academic" ? "学年（每年9月起）" : "自然年"}；积分低于 ${total(rules.threshold)} 分的党员列入诫勉谈话名单。`;
  document.getElementById("rules-table").replaceChildren(table(["类别", "每次积分", "每日上限", "周期上限"],
    (rules.rules || []).map((rule) => [CATEGORIES[rule.category] || rule.category, points(rule.points),
      rule.daily_cap ? total(rule.daily_cap) : "不限", rule.cycle_cap ? total(rule.cycle_cap) : "不限"]),
    { id: "rules-rows" }));
  document.getElementById("negative-table").replaceChildren(table(["代码", "事项", "扣分"],
    (rules.negative_list || []).map((item) => [item.code, item.name, points(item.points)]), { id: "negative-rows" }));
}

const RULE_COLUMNS = { points: "每次积分", daily_cap: "每日上限", cycle_cap: "周期上限" };
const NEGATIVE_COLUMNS = { code: "代码", name: "事项", points: "扣分" };
const PROBLEMS = {
  NOT_A_NUMBER: "必须是数字", OUT_OF_RANGE: "超出允许范围", DUPLICATE: "重复", MUST_DEDUCT: "只能扣分（填负数）",
  MALFORMED: "需要填写代码、事项和扣分", UNKNOWN_CYCLE: "只能是自然年或学年", UNKNOWN_CATEGORY: "类别未知",
  REQUIRED: "不能为空",
};

function numberInput(value, name) {
  return el("input", { type: "number", step: "any", required: true, name, value: String(value ?? 0) });
}

function negativeRow(item) {
  const row = el("tr", {},
    el("td", {}, el("input", { name: "code", value: item.code || "", required: true, maxlength: "40" })),
    el("td", {}, el("input", { name: "name", value: item.name || "", required: true, maxlength: "100" })),
    el("td", {}, numberInput(item.points ?? -1, "points")));
  row.append(el("td", {}, el("button", { type: "button", class: "btn btn-small", onclick: () => row.remove() }, "删除")));
  return row;
}

/** The edit form, filled from the rules as the API stored them. */
function fillRulesForm() {
  document.getElementById("rules-cycle").value = rules.cycle || "calendar";
  document.getElementById("rules-threshold").value = String(rules.threshold ?? 0);
  document.getElementById("rules-edit").replaceChildren(table(["类别", ...Object.values(RULE_COLUMNS)],
    (rules.rules || []).map((rule) => [CATEGORIES[rule.category] || rule.category,
      ...Object.keys(RULE_COLUMNS).map((key) => numberInput(rule[key], key))]), { id: "rules-edit-rows" }));
  document.querySelectorAll("#rules-edit-rows tbody tr").forEach((row, index) => {
    row.dataset.category = rules.rules[index].category;
  });
  document.getElementById("negative-edit").replaceChildren(table([...Object.values(NEGATIVE_COLUMNS), "操作"], [],
    { id: "negative-edit-rows" }));
  document.querySelector("#negative-edit-rows tbody").append(...(rules.negative_list || []).map(negativeRow));
}

function rulesFromForm() {
  const value = (input) => Number(input.value);
  return {
    cycle: document.getElementById("rules-cycle").value,
    threshold: value(document.getElementById("rules-threshold")),
    rules: [...document.querySelectorAll("#rules-edit-rows tbody tr")].map((row) => ({
      category: row.dataset.category,
      points: value(row.querySelector("[name=points]")),
      daily_cap: value(row.querySelector("[name=daily_cap]")),
      cycle_cap: value(row.querySelector("[name=cycle_cap]")),
    })),
    negative_list: [...document.querySelectorAll("#negative-edit-rows tbody tr")].map((row) => ({
      code: row.querySelector("[name=code]").value.trim(),
      name: row.querySelector("[name=name]").value.trim(),
      points: value(row.querySelector("[name=points]")),
    })),
  };
}

/** One problem of RULES_INVALID in Chinese: which cell (rules[1].daily_cap -> 心得体会·每日上限) and why. */
function problemText(problem, sent) {
  const field = String(problem.field || "");
  let where = { cycle: "积分周期", threshold: "诫勉谈话线", rules: "积分规则", negative_list: "负面清单" }[field] || field;
  let match = field.match(/^rules\[(\d+)\](?:\.(\w+))?$/);
  if (match) {
    const category = sent.rules[Number(match[1])]?.category;
    where = [CATEGORIES[category] || category, RULE_COLUMNS[match[2]] || ""].filter(Boolean).join("·");
  }
  match = field.match(/^negative_list\[(\d+)\](?:\.(\w+))?$/);
  if (match) where = [`负面清单第 ${Number(match[1]) + 1} 项`, NEGATIVE_COLUMNS[match[2]] || ""].filter(Boolean).join("·");
  // the service's message starts with the field path; what follows it is already Chinese (e.g. the range)
  const message = String(problem.message || "");
  const why = message.startsWith(`${field} `) ? message.slice(field.length + 1) : PROBLEMS[problem.reason] || message;
  return `${where}：${why}`;
}

async function saveRules(event) {
  event.preventDefault();
  const note = document.getElementById("rules-status");
  const sent = rulesFromForm();
  let stored;
  try {
    stored = await call("PUT", "/v1/points/rules", { rules: sent });
  } catch (error) {
    const problems = error instanceof ApiError && error.code === "RULES_INVALID" ? error.details || [] : [];
    say(note, `${errorText(error)}，未作任何修改。`, "error");
    if (problems.length) {
      note.append(el("ul", { id: "rules-problems" }, problems.map((problem) => el("li", {}, problemText(problem, sent)))));
    }
    return;
  }
  await loadRules();
  fillRulesForm();
  say(note, `积分规则已保存（${(stored.rules || []).length} 个类别，负面清单 ${(stored.negative_list || []).length} 项）。`, "ok");
}

const branchNames = new Map();
const { roles } = await boot("points");
try {
  await loadRules();
} catch (error) {
  say(status, errorText(error), "error");
}
// only the city admin may change the rules (the API refuses anyone else with NOT_CITY_ADMIN)
if (roles.admin.some((grant) => grant.org.kind === "city") && rules.rules) {
  const rulesForm = document.getElementById("rules-form");
  fillRulesForm();
  rulesForm.hidden = false;
  rulesForm.addEventListener("submit", saveRules);
  document.getElementById("negative-add").addEventListener("click", () => {
    document.querySelector("#negative-edit-rows tbody").append(negativeRow({ code: "", name: "", points: -1 }));
  });
}
const { roots, orgs } = await subtreeOrgs(roles, { secretaries: true });
for (const org of orgs) branchNames.set(org.id, org.name);
const talkForm = document.getElementById("talk-filters");
fillOrgs(talkForm.org, orgs.filter((org) => org.kind !== "group"), roots, params.get("org") || "");
talkForm.cycle.value = params.get("cycle") || "";
talkForm.addEventListener("submit", (event) => {
  event.preventDefault();
  loadTalk();
});
document.getElementById("export-ledger").addEventListener("click", () => exportCsv("积分明细.csv", ledgerShown));
document.getElementById("export-talk").addEventListener("click", () => exportCsv("诫勉谈话名单.csv", talkShown));
if (params.get("member")) await loadLedger(params.get("member"), params.get("cycle") || "");
if (!main.querySelector("#denied")) await loadTalk();
