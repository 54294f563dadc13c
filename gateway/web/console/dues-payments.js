// 党费缴纳记录: a subtree's payments, newest first (GET /v1/orgs/{id}/dues-payments), each with its receipt.
import { answerOr, boot, call, el, errorText, query, say, table } from "/console/shell.js";
import { METHOD_LABELS, SOURCE_LABELS, managedBranches, monthsText, orgOption, receiptLink, yuan } from "/console/dues-common.js";

const main = document.getElementById("main");
const status = document.getElementById("payments-status");
const filter = document.getElementById("payments-filter");
const more = document.getElementById("payments-more");
let rows = [];
let token = "";

async function load(event, next = false) {
  event?.preventDefault();
  if (!next) {
    rows = [];
    token = "";
  }
  const answer = await answerOr(main, status, call("GET", `/v1/orgs/${encodeURIComponent(filter.org.value)}/dues-payments`
    + query({ paid_from: filter.paid_from.value, paid_to: filter.paid_to.value, page_size: 100, page_token: token })));
  if (!answer) return;
  rows.push(...answer.payments);
  token = answer.next_page_token;
  more.hidden = !token;
  say(status, rows.length ? `共 ${rows.length} 笔${token ? "（还有更多）" : ""}。` : "没有符合条件的缴费记录。");
  document.getElementById("payments-list").replaceChildren(table(
    ["收据号", "党员", "所在支部", "缴费月份", "金额（元）", "缴费日期", "方式", "来源", "银行流水号"],
    rows.map((p) => [receiptLink(p), p.member_name, p.branch_name, monthsText(p.months), yuan(p.amount_fen), p.paid_on,
      METHOD_LABELS[p.method] || p.method, SOURCE_LABELS[p.source] || p.source, p.bank_txn_id || "—"]),
    { id: "payments-table" }));
}

const { roles } = await boot("dues-payments");
filter.addEventListener("submit", load);
more.addEventListener("click", () => load(null, true));
try {
  const orgs = [...roles.admin.map((grant) => grant.org).filter((org) => org.kind !== "branch")];
  for (const branch of await managedBranches(roles)) if (!orgs.some((org) => org.id === branch.id)) orgs.push(branch);
  filter.org.replaceChildren(...orgs.map(orgOption));
  if (orgs.length) await load();
} catch (error) {
  say(status, errorText(error), "error");
}
