// 党费银行流水导入: the file goes as the request body with its content type to POST /v1/orgs/{id}/dues-imports; the
// API stores all rows or none and lists every bad row as {line, field, reason, message}; transactions imported
// before are skipped.
import { ApiError, boot, call, csvField, downloadText, el, errorText, say, table } from "/console/shell.js";
import { managedBranches, orgOption, yuan } from "/console/dues-common.js";

const XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
// the importer's columns (services/identity/domain/dues_import.py) under the Chinese headers it accepts
const COLUMN_LABELS = {
  txn_id: "交易流水号", member_id: "党员编号", id_number: "身份证号", name: "姓名", months: "缴费月份",
  amount: "金额（元）", paid_on: "交易日期", content: "文件",
};
const TEMPLATE_COLUMNS = ["txn_id", "member_id", "id_number", "name", "months", "amount", "paid_on"];
const form = document.getElementById("dues-import-form");
const status = document.getElementById("dues-import-status");
const errors = document.getElementById("dues-import-errors");

function typeOf(file) {
  const name = file.name.toLowerCase();
  if (name.endsWith(".csv")) return "text/csv";
  return name.endsWith(".xlsx") ? XLSX_TYPE : "";
}

async function upload(event) {
  event.preventDefault();
  errors.replaceChildren();
  const file = form.file.files[0];
  if (!file) return say(status, "请选择要导入的文件。", "error");
  const type = typeOf(file);
  if (!type) return say(status, "只能导入 CSV 或 XLSX 文件（扩展名 .csv 或 .xlsx）。", "error");
  const button = document.getElementById("dues-import-submit");
  button.disabled = true;
  say(status, `正在导入 ${file.name}…`);
  try {
    const result = await call("POST", `/v1/orgs/${encodeURIComponent(form.org.value)}/dues-imports`, file,
      { contentType: type });
    say(status, `导入成功：新登记 ${result.imported} 笔缴费，合计 ${yuan(result.amount_fen)} 元`
      + (result.skipped ? `；${result.skipped} 笔交易此前已导入，已跳过。` : "。"), "ok");
  } catch (error) {
    showRejection(error);
  } finally {
    button.disabled = false;
  }
}

function showRejection(error) {
  const rows = (error instanceof ApiError ? error.details || [] : []).filter((item) => item && item.line !== undefined);
  const text = (error instanceof ApiError && error.code === "IMPORT_REJECTED" && error.serverMessage) || errorText(error);
  const nothing = text.includes("未导入任何数据") ? "" : "未导入任何数据。";
  say(status, error instanceof ApiError && error.status === 400
    ? `${text.replace(/[。.]$/, "")}。${nothing}${rows.length ? "请改正以下问题后重新上传。" : ""}` : text, "error");
  if (!rows.length) return;
  errors.replaceChildren(
    el("h2", {}, `错误明细（${rows.length} 处）`),
    table(["行号", "列", "问题", "代码"], rows.map((item) => [
      String(item.line), COLUMN_LABELS[item.field] || item.field || "", item.message || item.reason || "", item.reason || "",
    ]), { id: "dues-import-error-table" }));
}

const { roles } = await boot("dues-import");
try {
  const orgs = [...roles.admin.map((grant) => grant.org).filter((org) => org.kind !== "branch")];
  for (const branch of await managedBranches(roles)) if (!orgs.some((org) => org.id === branch.id)) orgs.push(branch);
  form.org.replaceChildren(...orgs.map(orgOption));
} catch (error) {
  say(status, errorText(error), "error");
}
form.addEventListener("submit", upload);
document.getElementById("dues-template-link").addEventListener("click", () => downloadText("党费导入模板.csv",
  `${TEMPLATE_COLUMNS.map((column) => csvField(COLUMN_LABELS[column])).join(",")}\r\n`));
