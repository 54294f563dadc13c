// 一键抽查: a random sample of a subtree's branches of a month with their score, its breakdown and the evidence
// behind it (POST /v1/orgs/{id}/spot-checks); 重新抽取 draws a new sample. The table is exported as CSV.
import { answerOr, boot, call, localTime, query, say } from "/console/shell.js";
import { exportCsv, fillOrgs, fillPeriods, scoreText, subtreeOrgs, twin } from "/console/charts.js";

const BREAKDOWN = { signin: "签到", like: "点赞", richness: "资料", comments: "心得", rating: "评价" };
const STATUS = { present: "到会", incomplete: "未签退", excused: "请假", mobile: "流动", absent: "缺席" };
const form = document.getElementById("filters");
const status = document.getElementById("status");
const main = document.getElementById("main");
let shown = { headers: [], rows: [] };

function breakdownText(breakdown) {
  return Object.entries(BREAKDOWN).filter(([key]) => breakdown && key in breakdown)
    .map(([key, label]) => `${label} ${scoreText(breakdown[key])}`).join("；");
}

function statusText(counts) {
  return Object.entries(STATUS).filter(([key]) => counts?.[key]).map(([key, label]) => `${label} ${counts[key]}`)
    .join("；") || "—";
}

async function draw() {
  const org = form.org.value;
  const month = form.period.value;
  const size = Number(form.size.value) || 5;
  history.replaceState(null, "", location.pathname + query({ org, month, size }));
  say(status, "正在抽取…");
  document.getElementById("result").hidden = true;
  const answer = await answerOr(main, status, call("POST", `/v1/orgs/${encodeURIComponent(org)}/spot-checks`, { month, sample_size: size }));
  if (!answer) return;
  say(status, "");
  render(answer);
}

function render(answer) {
  const items = answer.items || [];
  document.getElementById("summary").textContent = answer.population
    ? `从 ${answer.population} 个下发了本月主题党日的支部中随机抽取 ${items.length} 个（${answer.month}）。`
    : `${answer.month} 没有下发主题党日的支部可供抽查。`;
  shown = twin(document.getElementById("spot-table"),
    ["支部", "主题", "活动时间", "得分", "得分构成", "人员情况", "照片", "心得字数", "异常签到", "补录", "计划驳回", "未整改"],
    items.map((item) => {
      const score = item.score || {};
      return [score.branch_name || "", item.title || "",
        item.plan?.start_at ? `${localTime(item.plan.start_at)}—${localTime(item.plan.end_at, false)}` : "未填报计划",
        score.held ? scoreText(score.score) : "未开展", score.held ? breakdownText(score.breakdown) : "—",
        statusText(item.status_counts), String(item.photos || 0), String(item.text_chars || 0),
        String((item.flagged_records || []).length), String(item.backfilled || 0), String(item.rejections || 0),
        String((item.rectifications_open || []).length)];
    }),
    "spot-rows");
  document.getElementById("result").hidden = false;
}

const { roles } = await boot("spot-check");
const params = new URLSearchParams(location.search);
const { roots, orgs } = await subtreeOrgs(roles);
fillOrgs(form.org, orgs.filter((org) => !["branch", "group"].includes(org.kind)), roots, params.get("org") || "");
fillPeriods(form.period, "month", params.get("month") || "");
if (params.get("size")) form.size.value = params.get("size");
form.addEventListener("submit", (event) => {
  event.preventDefault();
  draw();
});
document.getElementById("export-csv").addEventListener("click",
  () => exportCsv(`抽查结果-${form.period.value}.csv`, shown));
draw();
