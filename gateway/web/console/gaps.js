// 学习短板: a branch's gap report (GET /v1/branches/{id}/gap-report?month=) for its secretary and the admins above:
// the quiz categories weakest first with their correct rates (a bar chart and its table twin from the same
// answer, and its CSV), and for each learning package pushed to the branch in the month, the members who have not
// studied every item (with their CSV). The figures are for helping members catch up, not for ranking them.
import { answerOr, boot, call, el, query, say } from "/console/shell.js";
import { draw, exportCsv, fillOrgs, monthBefore, resizeCharts, subtreeOrgs, twin } from "/console/charts.js";

const form = document.getElementById("filters");
const status = document.getElementById("status");
const main = document.getElementById("main");
let categoriesShown = { headers: [], rows: [] };
let behindShown = { headers: [], rows: [] };

async function load() {
  const branch = form.branch.value;
  const month = form.month.value;
  history.replaceState(null, "", location.pathname + query({ branch, month }));
  say(status, "正在查询…");
  document.getElementById("result").hidden = true;
  const report = await answerOr(main, status,
    call("GET", `/v1/branches/${encodeURIComponent(branch)}/gap-report${query({ month })}`));
  if (!report) return;
  say(status, "");
  render(report);
}

function render(report) {
  const categories = report.categories || [];
  const weakest = report.weakest || [];
  const packages = report.packages || [];
  const behind = packages.reduce((sum, p) => sum + (p.behind_count || 0), 0);
  document.getElementById("summary").textContent = [
    `${report.branch_name} · ${report.month}`,
    weakest.length ? `薄弱类别：${weakest.map((row) => `${row.category}（正确率 ${row.percent}%）`).join("、")}`
      : categories.length ? "暂无薄弱类别" : "本支部党员尚未答题",
    packages.length ? `本月学习套餐 ${packages.length} 个，未完成 ${behind} 人次` : "本月没有下发学习套餐",
  ].join("；") + "。";
  document.getElementById("rule").textContent =
    `某类别答题满 ${report.min_answers} 道且正确率低于 ${report.gap_percent}% 时列为薄弱类别。`;
  categoriesShown = twin(document.getElementById("categories-table"),
    ["类别", "答题数", "答对数", "正确率", "是否薄弱", "答题人数", "该类别薄弱的党员数"],
    categories.map((row) => [row.category, String(row.answered), String(row.correct), `${row.percent}%`,
      row.gap ? "薄弱" : "—", String(row.members), String(row.members_with_gap)]), "category-rows");
  behindShown = { headers: ["学习套餐", "截止日期", "党员", "已学", "共计"], rows: [] };
  document.getElementById("packages").replaceChildren(...(packages.length ? packages.map((p) => {
    const rows = (p.members_behind || []).map((m) => [m.name, `${m.studied_count}`, `${m.item_count}`]);
    behindShown.rows.push(...rows.map((row) => [p.title, p.due_on, ...row]));
    return el("section", { class: "card", "data-package": p.package_id },
      el("h3", {}, `${p.title}（截止 ${p.due_on}，共 ${p.item_count} 项）`),
      rows.length
        ? el("div", {}, el("p", { class: "muted small" }, `未完成 ${p.behind_count} 人：`),
          behindTable(rows, p.package_id))
        : el("p", { class: "notice notice-ok" }, "全部党员已完成。"));
  }) : [el("p", { class: "muted", id: "no-packages" }, "本月没有下发到本支部的学习套餐。")]));
  document.getElementById("result").hidden = false;
  draw(document.getElementById("rates-chart"), {
    grid: { left: 16, right: 32, top: 32, bottom: 24, containLabel: true },
    tooltip: { trigger: "axis" },
    xAxis: { type: "category", data: categories.map((row) => row.category) },
    yAxis: { type: "value", min: 0, max: 100, name: "正确率（%）" },
    series: [{
      type: "bar", name: "正确率", barMaxWidth: 64, data: categories.map((row) => ({
        value: row.percent, itemStyle: { color: row.gap ? "#c0392b" : "#7f8c8d" } })),
      label: { show: true, position: "top", formatter: ({ value }) => `${value}%` },
      markLine: { silent: true, symbol: "none", data: [{ yAxis: report.gap_percent, name: "薄弱线" }] },
    }],
  }, 320);
}

function behindTable(rows, packageId) {
  const holder = el("div");
  twin(holder, ["党员", "已学", "共计"], rows, `behind-${packageId}`);
  return holder;
}

const { roles } = await boot("gaps");
const params = new URLSearchParams(location.search);
const { roots, orgs } = await subtreeOrgs(roles, { secretaries: true });
fillOrgs(form.branch, orgs.filter((org) => org.kind === "branch"), roots, params.get("branch") || "");
form.month.value = params.get("month") || monthBefore(0);
form.addEventListener("submit", (event) => {
  event.preventDefault();
  load();
});
document.getElementById("export-categories").addEventListener("click",
  () => exportCsv(`学习短板-${form.month.value}.csv`, categoriesShown));
document.getElementById("export-behind").addEventListener("click",
  () => exportCsv(`学习套餐未完成名单-${form.month.value}.csv`, behindShown));
resizeCharts();
if (form.branch.value) load();
else say(status, "您的管理范围内没有党支部。", "warn");
