// 党费欠缴名单: a branch's members who owe (GET /v1/orgs/{id}/dues?arrears_only=true), flagged ones first.
import { answerOr, boot, csvField, downloadText, el, errorText, say, table, call } from "/console/shell.js";
import { managedBranches, monthsText, orgOption, yuan } from "/console/dues-common.js";

const main = document.getElementById("main");
const status = document.getElementById("arrears-status");
const filter = document.getElementById("arrears-filter");
let shown = null;

async function load(event) {
  event?.preventDefault();
  const answer = await answerOr(main, status, call("GET",
    `/v1/orgs/${encodeURIComponent(filter.branch.value)}/dues?arrears_only=true`));
  if (!answer) return;
  shown = answer;
  if (!answer.members.length) {
    say(status, `${answer.branch_name}目前没有欠缴党费的党员。`, "ok");
    document.getElementById("arrears-list").replaceChildren();
    return;
  }
  say(status, `${answer.branch_name}共 ${answer.members.length} 名党员欠缴，合计 ${yuan(answer.owed_fen)} 元`
    + (answer.flagged ? `；其中 ${answer.flagged} 人已连续 ${answer.arrears_flag_months} 个月以上未交纳，请支部及时处理。` : "。"),
  answer.flagged ? "warn" : "info");
  document.getElementById("arrears-list").replaceChildren(table(
    ["姓名", "每月应交（元）", "欠缴月份", "欠缴月数", "欠缴金额（元）", "连续未交", "提示"],
    answer.members.map((row) => [
      row.name, yuan(row.amount_fen), monthsText(row.owed_months), String(row.owed_months.length), yuan(row.owed_fen),
      `${row.unpaid_streak} 个月`,
      row.flagged ? el("span", { class: "badge badge-err arrears-flag" }, `连续${row.unpaid_streak}个月未交，请支部处理`) : "",
    ]), { id: "arrears-table" }));
}

function exportCsv() {
  if (!shown || !shown.members.length) return say(status, "没有可导出的欠缴名单。", "warn");
  const lines = [["姓名", "每月应交（元）", "欠缴月份", "欠缴月数", "欠缴金额（元）", "连续未交月数", "已标记"].map(csvField).join(",")];
  for (const row of shown.members) {
    lines.push([row.name, yuan(row.amount_fen), monthsText(row.owed_months), row.owed_months.length, yuan(row.owed_fen),
      row.unpaid_streak, row.flagged ? "是" : "否"].map(csvField).join(","));
  }
  downloadText(`党费欠缴名单-${shown.branch_name}-${shown.current_month}.csv`, `${lines.join("\r\n")}\r\n`);
}

const { roles } = await boot("dues-arrears");
filter.addEventListener("submit", load);
document.getElementById("arrears-csv").addEventListener("click", exportCsv);
try {
  const branches = await managedBranches(roles);
  filter.branch.replaceChildren(...branches.map(orgOption));
  if (branches.length) await load();
  else say(status, "您管理的范围内还没有党支部。", "warn");
} catch (error) {
  say(status, errorText(error), "error");
}
