// 党费标准与缴纳: a branch's party members with their monthly standard (PUT /v1/members/{id}/dues-standard) and
// payments recorded one member at a time (POST /v1/members/{id}/dues-payments), from GET /v1/orgs/{id}/dues.
import { answerOr, boot, call, el, errorText, say, table } from "/console/shell.js";
import {
  CATEGORY_LABELS, INCOME_CATEGORIES, METHOD_LABELS, STATUS_LABELS, fenOf, managedBranches, monthsBetween, monthsText,
  orgOption, receiptLink, thisMonth, today, yuan,
} from "/console/dues-common.js";

const main = document.getElementById("main");
const status = document.getElementById("dues-status");
const filter = document.getElementById("dues-filter");
const standardPanel = document.getElementById("standard-panel");
const paymentPanel = document.getElementById("payment-panel");
let current = null;         // the member whose standard or payment is being entered

function bracketsText(rules) {
  const lines = [];
  for (const category of INCOME_CATEGORIES) {
    const rows = rules.brackets.filter((b) => b.category === category);
    let lower = 0;
    const parts = rows.map((b) => {
      const text = b.up_to_fen ? `${yuan(lower)}–${yuan(b.up_to_fen)} 元：${b.rate_bp / 100}%` : `${yuan(lower)} 元以上：${b.rate_bp / 100}%`;
      lower = b.up_to_fen;
      return text;
    });
    lines.push(el("li", {}, `${CATEGORY_LABELS[category]}：${parts.join("；")}`));
  }
  lines.push(el("li", {}, `固定金额：${rules.fixed.map((f) => `${CATEGORY_LABELS[f.category]} ${yuan(f.amount_fen)} 元`).join("；")}`));
  lines.push(el("li", {}, `连续 ${rules.arrears_flag_months} 个月未交纳党费的党员将提示支部处理（不会自动处置）。`));
  return el("ul", {}, lines, rules.is_default
    ? el("p", { class: "small muted" }, "以上为全国统一标准（中组部《关于中国共产党党费收缴、使用和管理的规定》），市级管理员可调整。") : null);
}

async function load(event) {
  event?.preventDefault();
  standardPanel.hidden = paymentPanel.hidden = true;
  const answer = await answerOr(main, status, call("GET",
    `/v1/orgs/${encodeURIComponent(filter.branch.value)}/dues?year=${encodeURIComponent(filter.year.value)}`));
  if (!answer) return;
  say(status, answer.members.length ? `本支部共 ${answer.members.length} 名党员，当前月份 ${answer.current_month}。`
    : "本支部还没有预备党员或正式党员。");
  document.getElementById("dues-members").replaceChildren(table(
    ["姓名", "政治面貌", "类别", "每月应交（元）", "起始月份", `${answer.year}年已缴月份`, "欠缴", "操作"],
    answer.members.map((row) => [
      row.name, STATUS_LABELS[row.status] || row.status,
      row.has_standard ? CATEGORY_LABELS[row.category] || row.category : el("span", { class: "badge badge-warn" }, "未核定"),
      row.has_standard ? yuan(row.amount_fen) : "—", row.from_month || "—", monthsText(row.paid_months),
      row.owed_months.length ? `${row.owed_months.length} 个月，${yuan(row.owed_fen)} 元` : "无",
      el("span", { class: "actions" },
        el("button", { type: "button", class: "link-button", onclick: () => openStandard(row) }, "核定标准"),
        row.has_standard
          ? el("button", { type: "button", class: "link-button", onclick: () => openPayment(row, answer) }, "登记缴费")
          : null),
    ]), { id: "dues-table" }));
}

function openStandard(row) {
  current = row;
  paymentPanel.hidden = true;
  standardPanel.hidden = false;
  document.getElementById("standard-title").textContent = `核定党费标准：${row.name}`;
  const form = document.getElementById("standard-form");
  form.category.value = row.category || "employed";
  form.income.value = row.income_fen ? yuan(row.income_fen) : "";
  form.amount.value = row.category === "other" ? yuan(row.amount_fen) : "";
  form.from_month.value = thisMonth();
  showCategoryFields();
  say(document.getElementById("standard-status"), "");
  form.category.focus();
}

function showCategoryFields() {
  const category = document.getElementById("standard-category").value;
  document.getElementById("standard-income-label").hidden = !INCOME_CATEGORIES.includes(category);
  document.getElementById("standard-amount-label").hidden = category !== "other";
}

