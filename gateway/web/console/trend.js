// 得分趋势: a branch's monthly scores over a range of months (GET /v1/branches/{id}/trend): a line chart and its
// table twin from the same answer, and its CSV.
import { answerOr, boot, call, query, say } from "/console/shell.js";
import { draw, exportCsv, fillOrgs, monthBefore, resizeCharts, scoreText, subtreeOrgs, twin } from "/console/charts.js";

const form = document.getElementById("filters");
const status = document.getElementById("status");
const main = document.getElementById("main");
let shown = { headers: [], rows: [] };

function stateOf(point) {
  if (!point.held) return "未开展";
  return point.final ? "已结束" : "进行中";
}

async function load() {
  const branch = form.branch.value;
  const from = form.from.value;
  const to = form.to.value;
  history.replaceState(null, "", location.pathname + query({ branch, from, to }));
  say(status, "正在查询…");
  document.getElementById("result").hidden = true;
  const answer = await answerOr(main, status, call("GET", `/v1/branches/${encodeURIComponent(branch)}/trend${query({ month_from: from, month_to: to })}`));
  if (!answer) return;
  say(status, "");
  render(answer);
}

function render(answer) {
  const points = answer.points || [];
  const held = points.filter((point) => point.held);
  const average = held.length ? held.reduce((sum, point) => sum + point.score, 0) / held.length : 0;
  document.getElementById("summary").textContent = held.length
    ? `${answer.branch_name}：${points.length} 个月中开展 ${held.length} 个月，平均得分 ${scoreText(average)}。`
    : `${answer.branch_name}：所选月份没有开展主题党日。`;
  shown = twin(document.getElementById("trend-table"), ["月份", "得分", "开展情况"],
    points.map((point) => [point.month, point.held ? scoreText(point.score) : "—", stateOf(point)]), "trend-rows");
  document.getElementById("result").hidden = false;
  // a month not held has no score (the API's chart says 0): the line leaves a gap there instead of a fall to 0
  const labels = points.map((point) => point.month);
  const values = points.map((point) => (point.held ? point.score : null));
  draw(document.getElementById("trend-chart"), {
    grid: { left: 16, right: 32, top: 32, bottom: 24, containLabel: true },
    tooltip: { trigger: "axis" },
    xAxis: { type: "category", data: labels, boundaryGap: false },
    yAxis: { type: "value", min: 0, max: 100, name: "得分" },
    series: [{
      type: "line", name: "得分", data: values, connectNulls: false, itemStyle: { color: "#c0392b" }, symbolSize: 8,
      label: { show: true, position: "top", formatter: ({ value }) => (value === null ? "" : scoreText(value)) },
    }],
  }, 340);
}

const { roles } = await boot("trend");
const params = new URLSearchParams(location.search);
const { roots, orgs } = await subtreeOrgs(roles, { secretaries: true });
fillOrgs(form.branch, orgs.filter((org) => org.kind === "branch"), roots, params.get("branch") || "");
form.from.value = params.get("from") || monthBefore(11);
form.to.value = params.get("to") || monthBefore(0);
form.addEventListener("submit", (event) => {
  event.preventDefault();
  load();
});
document.getElementById("export-csv").addEventListener("click",
  () => exportCsv(`得分趋势-${form.from.value}至${form.to.value}.csv`, shown));
resizeCharts();
if (form.branch.value) load();
else say(status, "您的管理范围内没有党支部。", "warn");
