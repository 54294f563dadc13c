// 党员导入: the file goes as the request body with its content type to POST /v1/orgs/{id}/member-imports; the
// API imports all rows or none, and lists every bad row as {line, field, reason, message}.
import {
  ApiError, KIND_LABELS, allPages, boot, call, csvField, downloadText, el, errorText, say, table,
} from "/console/shell.js";

const XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const COLUMN_LABELS = {
  branch_ref: "所在支部", name: "姓名", gender: "性别", birth_date: "出生日期", id_number: "身份证号",
  phone: "手机号", education: "学历", status: "政治面貌", applied_on: "申请入党日期", activist_on: "确定积极分子日期",
  development_target_on: "确定发展对象日期", probationary_on: "入党日期", full_on: "转正日期", enrolment: "在校状态",
  mobile: "流动党员", content: "文件",
};
// The template's header row: the importer's member columns (services/identity/domain/importing.py
// MEMBER_COLUMNS) under the Chinese headers it accepts.
const TEMPLATE_COLUMNS = ["branch_ref", "name", "gender", "birth_date", "id_number", "phone", "education", "status",
  "applied_on", "activist_on", "development_target_on", "probationary_on", "full_on", "enrolment", "mobile"];
const form = document.getElementById("import-form");
const status = document.getElementById("import-status");
const errors = document.getElementById("import-errors");

function typeOf(file) {
  const name = file.name.toLowerCase();
  if (name.endsWith(".csv")) return "text/csv";
  if (name.endsWith(".xlsx")) return XLSX_TYPE;
  return "";
}

async function upload(event) {
  event.preventDefault();
  errors.replaceChildren();
  const file = form.file.files[0];
  if (!file) {
    say(status, "请选择要导入的文件。", "error");
    return;
  }
  const type = typeOf(file);
  if (!type) {
    say(status, "只能导入 CSV 或 XLSX 文件（扩展名 .csv 或 .xlsx）。", "error");
    return;
  }
  const button = document.getElementById("import-submit");
  button.disabled = true;
  say(status, `正在导入 ${file.name}…`);
  try {
    const result = await call("POST", `/v1/orgs/${encodeURIComponent(form.org.value)}/member-imports`, file,
      { contentType: type });
    say(status, `导入成功：共导入 ${result.imported} 名党员。`, "ok");
  } catch (error) {
    showRejection(error);
  } finally {
    button.disabled = false;
  }
}

function showRejection(error) {
  const details = error instanceof ApiError ? error.details || [] : [];
  const rows = details.filter((item) => item && item.line !== undefined);
  // the server's own text counts the bad rows ("导入文件有 2 行存在错误，未导入任何数据")
  const text = (error instanceof ApiError && error.code === "IMPORT_REJECTED" && error.serverMessage) || errorText(error);
  const nothing = text.includes("未导入任何数据") ? "" : "未导入任何数据。";
  say(status, error instanceof ApiError && error.status === 400
    ? `${text.replace(/[。.]$/, "")}。${nothing}${rows.length ? "请改正以下问题后重新上传。" : ""}` : text, "error");
  if (!rows.length) return;
  errors.replaceChildren(
    el("h2", {}, `错误明细（${rows.length} 处）`),
    table(["行号", "列", "问题", "代码"], rows.map((item) => [
      String(item.line), COLUMN_LABELS[item.field] || item.field || "", item.message || item.reason || "",
      item.reason || "",
    ]), { id: "import-error-table" }));
}

const { roles } = await boot("import");
const choices = [];
for (const grant of roles.admin) {
  try {
    choices.push(...await allPages(`/v1/orgs/${encodeURIComponent(grant.org.id)}/subtree`,
      { kind: "branch", page_size: 500 }, "orgs", 10));
  } catch (error) {
    say(status, errorText(error), "error");
  }
}
for (const grant of roles.secretary) {
  if (!choices.some((org) => org.id === grant.org.id)) choices.push(grant.org);
}
form.org.replaceChildren(...choices.map((org) => el("option", { value: org.id },
  `${(org.path_names || []).slice(1).join(" / ") || org.name}（${KIND_LABELS[org.kind] || ""}）`)));
form.addEventListener("submit", upload);
document.getElementById("template-link").addEventListener("click", () => downloadText("党员导入模板.csv",
  `${TEMPLATE_COLUMNS.map((column) => csvField(COLUMN_LABELS[column])).join(",")}\r\n`));