async function saveStandard(event) {
  event.preventDefault();
  const form = event.target;
  const line = document.getElementById("standard-status");
  const category = form.category.value;
  const body = { category, from_month: form.from_month.value };
  if (INCOME_CATEGORIES.includes(category)) {
    body.income_fen = fenOf(form.income.value);
    if (!body.income_fen) return say(line, "请填写月收入（元，最多两位小数）。", "error");
  }
  if (category === "other") {
    body.amount_fen = fenOf(form.amount.value);
    if (!body.amount_fen) return say(line, "请填写每月应交金额（元，最多两位小数）。", "error");
  }
  try {
    const saved = await call("PUT", `/v1/members/${encodeURIComponent(current.member_id)}/dues-standard`, body);
    await load();
    say(status, `已保存${current.name}的党费标准：每月 ${yuan(saved.amount_fen)} 元，自 ${saved.from_month} 起。`, "ok");
  } catch (error) {
    say(line, errorText(error), "error");
  }
}

function openPayment(row, answer) {
  current = row;
  standardPanel.hidden = true;
  paymentPanel.hidden = false;
  document.getElementById("payment-title").textContent = `登记缴费：${row.name}`;
  const form = document.getElementById("payment-form");
  const first = row.owed_months[0] || (row.current_paid ? "" : answer.current_month) || answer.current_month;
  form.from.value = first;
  form.to.value = row.owed_months.length ? row.owed_months[row.owed_months.length - 1] : first;
  form.paid_on.value = today();
  form.method.value = "cash";
  form.bank_txn_id.value = form.note.value = "";
  suggestAmount();
  say(document.getElementById("payment-status"), "");
}

function suggestAmount() {
  const form = document.getElementById("payment-form");
  const months = form.from.value && form.to.value ? monthsBetween(form.from.value, form.to.value) : [];
  // a standard changed within the range makes this a guess: the server checks the months' own standards
  form.amount.value = months.length ? yuan(current.amount_fen * months.length) : "";
  document.getElementById("payment-hint").textContent = months.length
    ? `共 ${months.length} 个月，按当前标准每月 ${yuan(current.amount_fen)} 元计。` : "请选择缴费月份。";
}

async function savePayment(event) {
  event.preventDefault();
  const form = event.target;
  const line = document.getElementById("payment-status");
  const months = monthsBetween(form.from.value, form.to.value);
  const amount = fenOf(form.amount.value);
  if (!months.length) return say(line, "结束月份不能早于开始月份。", "error");
  if (!amount) return say(line, "请填写金额（元，最多两位小数）。", "error");
  try {
    const paid = await call("POST", `/v1/members/${encodeURIComponent(current.member_id)}/dues-payments`, {
      months, amount_fen: amount, paid_on: form.paid_on.value, payment_method: form.method.value,
      bank_txn_id: form.bank_txn_id.value.trim(), note: form.note.value.trim(),
    });
    await load();
    status.replaceChildren(`已登记${paid.member_name}缴纳 ${monthsText(paid.months)} 党费 ${yuan(paid.amount_fen)} 元，收据号 `,
      receiptLink(paid), "。");
    status.className = "notice notice-ok";
    status.hidden = false;
  } catch (error) {
    say(line, errorText(error), "error");
  }
}

const { roles } = await boot("dues");
filter.year.value = thisMonth().slice(0, 4);
document.getElementById("standard-category").replaceChildren(
  ...Object.entries(CATEGORY_LABELS).map(([value, label]) => el("option", { value }, label)));
document.getElementById("payment-method").replaceChildren(
  ...Object.entries(METHOD_LABELS).map(([value, label]) => el("option", { value }, label)));
document.getElementById("standard-category").addEventListener("change", showCategoryFields);
document.getElementById("standard-form").addEventListener("submit", saveStandard);
document.getElementById("payment-form").addEventListener("submit", savePayment);
document.getElementById("payment-from").addEventListener("change", suggestAmount);
document.getElementById("payment-to").addEventListener("change", suggestAmount);
document.getElementById("standard-cancel").addEventListener("click", () => { standardPanel.hidden = true; });
document.getElementById("payment-cancel").addEventListener("click", () => { paymentPanel.hidden = true; });
filter.addEventListener("submit", load);
try {
  const branches = await managedBranches(roles);
  filter.branch.replaceChildren(...branches.map(orgOption));
  const rules = await call("GET", "/v1/dues-rules");
  document.getElementById("dues-rules-body").replaceChildren(bracketsText(rules));
  if (branches.length) await load();
  else say(status, "您管理的范围内还没有党支部。", "warn");
} catch (error) {
  say(status, errorText(error), "error");
}
