// 考勤统计: a subtree's attendance over a month range, by branch and by member (GET
// /v1/orgs/{id}/attendance-statistics?by=), with CSVs of both tables and the API's XLSX (?download=1).
import {
  KIND_LABELS, allPages, boot, call, csvField, downloadText, el, errorText, isDenied, query, say, showDenied, table,
} from "/console/shell.js";

const form = document.getElementById("statistics-filters");
const status = document.getElementById("statistics-status");
const main = document.getElementById("main");
const FIGURES = [["present", "出席"], ["incomplete", "未签退"], ["excused", "请假"], ["absent", "缺席"],
  ["mobile", "流动党员（线上）"]];
const BRANCH_HEADERS = ["支部", "活动次数", "已结束", "应参加人数", "应到现场", ...FIGURES.map(([, label]) => label), "出勤率"];
const MEMBER_HEADERS = ["党员", "所在支部", "参加活动数", ...FIGURES.map(([, label]) => label), "出勤率"];
let current = { branches: [], members: [] };

export function rateText(rate) {
  return rate === null || rate === undefined ? "—" : `${(Number(rate) * 100).toFixed(1)}%`;
}

const branchCells = (row) => [row.branch_name, row.activities, row.closed, row.roster, row.on_site_expected,
  ...FIGURES.map(([key]) => row[key]), rateText(row.attendance_rate)].map((value) => String(value ?? ""));
const memberCells = (row) => [row.member_name || row.member_id, row.branch_name, row.activities,
  ...FIGURES.map(([key]) => row[key]), rateText(row.attendance_rate)].map((value) => String(value ?? ""));

function thisMonth() {
  const now = new Date();
  return `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, "0")}`;
}

async function load() {
  const org = form.org.value;
  const range = { month_from: form.month_from.value, month_to: form.month_to.value };
  history.replaceState(null, "", location.pathname + query({ org, ...range }));
  say(status, "正在查询…");
  document.getElementById("statistics-result").hidden = true;
  const base = `/v1/orgs/${encodeURIComponent(org)}/attendance-statistics`;
  let branches, members;
  try {
    [branches, members] = await Promise.all(["branch", "member"].map((by) => call("GET", base + query({ ...range, by }))));
  } catch (error) {
    if (isDenied(error)) {
      showDenied(main, error);
      return;
    }
    say(status, errorText(error), "error");
    return;
  }
  say(status, "");
  current = { branches: branches.rows || [], members: members.rows || [], range };
  window.consoleStatistics = current;     // the page's data, for whoever checks the tables against the API
  const total = (key) => current.branches.reduce((sum, row) => sum + Number(row[key] || 0), 0);
  const expected = total("present") + total("incomplete") + total("absent");
  document.getElementById("statistics-summary").textContent =
    `${range.month_from} 至 ${range.month_to}：${current.branches.length} 个支部开展 ${total("activities")} 次活动` +
    `（已结束 ${total("closed")} 次），出席 ${total("present")} 人次，请假 ${total("excused")} 人次，` +
    `缺席 ${total("absent")} 人次，出勤率 ${rateText(expected ? total("present") / expected : null)}。`;
  document.getElementById("export-xlsx").href = `${base}.xlsx${query({ ...range, download: 1 })}`;
  document.getElementById("branch-statistics").replaceChildren(current.branches.length
    ? table(BRANCH_HEADERS, current.branches.map(branchCells), { id: "branch-table" })
    : el("p", { class: "muted" }, "所选月份没有主题党日活动。"));
  document.getElementById("member-statistics").replaceChildren(current.members.length
    ? table(MEMBER_HEADERS, current.members.map(memberCells), { id: "member-table" })
    : el("p", { class: "muted" }, "所选月份没有已结束的活动。"));
  document.getElementById("statistics-result").hidden = false;
}

function exportCsv(headers, rows, cells, name) {
  const lines = [headers.map(csvField).join(","), ...rows.map((row) => cells(row).map(csvField).join(","))];
  downloadText(`考勤统计-${name}-${current.range.month_from}-${current.range.month_to}.csv`, `${lines.join("\r\n")}\r\n`);
}

async function orgChoices(roles, wanted) {
  const choices = [];
  for (const grant of roles.admin) {
    try {
      const orgs = await allPages(`/v1/orgs/${encodeURIComponent(grant.org.id)}/subtree`, { page_size: 500 }, "orgs", 5);
      choices.push(...orgs.filter((org) => org.kind !== "group"));
    } catch (error) {
      choices.push(grant.org);
    }
  }
  for (const grant of roles.secretary) if (!choices.some((org) => org.id === grant.org.id)) choices.push(grant.org);
  const top = choices[0]?.level || 0;
  const options = choices.map((org) => el("option", { value: org.id },
    `${"　".repeat(Math.max(0, (org.level || 0) - top))}${org.name}（${KIND_LABELS[org.kind] || ""}）`));
  // an organisation named in the address but not among the caller's: the API decides (and refuses it)
  if (wanted && !choices.some((org) => org.id === wanted)) options.unshift(el("option", { value: wanted }, wanted));
  form.org.replaceChildren(...options);
  form.org.value = wanted || choices[0]?.id || "";
}

const { roles } = await boot("statistics");
const params = new URLSearchParams(location.search);
form.month_from.value = params.get("month_from") || thisMonth();
form.month_to.value = params.get("month_to") || form.month_from.value;
await orgChoices(roles, params.get("org") || "");
form.addEventListener("submit", (event) => {
  event.preventDefault();
  load();
});
document.getElementById("export-branch-csv").addEventListener("click", () =>
  exportCsv(BRANCH_HEADERS, current.branches, branchCells, "按支部"));
document.getElementById("export-member-csv").addEventListener("click", () =>
  exportCsv(MEMBER_HEADERS, current.members, memberCells, "按党员"));
load();
