// 支部排名: the branches of a subtree ranked for a month, quarter or year (GET /v1/orgs/{id}/ranking), as an
// ECharts bar chart and its table twin built from the same rows, with a CSV of the table and the XLSX report.
import {
  FIELD_LABELS, allPages, boot, call, csvField, downloadText, el, errorText, isDenied, query, say,
  showDenied, table,
} from "/console/shell.js";
import {
  REPORT_KINDS as REPORTS, fillOrgs, fillPeriods as fillPeriodsOf, periodKind, scoreText, subtreeOrgs,
} from "/console/charts.js";

const form = document.getElementById("ranking-filters");
const status = document.getElementById("ranking-status");
const kindSelect = document.getElementById("period-kind");
const main = document.getElementById("main");
let chart = null;
let current = { rows: [] };

function fillPeriods(kind, chosen) {
  fillPeriodsOf(form.period, kind, chosen);
}

function state() {
  return { org: form.org.value, period: form.period.value, field: form.field.value };
}

async function load() {
  const { org, period, field } = state();
  history.replaceState(null, "", location.pathname + query({ org, period, field }));
  say(status, "正在查询…");
  document.getElementById("ranking-result").hidden = true;
  let rows;
  try {
    rows = await allPages(`/v1/orgs/${encodeURIComponent(org)}/ranking`, { period, field, page_size: 500 }, "rows");
  } catch (error) {
    if (isDenied(error)) {
      showDenied(main, error);
      return;
    }
    say(status, errorText(error), "error");
    return;
  }
  say(status, "");
  render(rows, org, period);
}

function render(rows, org, period) {
  const scored = rows.filter((row) => row.held);
  current = {
    rows,
    chart: { labels: scored.map((row) => row.branch_name), values: scored.map((row) => row.score) },
  };
  // the page's data, for whoever checks the chart against its table (tests, accessibility tools)
  window.consoleRanking = current;
  const notHeld = rows.length - scored.length;
  document.getElementById("ranking-summary").textContent =
    `共 ${rows.length} 个支部：已开展 ${scored.length} 个，未开展 ${notHeld} 个。未开展的支部不参加排名。`;
  const [kind, label] = REPORTS[periodKind(period)] || REPORTS.month;
  const xlsx = document.getElementById("export-xlsx");
  xlsx.href = `/v1/orgs/${encodeURIComponent(org)}/reports/${kind}${query({ period, download: 1 })}`;
  xlsx.textContent = `下载${label}（XLSX）`;

  document.getElementById("ranking-table").replaceChildren(table(
    ["排名", "支部", "领域", "得分", "开展情况", "较上期"],
    rows.map((row) => [
      row.held ? String(row.rank) : "—",
      row.branch_name,
      FIELD_LABELS[row.field] || "",
      row.held ? scoreText(row.score) : "—",
      row.held ? (row.final ? "已开展" : "已开展（进行中）") : "未开展",
      row.held && row.previous_rank ? (row.rank_change > 0 ? `上升 ${row.rank_change}` :
        row.rank_change < 0 ? `下降 ${-row.rank_change}` : "持平") : "—",
    ]),
    { id: "ranking-rows" }));

  const result = document.getElementById("ranking-result");
  result.hidden = false;
  const box = document.getElementById("ranking-chart");
  box.style.height = `${Math.max(240, scored.length * 28 + 80)}px`;
  if (!chart) chart = window.echarts.init(box, null, { renderer: "canvas" });
  chart.resize();
  chart.setOption({
    animation: false,
    grid: { left: 16, right: 56, top: 16, bottom: 24, containLabel: true },
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
    xAxis: { type: "value", min: 0, max: 100, name: "得分" },
    yAxis: { type: "category", inverse: true, data: current.chart.labels, axisLabel: { width: 200, overflow: "truncate" } },
    series: [{
      type: "bar", name: "得分", data: current.chart.values, barMaxWidth: 22, itemStyle: { color: "#c0392b" },
      label: { show: true, position: "right", formatter: ({ value }) => scoreText(value) },
    }],
  }, true);
}

function exportCsv() {
  const lines = [["排名", "支部", "领域", "得分", "开展情况"].join(",")];
  for (const row of current.rows) {
    lines.push([row.held ? row.rank : "", row.branch_name, FIELD_LABELS[row.field] || "",
      row.held ? scoreText(row.score) : "", row.held ? "已开展" : "未开展"].map(csvField).join(","));
  }
  downloadText(`支部排名-${form.period.value}.csv`, `${lines.join("\r\n")}\r\n`);
}

async function orgChoices(roles, wanted) {
  const { roots, orgs } = await subtreeOrgs(roles);
  fillOrgs(form.org, orgs.filter((org) => !["branch", "group"].includes(org.kind)), roots, wanted);
}

const { roles } = await boot("ranking");
const params = new URLSearchParams(location.search);
for (const [value, label] of Object.entries(FIELD_LABELS)) form.field.append(el("option", { value }, label));
form.field.value = params.get("field") || "";
const wantedPeriod = params.get("period") || "";
kindSelect.value = periodKind(wantedPeriod) || "month";
fillPeriods(kindSelect.value, wantedPeriod);
await orgChoices(roles, params.get("org") || "");
kindSelect.addEventListener("change", () => fillPeriods(kindSelect.value, ""));
form.addEventListener("submit", (event) => {
  event.preventDefault();
  load();
});
document.getElementById("export-csv").addEventListener("click", exportCsv);
window.addEventListener("resize", () => chart?.resize());
load();
