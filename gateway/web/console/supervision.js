// 督导通报: the month's supervision list (GET /v1/orgs/{id}/supervision), the quarter's bulletin with its best and
// weakest branches (GET .../bulletin) and the downloads of the three XLSX reports (GET .../reports/{kind}?download=1:
// 督导清单, 季度通报, 年度考核). The supervision table is also exported as CSV.
import { FIELD_LABELS, answerOr, boot, call, query, say, table } from "/console/shell.js";
import { exportCsv, fillOrgs, fillPeriods, scoreText, subtreeOrgs, twin } from "/console/charts.js";

const REASONS = {
  NOT_HELD: "未按期开展", LATE: "未按期计划或结束", LOW_SCORE: "得分低于60分", MANY_FLAGS: "异常签到较多",
  RECTIFICATION_OPEN: "整改未完成",
};
const form = document.getElementById("filters");
const status = document.getElementById("status");
const main = document.getElementById("main");
let shown = { headers: [], rows: [] };

function reportHref(org, kind, period) {
  return `/v1/orgs/${encodeURIComponent(org)}/reports/${kind}${query({ period, download: 1 })}`;
}

function rankedTable(rows, id) {
  if (!rows.length) return table(["排名", "支部", "领域", "得分"], [["—", "暂无数据", "", ""]], { id });
  return table(["排名", "支部", "领域", "得分"],
    rows.map((row) => [String(row.rank), row.branch_name, FIELD_LABELS[row.field] || "", scoreText(row.score)]), { id });
}

async function load() {
  const org = form.org.value;
  const month = form.month.value;
  const quarter = form.quarter.value;
  const year = form.year.value;
  history.replaceState(null, "", location.pathname + query({ org, month, quarter, year }));
  say(status, "正在查询…");
  document.getElementById("result").hidden = true;
  const base = `/v1/orgs/${encodeURIComponent(org)}`;
  const both = await answerOr(main, status, Promise.all([
    call("GET", `${base}/supervision${query({ month })}`), call("GET", `${base}/bulletin${query({ quarter })}`)]));
  if (!both) return;
  const [supervision, bulletin] = both;
  say(status, "");
  const items = supervision.items || [];
  document.getElementById("supervision-summary").textContent = items.length
    ? `${supervision.month} 共 ${items.length} 个支部需要督导（得分低的在前）。`
    : `${supervision.month} 没有需要督导的支部。`;
  shown = twin(document.getElementById("supervision-table"), ["支部", "领域", "得分", "督导原因", "异常签到"],
    items.map((item) => [item.branch_name, FIELD_LABELS[item.field] || "", item.held ? scoreText(item.score) : "未开展",
      (item.reasons || []).map((reason) => REASONS[reason] || reason).join("、"), String(item.flags || 0)]),
    "supervision-rows");
  document.getElementById("download-supervision").href = reportHref(org, "supervision", month);

  document.getElementById("bulletin-summary").textContent = bulletin.branches
    ? `${bulletin.quarter}：${bulletin.branches} 个支部有得分，平均 ${scoreText(bulletin.average)} 分；`
      + `${bulletin.not_held || 0} 个支部未开展，不列入通报。`
    : `${bulletin.quarter}：暂无已开展支部的得分；${bulletin.not_held || 0} 个支部未开展。`;
  document.getElementById("bulletin-best").replaceChildren(rankedTable(bulletin.best || [], "bulletin-best-rows"));
  document.getElementById("bulletin-weakest").replaceChildren(
    (bulletin.weakest || []).length ? rankedTable(bulletin.weakest, "bulletin-weakest-rows")
      : table(["说明"], [["有得分的支部超过 20 个时才列出较弱的支部。"]], { id: "bulletin-weakest-rows" }));
  document.getElementById("download-bulletin").href = reportHref(org, "bulletin", quarter);
  document.getElementById("download-assessment").href = reportHref(org, "assessment", year);
  document.getElementById("result").hidden = false;
}

const { roles } = await boot("supervision");
const params = new URLSearchParams(location.search);
const { roots, orgs } = await subtreeOrgs(roles);
fillOrgs(form.org, orgs.filter((org) => !["branch", "group"].includes(org.kind)), roots, params.get("org") || "");
fillPeriods(form.month, "month", params.get("month") || "");
fillPeriods(form.quarter, "quarter", params.get("quarter") || "");
fillPeriods(form.year, "year", params.get("year") || "");
form.addEventListener("submit", (event) => {
  event.preventDefault();
  load();
});
document.getElementById("export-supervision").addEventListener("click",
  () => exportCsv(`督导清单-${form.month.value}.csv`, shown));
load();
