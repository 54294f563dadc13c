// 党员积分: a member's ledger of a cycle (GET /v1/points/ledger: balance, per category, every entry), with the
// actions the API allows a manager of the member (POST /v1/members/{id}/deductions from the negative list,
// POST /v1/points/corrections); the talk list of a subtree (GET /v1/orgs/{id}/talk-candidates) and the tenant's
// points rules and negative list (GET /v1/points/rules). Tables are exported as CSV.
import { boot, call, el, errorText, isDenied, localTime, query, say, showDenied, table } from "/console/shell.js";
import { exportCsv, fillOrgs, subtreeOrgs, twin } from "/console/charts.js";

const CATEGORIES = {
  attendance: "参加主题党日", reflection: "心得体会", volunteer_hours: "志愿服务（每小时）", quiz: "学习答题",
  absence: "缺席扣分", negative: "负面清单扣分",
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

async function memberName(memberId) {
  try {
    const member = await call("GET", `/v1/members/${encodeURIComponent(memberId)}`);
    return member.name || memberId;
  } catch (error) {
    return memberId;
  }
}

async function loadLedger(memberId, cycle) {
  let ledger;
  try {
    ledger = await call("GET", `/v1/points/ledger${query({ member_id: memberId, cycle })}`);
  } catch (error) {
    if (isDenied(error)) return showDenied(main, error);
    return say(status, errorText(error), "error");
  }
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

async function loadTalk() {
  const form = document.getElementById("talk-filters");
  const org = form.org.value;
  const cycle = form.cycle.value.trim();
  if (!org) return;
  let answer;
  let members = [];
  try {
    let token = "";
    for (let page = 0; page < 20; page += 1) {
      answer = await call("GET", `/v1/orgs/${encodeURIComponent(org)}/talk-candidates${query({ cycle, page_size: 500, page_token: token })}`);
      members = members.concat(answer.members || []);
      token = answer.next_page_token || "";
      if (!token) break;
    }
  } catch (error) {
    if (isDenied(error)) return showDenied(main, error);
    return say(status, errorText(error), "error");
  }
  const names = await Promise.all(members.map((member) => memberName(member.member_id)));
  document.getElementById("talk-summary").textContent =
    `${answer.cycle} 周期积分低于 ${total(answer.threshold)} 分的党员共 ${answer.total} 名。`;
  talkShown = twin(document.getElementById("talk-table"), ["党员", "所在支部", "积分"],
    members.map((member, index) => [names[index], branchNames.get(member.branch_id) || member.branch_id, total(member.total)]),
    "talk-rows");
  document.querySelector("#talk-rows thead tr").append(el("th", { scope: "col" }, "操作"));
  document.querySelectorAll("#talk-rows tbody tr").forEach((row, index) => {
    row.append(el("td", {}, el("a", { href: ledgerHref(members[index].member_id, answer.cycle) }, "查看积分")));
  });
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

const branchNames = new Map();
const { roles } = await boot("points");
try {
  await loadRules();
} catch (error) {
  say(status, errorText(error), "error");
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
