// 组织对比: the branch scores of several organisations of the caller's scope for a period (POST /v1/scores:compare):
// a bar chart of the averages (organisations with data only, as the API draws it) and its table twin, where an
// organisation without a scored branch shows 暂无数据; and its CSV.
import { answerOr, boot, call, el, query, say } from "/console/shell.js";
import {
  draw, exportCsv, fillPeriods, orgLabel, periodKind, resizeCharts, scoreText, subtreeOrgs, twin,
} from "/console/charts.js";

const form = document.getElementById("filters");
const status = document.getElementById("status");
const main = document.getElementById("main");
const kindSelect = document.getElementById("period-kind");
let shown = { headers: [], rows: [] };

// the organisations in the order they were chosen (first the address's), so the table keeps the user's order
let picked = [];

function chosen() {
  const checked = new Set([...document.querySelectorAll("#org-choices input:checked")].map((box) => box.value));
  picked = [...picked.filter((id) => checked.has(id)), ...[...checked].filter((id) => !picked.includes(id))];
  return picked;
}

async function load() {
  const orgIds = chosen();
  const period = form.period.value;
  history.replaceState(null, "", location.pathname + query({ orgs: orgIds.join(","), period }));
  if (!orgIds.length) return say(status, "请至少选择一个组织。", "warn");
  if (orgIds.length > 50) return say(status, "一次最多对比 50 个组织。", "warn");
  say(status, "正在查询…");
  document.getElementById("result").hidden = true;
  const answer = await answerOr(main, status, call("POST", "/v1/scores:compare", { org_ids: orgIds, period }));
  if (!answer) return;
  say(status, "");
  render(answer);
}

function render(answer) {
  const items = answer.items || [];
  const withData = items.filter((item) => !item.no_data);
  document.getElementById("summary").textContent =
    `对比 ${items.length} 个组织：${withData.length} 个有已开展支部的得分，${items.length - withData.length} 个暂无数据。`;
  const none = "暂无数据";
  shown = twin(document.getElementById("compare-table"),
    ["组织", "已开展支部数", "未开展支部数", "平均分", "最高分", "最低分"],
    items.map((item) => [item.name, String(item.branches || 0), String(item.not_held || 0),
      item.no_data ? none : scoreText(item.average), item.no_data ? none : scoreText(item.best),
      item.no_data ? none : scoreText(item.worst)]),
    "compare-rows");
  document.getElementById("result").hidden = false;
  draw(document.getElementById("compare-chart"), {
    grid: { left: 16, right: 24, top: 32, bottom: 24, containLabel: true },
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
    xAxis: { type: "category", data: answer.chart?.labels || [], axisLabel: { interval: 0, width: 120, overflow: "truncate" } },
    yAxis: { type: "value", min: 0, max: 100, name: "平均分" },
    series: [{
      type: "bar", name: "平均分", data: answer.chart?.values || [], barMaxWidth: 40, itemStyle: { color: "#c0392b" },
      label: { show: true, position: "top", formatter: ({ value }) => scoreText(value) },
    }],
  }, 340);
}

const { roles } = await boot("compare");
const params = new URLSearchParams(location.search);
const wanted = (params.get("orgs") || "").split(",").filter(Boolean);
const { roots, orgs } = await subtreeOrgs(roles);
const choices = orgs.filter((org) => org.kind !== "group");
// organisations named in the address but not among the caller's stay chosen: the API decides, and refuses them
for (const id of wanted) if (!choices.some((org) => org.id === id)) choices.unshift({ id, name: id, kind: "", level: 0 });
document.getElementById("org-choices").replaceChildren(...choices.map((org) => el("label", { class: "check" },
  el("input", { type: "checkbox", name: "org_ids", value: org.id, checked: wanted.includes(org.id) ? "" : null }),
  orgLabel(org, roots).trim())));
picked = [...wanted];
document.getElementById("org-choices").addEventListener("change", ({ target }) => {
  if (target.checked && !picked.includes(target.value)) picked.push(target.value);
});
const period = params.get("period") || "";
kindSelect.value = periodKind(period) || "month";
fillPeriods(form.period, kindSelect.value, period);
kindSelect.addEventListener("change", () => fillPeriods(form.period, kindSelect.value, ""));
form.addEventListener("submit", (event) => {
  event.preventDefault();
  load();
});
document.getElementById("export-csv").addEventListener("click",
  () => exportCsv(`组织对比-${form.period.value}.csv`, shown));
resizeCharts();
if (wanted.length) load();
else say(status, "请选择要对比的组织，然后点击“对比”。");
