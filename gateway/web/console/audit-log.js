// 审计日志 (auditors only): search the tenant's audit log of every service (GET /v1/audit-log), export the same
// entries as XLSX (GET /v1/audit-log.xlsx?download=1) and verify every service's hash chain (GET /v1/audit-log/chains).
import { answerOr, boot, call, localTime, query, say, table } from "/console/shell.js";

const SERVICES = { identity: "组织与党员", attendance: "主题党日", scoring: "评分积分", content: "内容学习",
  volunteer: "志愿服务" };
const KINDS = { write: "写操作", read: "查看个人信息" };
const PROBLEMS = { changed: "内容被修改", broken_link: "与前一条不衔接", missing: "记录缺失", duplicate_seq: "序号重复" };
const form = document.getElementById("filters");
const status = document.getElementById("status");
const main = document.getElementById("main");

function filters() {
  const fields = {};
  for (const name of ["since", "until", "actor", "operation", "outcome", "target", "service_name"]) {
    fields[name] = form[name].value.trim();
  }
  return fields;
}

function unavailableText(names) {
  return names.length ? `以下服务未应答，其记录未包含在内：${names.map((name) => SERVICES[name] || name).join("、")}。` : "";
}

async function search() {
  const fields = filters();
  history.replaceState(null, "", location.pathname + query(fields));
  say(status, "正在查询…");
  const answer = await answerOr(main, status, call("GET", `/v1/audit-log${query({ ...fields, page_size: 500 })}`));
  if (!answer) return;
  const entries = answer.entries || [];
  say(status, unavailableText(answer.unavailable || []), "warn");
  document.getElementById("summary").textContent = entries.length
    ? `共 ${entries.length} 条${answer.truncated ? "（仅显示最近 500 条，请缩小时间范围）" : ""}，最新的在前。`
    : "没有符合条件的记录。";
  document.getElementById("entries").replaceChildren(table(
    ["时间", "服务", "操作", "类别", "操作人", "角色", "对象", "来源地址", "结果"],
    entries.map((entry) => [localTime(entry.at), SERVICES[entry.service] || entry.service, entry.operation,
      KINDS[entry.kind] || entry.kind, entry.account_id, (entry.roles || []).join(" "),
      Object.entries(entry.targets || {}).map(([key, value]) => `${key}=${value}`).join(" "),
      entry.client_address, entry.outcome === "ok" ? "成功" : entry.outcome]),
    { id: "entry-rows" }));
  document.getElementById("download").href = `/v1/audit-log.xlsx${query({ ...fields, download: 1 })}`;
  document.getElementById("entries-section").hidden = false;
}

async function verify() {
  const chainStatus = document.getElementById("chain-status");
  say(chainStatus, "正在校验…");
  const answer = await answerOr(main, chainStatus, call("GET", "/v1/audit-log/chains"));
  if (!answer) return;
  const broken = (answer.chains || []).filter((chain) => !chain.ok);
  const text = broken.length ? `发现 ${broken.length} 条哈希链被破坏，请立即核查。` : "各服务的哈希链完整。";
  say(chainStatus, [text, unavailableText(answer.unavailable || [])].filter(Boolean).join(""),
    answer.ok ? "ok" : "error");
  document.getElementById("chains").replaceChildren(table(
    ["服务", "状态", "已校验条数", "最新序号", "起点（保留期清理后）"],
    (answer.chains || []).map((chain) => [SERVICES[chain.service] || chain.service,
      chain.ok ? "完整" : `第 ${chain.broken_seq} 条：${PROBLEMS[chain.broken_problem] || chain.broken_problem}`,
      String(chain.checked), String(chain.head_seq), chain.checkpoint_seq ? `第 ${chain.checkpoint_seq} 条之后` : "—"]),
    { id: "chain-rows" }));
}

await boot("audit-log");
const params = new URLSearchParams(location.search);
for (const name of ["since", "until", "actor", "operation", "outcome", "target", "service_name"]) {
  if (params.get(name)) form[name].value = params.get(name);
}
form.addEventListener("submit", (event) => {
  event.preventDefault();
  search();
});
document.getElementById("verify").addEventListener("click", verify);
search();
