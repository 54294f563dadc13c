// 党费收缴统计: an organisation's totals of a month and its children's (GET /v1/orgs/{id}/dues-totals), drilling
// down by a click; the months' totals as Excel (GET /v1/orgs/{id}/dues-totals.xlsx?download=1).
import { KIND_LABELS, answerOr, boot, call, el, errorText, query, say, table } from "/console/shell.js";
import { orgOption, thisMonth, yuan } from "/console/dues-common.js";

const main = document.getElementById("main");
const status = document.getElementById("totals-status");
const filter = document.getElementById("totals-filter");
const exportForm = document.getElementById("totals-export");

function rate(row) {
  if (!row.members_with_standard) return "—";
  return `${Math.min(100, Math.round((row.paid_members * 100) / row.members_with_standard))}%`;
}

function exportLink() {
  const from = exportForm.month_from.value;
  const to = exportForm.month_to.value || from;
  document.getElementById("totals-xlsx").href = `/v1/orgs/${encodeURIComponent(filter.org.value)}/dues-totals.xlsx`
    + query({ month_from: from, month_to: to, download: 1 });
}

async function load(event) {
  event?.preventDefault();
  exportLink();
  const answer = await answerOr(main, status, call("GET", `/v1/orgs/${encodeURIComponent(filter.org.value)}/dues-totals`
    + query({ month: filter.month.value })));
  if (!answer) return;
  const total = answer.total;
  say(status, `${total.name} ${answer.month}：实缴 ${yuan(total.paid_fen)} 元，缴费 ${total.paid_members} 人次；`
    + `${total.members_with_standard} 名党员已核定标准，每月应缴合计 ${yuan(total.standard_fen)} 元。`);
  const rows = [total, ...answer.children];
  document.getElementById("totals-table").replaceChildren(table(
    ["组织", "类型", "实缴金额（元）", "缴费人次", "应缴标准合计（元）", "已核定人数", "缴费人次/核定人数"],
    rows.map((row, index) => [
      index === 0 || row.kind === "branch" ? row.name
        : el("button", { type: "button", class: "link-button", onclick: () => drill(row) }, row.name),
      KIND_LABELS[row.kind] || row.kind, yuan(row.paid_fen), String(row.paid_members), yuan(row.standard_fen),
      String(row.members_with_standard), rate(row),
    ]), { id: "totals-table-body" }));
}

function drill(row) {
  if (![...filter.org.options].some((option) => option.value === row.org_id)) {
    filter.org.append(orgOption({ id: row.org_id, name: row.name }));
  }
  filter.org.value = row.org_id;
  load();
}

const { roles } = await boot("dues-totals");
const month = thisMonth();
filter.month.value = exportForm.month_to.value = month;
exportForm.month_from.value = `${month.slice(0, 4)}-01`;
filter.addEventListener("submit", load);
exportForm.addEventListener("change", exportLink);
try {
  const orgs = [...roles.admin, ...roles.secretary].map((grant) => grant.org);
  filter.org.replaceChildren(...orgs.map(orgOption));
  if (orgs.length) await load();
} catch (error) {
  say(status, errorText(error), "error");
}
