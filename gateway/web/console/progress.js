// 开展进度: how far the branches of a subtree got with the month's themed day (GET /v1/orgs/{id}/progress), overall
// or by field or category: a bar chart of the stages and its table twin, drawn from the same answer, and its CSV.
import { FIELD_LABELS, answerOr, boot, call, query, say } from "/console/shell.js";
import {
  CATEGORY_LABELS, STAGE_LABELS, draw, exportCsv, fillOrgs, fillPeriods, resizeCharts, subtreeOrgs, twin,
} from "/console/charts.js";

const form = document.getElementById("filters");
const status = document.getElementById("status");
const main = document.getElementById("main");
let shown = { headers: [], rows: [] };

function groupLabel(groupBy, group) {
  if (!groupBy) return "全部";
  const labels = groupBy === "field" ? FIELD_LABELS : CATEGORY_LABELS;
  return labels[group] || group || "未分类";
}

function percent(share) {
  return `${(Number(share || 0) * 100).toFixed(1)}%`;
}

async function load() {
  const org = form.org.value;
  const period = form.period.value;
  const groupBy = form.group_by.value;
  history.replaceState(null, "", location.pathname + query({ org, period, group_by: groupBy }));
  say(status, "正在查询…");
  document.getElementById("result").hidden = true;
  const answer = await answerOr(main, status, call("GET", `/v1/orgs/${encodeURIComponent(org)}/progress${query({ period, group_by: groupBy })}`));
  if (!answer) return;
  say(status, "");
  render(answer, groupBy);
}

function render(answer, groupBy) {
  const stages = answer.stages || [];
  const groups = answer.groups || [];
  const labels = groups.map((group) => groupLabel(groupBy, group.group));
  const countOf = (group, stage) => (group.stages || []).find((item) => item.stage === stage) || { count: 0, share: 0 };
  const total = groups.reduce((sum, group) => sum + (group.branches || 0), 0);
  document.getElementById("summary").textContent = total
    ? `共 ${total} 个支部下发了本期主题党日。`
    : "本期没有下发主题党日的支部。";
  shown = twin(document.getElementById("progress-table"),
    ["分组", "支部数", ...stages.map((stage) => STAGE_LABELS[stage] || stage)],
    groups.map((group, index) => [labels[index], String(group.branches || 0),
      ...stages.map((stage) => `${countOf(group, stage).count || 0}（${percent(countOf(group, stage).share)}）`)]),
    "progress-rows");
  document.getElementById("result").hidden = false;
  // stages are cumulative (a closed day also counts as held, approved ...): one bar per stage, side by side,
  // so that every bar is the API's count and no branch is summed twice
  draw(document.getElementById("progress-chart"), {
    grid: { left: 16, right: 24, top: 40, bottom: 24, containLabel: true },
    legend: { top: 0, data: stages.map((stage) => STAGE_LABELS[stage] || stage) },
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
    xAxis: { type: "category", data: labels },
    yAxis: { type: "value", name: "支部数", minInterval: 1 },
    series: stages.map((stage) => ({
      type: "bar", name: STAGE_LABELS[stage] || stage, data: groups.map((group) => countOf(group, stage).count || 0),
      barMaxWidth: 28, label: { show: true, position: "top" },
    })),
  }, 360);
}

const { roles } = await boot("progress");
const params = new URLSearchParams(location.search);
const { roots, orgs } = await subtreeOrgs(roles);
fillOrgs(form.org, orgs.filter((org) => !["branch", "group"].includes(org.kind)), roots, params.get("org") || "");
fillPeriods(form.period, "month", params.get("period") || "");
form.group_by.value = params.get("group_by") || "";
form.addEventListener("submit", (event) => {
  event.preventDefault();
  load();
});
document.getElementById("export-csv").addEventListener("click",
  () => exportCsv(`开展进度-${form.period.value}.csv`, shown));
resizeCharts();
load();
