// 志愿统计: a subtree's volunteer service over a period (GET /v1/orgs/{org}/volunteer-statistics?since=&until=):
// orders by status and category, the time to dispatch, claim and completion, the hours, the citizens' ratings;
// the hours ranking by member, branch or community (GET .../volunteer-hours-ranking?by=) and the API's XLSX
// (GET .../volunteer-statistics:export?download=1).
import { boot, call, el, errorText, isDenied, query, say, showDenied, table } from "/console/shell.js";
import { ORDER_STATUSES, STATUS_LABELS, chinaDate, categories, keepInAddress, orgChoices } from "/console/volunteer-common.js";

const main = document.getElementById("main");
const form = document.getElementById("stat-filters");
const status = document.getElementById("status");
const rankingBy = document.getElementById("ranking-by");
let categoryLabels = {};

const number = (value, digits = 1) => (value === null || value === undefined || Number.isNaN(Number(value)) ? "—" : Number(value).toFixed(digits));

/** {key: count} or [{key|status|category|code, label, count}] -> [[key, label, count]] */
function pairs(counts, labels, keyName) {
  if (Array.isArray(counts)) {
    return counts.map((row) => {
      const key = row[keyName] ?? row.key ?? row.code;
      return [key, row.label || labels[key] || key, row.count ?? 0];
    });
  }
  return Object.entries(counts || {}).map(([key, count]) => [key, labels[key] || key, count]);
}

function stat(id, value, label) {
  return el("div", { class: "stat" }, el("b", { id }, String(value)), label);
}

function draw(statistics) {
  window.volunteerStatistics = statistics;       // the page's data, for whoever checks it against the API
  // the lifecycle's order, as the managers know it
  const rank = (key) => { const at = ORDER_STATUSES.findIndex(([status]) => status === key); return at < 0 ? 99 : at; };
  const byStatus = pairs(statistics.orders_by_status, STATUS_LABELS, "status").sort((a, b) => rank(a[0]) - rank(b[0]));
  const byCategory = pairs(statistics.orders_by_category, categoryLabels, "category");
  const total = byStatus.reduce((sum, [, , count]) => sum + Number(count || 0), 0);
  const ratings = statistics.ratings || {};
  document.getElementById("stat-figures").replaceChildren(
    stat("stat-orders", total, "订单总数"),
    stat("stat-hours", number(statistics.hours_total, 2), "志愿服务时长（小时）"),
    stat("stat-rating", ratings.count ? number(ratings.average, 2) : "—", `平均评分（${ratings.count || 0} 条评价）`),
    stat("stat-overdue", statistics.overdue ?? 0, "超时未审核"));
  document.getElementById("by-status").replaceChildren(byStatus.length
    ? table(["状态", "订单数"], byStatus.map(([, label, count]) => [label, String(count)]), { id: "status-table" })
    : el("p", { class: "muted" }, "所选期间没有订单。"));
  document.getElementById("by-category").replaceChildren(byCategory.length
    ? table(["类别", "订单数"], byCategory.map(([, label, count]) => [label, String(count)]), { id: "category-table" })
    : el("p", { class: "muted" }, "所选期间没有订单。"));
  const span = (figures) => figures || {};
  document.getElementById("durations").replaceChildren(table(["环节", "中位数", "90% 在此之内"], [
    ["点单到派单", number(span(statistics.minutes_to_dispatch).median, 0), number(span(statistics.minutes_to_dispatch).p90, 0)],
    ["点单到接单", number(span(statistics.minutes_to_claim).median, 0), number(span(statistics.minutes_to_claim).p90, 0)],
    ["点单到完成", number(span(statistics.minutes_to_completion).median, 0), number(span(statistics.minutes_to_completion).p90, 0)],
  ], { id: "durations-table" }));
  const stars = pairs(ratings.by_stars, {}, "stars");
  document.getElementById("ratings").replaceChildren(ratings.count
    ? table(["评分", "条数"], stars.map(([key, , count]) => [`${key} 星`, String(count)]), { id: "ratings-table" })
    : el("p", { class: "muted" }, "所选期间还没有群众评价。"));
}

async function loadRanking() {
  const org = form.org.value;
  const box = document.getElementById("ranking");
  try {
    const answer = await call("GET", `/v1/orgs/${encodeURIComponent(org)}/volunteer-hours-ranking` + query({
      by: rankingBy.value, since: form.since.value, until: form.until.value, limit: 50 }));
    const rows = answer.rows || [];
    box.replaceChildren(rows.length
      ? table(["名次", { member: "党员", branch: "支部", community: "社区" }[rankingBy.value], "时长（小时）"],
          rows.map((row) => [String(row.rank), row.name, number(row.hours, 2)]), { id: "ranking-table" })
      : el("p", { class: "muted", id: "ranking-table" }, "所选期间还没有计入的志愿时长。"));
  } catch (error) {
    box.replaceChildren(el("p", { class: "muted" }, errorText(error)));
  }
}

async function load() {
  const params = { org: form.org.value, since: form.since.value, until: form.until.value };
  keepInAddress({ ...params, by: rankingBy.value });
  say(status, "正在查询…");
  document.getElementById("stat-result").hidden = true;
  const base = `/v1/orgs/${encodeURIComponent(params.org)}/volunteer-statistics`;
  let statistics;
  try {
    statistics = await call("GET", base + query({ since: params.since, until: params.until }));
  } catch (error) {
    if (isDenied(error)) return showDenied(main, error);
    return say(status, errorText(error), "error");
  }
  say(status, "");
  draw(statistics);
  document.getElementById("export-xlsx").href = `${base}:export${query({ since: params.since, until: params.until, download: 1 })}`;
  document.getElementById("stat-result").hidden = false;
  await loadRanking();
}

const { roles } = await boot("volunteer-statistics");
const params = new URLSearchParams(location.search);
const now = new Date();
form.since.value = params.get("since") || chinaDate(new Date(now.getFullYear(), 0, 1, 12));
form.until.value = params.get("until") || chinaDate(now);
rankingBy.value = params.get("by") || "member";
categoryLabels = Object.fromEntries((await categories()).map((cat) => [cat.code, cat.label]));
await orgChoices(form.org, roles, params.get("org") || "");
form.addEventListener("submit", (event) => {
  event.preventDefault();
  load();
});
rankingBy.addEventListener("change", () => {
  keepInAddress({ org: form.org.value, since: form.since.value, until: form.until.value, by: rankingBy.value });
  loadRanking();
});
load();
