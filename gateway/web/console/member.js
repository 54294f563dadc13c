// 党员详情: one member as the API gives it (GET /v1/members/{id}: the ID number only masked), the development
// steps with their dates and the next step (POST /v1/members/{id}:change-status {status, on}; the interval rules'
// refusals in Chinese), and a transfer request (POST /v1/transfers). Outside the caller's subtree: 无权访问或不存在.
import { boot, call, el, isDenied, say, showDenied } from "/console/shell.js";
import {
  GENDER_LABELS, MEMBER_STATUSES, MEMBER_STATUS_LABELS, STEP_DATE_LABELS, fetchJson, orgOptions, pathText,
  refusalText, scopeRoots, wholeSubtree,
} from "/console/people.js";

const main = document.getElementById("main");
const status = document.getElementById("member-status");
const stepForm = document.getElementById("step-form");
const stepResult = document.getElementById("step-result");
const transferForm = document.getElementById("transfer-form");
const transferResult = document.getElementById("transfer-result");
const memberId = new URLSearchParams(location.search).get("id") || "";
let member = null;

function facts(pairs) {
  document.getElementById("member-facts").replaceChildren(...pairs.flatMap(([term, value, key]) => [
    el("dt", {}, term), el("dd", { dataset: { fact: key } }, value || "—")]));
}

function nextStatus(current) {
  const index = MEMBER_STATUSES.indexOf(current);
  return index >= 0 && index < MEMBER_STATUSES.length - 1 ? MEMBER_STATUSES[index + 1] : "";
}

function render(branchText) {
  document.getElementById("member-title").textContent = `党员详情：${member.name}`;
  document.title = `${member.name} · 智慧党建管理端`;
  facts([
    ["姓名", member.name, "name"], ["性别", GENDER_LABELS[member.gender] || member.gender, "gender"],
    ["出生日期", member.birth_date, "birth_date"], ["身份证号", member.id_number_masked, "id_number"],
    ["手机号", member.phone, "phone"], ["学历", member.education, "education"],
    ["政治面貌", MEMBER_STATUS_LABELS[member.status] || member.status, "status"],
    ["所在支部", branchText, "branch"], ["流动党员", member.mobile ? "是" : "否", "mobile"],
  ]);
  const dates = Object.fromEntries((member.status_history || []).map((step) => [step.status, step.on]));
  const reached = MEMBER_STATUSES.indexOf(member.status);
  document.getElementById("lifecycle").replaceChildren(el("ol", { class: "steps lifecycle", id: "lifecycle-steps" },
    MEMBER_STATUSES.map((step, index) => el("li", {
      class: index === reached ? "current" : index < reached ? "done" : "todo", dataset: { step } },
    `${MEMBER_STATUS_LABELS[step]}：`,
    index <= reached ? `${STEP_DATE_LABELS[step]} ${dates[step] || "（无记录）"}` : "未到此步",
    index === reached ? "（当前）" : ""))),
    el("p", { class: "small" }, el("a", { id: "development-record-link",
      href: `/console/development?org=${encodeURIComponent(member.branch_id)}&member=${encodeURIComponent(member.id)}` },
    "查看发展党员纪实（谈话、入党介绍人、政治审查、培训、公示）")));
  const next = nextStatus(member.status);
  stepForm.hidden = !next;
  if (next) {
    document.getElementById("step-label").textContent = `下一步：${MEMBER_STATUS_LABELS[next]}，${STEP_DATE_LABELS[next]}`;
    document.getElementById("step-submit").textContent = `确认转为${MEMBER_STATUS_LABELS[next]}`;
  }
  document.getElementById("member-info").hidden = false;
}

async function branchTextOf(branchId) {
  try {
    return pathText(await fetchJson(`/v1/orgs/${encodeURIComponent(branchId)}`));
  } catch {
    return branchId;
  }
}

async function load() {
  member = await call("GET", `/v1/members/${encodeURIComponent(memberId)}`);
  render(await branchTextOf(member.branch_id));
}

stepForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const next = nextStatus(member.status);
  const button = document.getElementById("step-submit");
  button.disabled = true;
  say(stepResult, "");
  try {
    member = await call("POST", `/v1/members/${encodeURIComponent(memberId)}:change-status`,
      { status: next, on: stepForm.on.value });
    render(await branchTextOf(member.branch_id));
    say(stepResult, `已转为${MEMBER_STATUS_LABELS[member.status]}（${stepForm.on.value}）`, "ok");
    stepForm.on.value = "";
  } catch (error) {
    say(stepResult, refusalText(error), "error");
  } finally {
    button.disabled = false;
  }
});

transferForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const toBranch = transferForm.branch_id.value.trim() || transferForm.branch.value;
  if (!toBranch) {
    say(transferResult, "请选择或填写转入支部。", "error");
    return;
  }
  const button = document.getElementById("transfer-submit");
  button.disabled = true;
  try {
    const transfer = await call("POST", "/v1/transfers",
      { member_id: memberId, to_branch_id: toBranch, reason: transferForm.reason.value.trim() });
    say(transferResult, `已申请转往“${transfer.to_branch_name}”，待接收方办理（办理期限 ${transfer.due_at.slice(0, 10)}）。`,
      "ok");
  } catch (error) {
    say(transferResult, refusalText(error), "error");
  } finally {
    button.disabled = false;
  }
});

const { roles } = await boot("members");
try {
  await load();
} catch (error) {
  if (isDenied(error)) showDenied(main, error);
  else say(status, refusalText(error), "error");
}
if (member) {
  const branches = [];
  for (const root of scopeRoots(roles)) {
    try {
      for (const org of await wholeSubtree(root.id, { kind: "branch" })) {
        if (org.id !== member.branch_id && !branches.some((known) => known.id === org.id)) branches.push(org);
      }
    } catch { /* a root the API no longer lets the caller read offers no branches */ }
  }
  transferForm.branch.replaceChildren(...orgOptions(branches, { blank: "（请选择）" }));
}
