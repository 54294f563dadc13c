// 内容发布: a node's columns (GET/POST /v1/orgs/{id}/columns), writing and submitting items (POST /v1/items,
// PATCH /v1/items/{id}, POST :submit), the review queue (status 待审核, POST :review with a reason to reject),
// pin with an expiry (:pin), push (:push), withdraw with a reason (:withdraw) and each item's history
// (GET /v1/items/{id}/history). What the caller may do is the API's decision; the page shows its refusals.
import { answerOr, boot, call, el, errorText, localTime, query, say, table } from "/console/shell.js";
import { fillOrgs, subtreeOrgs } from "/console/charts.js";

export const STATUS = { draft: "草稿", submitted: "待审核", published: "已发布", rejected: "已退回", withdrawn: "已撤回" };
export const KINDS = { article: "文章", notice: "通知", download: "资料下载", learning: "学习资料" };
const ACTIONS = { created: "创建", edited: "修改", submitted: "提交审核", approved: "审核通过", published: "直接发布",
  rejected: "退回", withdrawn: "撤回", pinned: "置顶", unpinned: "取消置顶", pushed: "重点推送", unpushed: "取消推送" };

const main = document.getElementById("main");
const status = document.getElementById("status");
const orgForm = document.getElementById("org-form");
const itemForm = document.getElementById("item-form");
const columnForm = document.getElementById("column-form");
const panel = document.getElementById("action-panel");
const actionForm = document.getElementById("action-form");
const more = document.getElementById("more");
let columns = [];
let items = [];
let token = "";
let editing = null;          // the item being edited, or null for a new one
let pending = null;          // the action the panel asks a value for

/** "党章, 党史  理论学习" -> ["党章", "党史", "理论学习"]. */
export function tagsOf(text) {
  return [...new Set(String(text || "").split(/[\s,，、]+/).map((tag) => tag.trim()).filter(Boolean))];
}

/** A local "YYYY-MM-DDTHH:MM" (datetime-local) as an ISO time with the browser's zone. */
export function isoOf(local) {
  if (!local) return "";
  const moment = new Date(local);
  return Number.isNaN(moment.getTime()) ? local : moment.toISOString();
}

async function loadColumns() {
  const org = orgForm.org.value;
  const answer = await answerOr(main, status, call("GET", `/v1/orgs/${encodeURIComponent(org)}/columns`));
  if (!answer) return;
  columns = answer.columns || [];
  document.getElementById("columns").replaceChildren(table(["栏目", "发布方式"], columns.map((column) =>
    [column.name, column.review_required ? "审核后发布" : "直接发布"]), { id: "column-rows" }));
  itemForm.column.replaceChildren(...columns.map((column) => el("option", { value: column.id }, column.name)));
}

function button(label, handler, attributes = {}) {
  const node = el("button", { type: "button", class: "btn btn-small", ...attributes }, label);
  node.addEventListener("click", handler);
  return node;
}

function actionsOf(item) {
  const buttons = [];
  if (["draft", "rejected", "published"].includes(item.status)) buttons.push(button("编辑", () => edit(item)));
  if (item.status === "draft") buttons.push(button("提交", () => act(item, "submit", {}), { class: "btn btn-small btn-primary" }));
  if (item.status === "submitted") {
    buttons.push(button("通过", () => act(item, "review", { decision: "approve" }), { class: "btn btn-small btn-primary" }));
    buttons.push(button("退回", () => ask(item, "reject", "退回原因", "text")));
  }
  if (item.status === "published") {
    buttons.push(button(item.pinned_until ? "取消置顶" : "置顶",
      () => (item.pinned_until ? act(item, "pin", { pinned_until: "" }) : ask(item, "pin", "置顶截止时间", "datetime-local"))));
    buttons.push(button(item.pushed ? "取消推送" : "重点推送", () => act(item, "push", { pushed: !item.pushed })));
    buttons.push(button("撤回", () => ask(item, "withdraw", "撤回原因", "text")));
  }
  buttons.push(button("历史", () => showHistory(item)));
  return el("div", { class: "actions" }, buttons);
}

function drawItems() {
  const byId = new Map(columns.map((column) => [column.id, column.name]));
  const rows = items.map((item) => [
    // the number is what a learning package's item names (学习套餐 “链接或资讯编号”)
    el("div", {}, el("span", { class: "item-title" }, item.title),
      el("div", { class: "muted small item-id" }, `编号 ${item.id}`)),
    KINDS[item.kind] || item.kind,
    byId.get(item.column_id) || item.author_name || "",     // a lower node's column: name the node that owns it
    el("span", { class: "item-status" }, STATUS[item.status] || item.status,
      item.pushed ? el("span", { class: "badge badge-info" }, "推送") : null,
      item.pinned_until ? el("span", { class: "badge badge-warn", title: localTime(item.pinned_until) }, "置顶") : null,
      item.review_reason && item.status === "rejected" ? el("span", { class: "muted small" }, `（${item.review_reason}）`) : null),
    `第 ${item.version} 版`,
    localTime(item.updated_at),
    actionsOf(item)]);
  document.getElementById("items").replaceChildren(items.length
    ? table(["标题", "类型", "栏目", "状态", "版本", "更新时间", "操作"], rows, { id: "item-rows" })
    : el("p", { class: "muted", id: "no-items" }, "暂无内容。"));
  more.hidden = !token;
}

async function loadItems(fresh = true) {
  if (fresh) { items = []; token = ""; }
  const answer = await answerOr(main, status, call("GET", `/v1/orgs/${encodeURIComponent(orgForm.org.value)}/items${
    query({ status: orgForm.status.value, page_size: 50, page_token: fresh ? "" : token })}`));
  if (!answer) return;
  items = [...items, ...(answer.items || [])];
  token = answer.next_page_token || "";
  drawItems();
}

async function act(item, verb, body, done = "操作成功") {
  try {
    await call("POST", `/v1/items/${encodeURIComponent(item.id)}:${verb}`, body);
    say(status, done, "ok");
    panel.hidden = true;
    await loadItems(true);
  } catch (error) {
    say(status, errorText(error), "error");
  }
}

function ask(item, what, label, type) {
  pending = { item, what };
  document.getElementById("action-title").textContent = `${{ reject: "退回", withdraw: "撤回", pin: "置顶" }[what]}：${item.title}`;
  document.getElementById("action-text").textContent = label;
  const input = document.getElementById("action-value");
  input.type = type;
  input.value = "";
  input.required = true;
  panel.hidden = false;
  input.focus();
}

actionForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const value = actionForm.value.value.trim();
  const { item, what } = pending;
  if (what === "reject") act(item, "review", { decision: "reject", reason: value }, "已退回");
  if (what === "withdraw") act(item, "withdraw", { reason: value }, "已撤回");
  if (what === "pin") act(item, "pin", { pinned_until: isoOf(value) }, "已置顶");
});
document.getElementById("action-cancel").addEventListener("click", () => { panel.hidden = true; });

function edit(item) {
  editing = item;
  document.getElementById("editor-title").textContent = `修改：${item.title}`;
  itemForm.column.value = item.column_id;
  itemForm.kind.value = item.kind;
  itemForm.column.disabled = itemForm.kind.disabled = true;
  itemForm.title.value = item.title;
  itemForm.summary.value = item.summary || "";
  itemForm.tags.value = (item.tags || []).join(" ");
  itemForm.body.value = "";
  call("GET", `/v1/items/${encodeURIComponent(item.id)}`).then((full) => { itemForm.body.value = full.body || ""; })
    .catch((error) => say(status, errorText(error), "error"));
  document.getElementById("cancel-edit").hidden = false;
  document.getElementById("save-submit").hidden = item.status === "published";
  document.getElementById("editor").scrollIntoView();
}

function resetEditor() {
  editing = null;
  itemForm.reset();
  itemForm.column.disabled = itemForm.kind.disabled = false;
  document.getElementById("editor-title").textContent = "撰写内容";
  document.getElementById("cancel-edit").hidden = true;
  document.getElementById("save-submit").hidden = false;
}

async function save(submit) {
  if (!itemForm.reportValidity()) return;
  const fields = { title: itemForm.title.value, body: itemForm.body.value, summary: itemForm.summary.value,
    tags: tagsOf(itemForm.tags.value) };
  try {
    const saved = editing
      ? await call("PATCH", `/v1/items/${encodeURIComponent(editing.id)}`, { ...fields, attachment_ids: editing.attachment_ids || [] })
      : await call("POST", "/v1/items", { ...fields, column_id: itemForm.column.value, kind: itemForm.kind.value });
    let text = editing && editing.status === "published" ? `已保存为第 ${saved.version} 版` : "已保存草稿";
    if (submit) {
      const after = await call("POST", `/v1/items/${encodeURIComponent(saved.id)}:submit`, {});
      text = after.status === "published" ? "已发布" : "已提交审核";
    }
    say(status, text, "ok");
    resetEditor();
    await loadItems(true);
  } catch (error) {
    say(status, errorText(error), "error");
  }
}

async function showHistory(item) {
  const answer = await answerOr(main, status, call("GET", `/v1/items/${encodeURIComponent(item.id)}/history`));
  if (!answer) return;
  const box = document.getElementById("history");
  document.getElementById("history-body").replaceChildren(
    el("h3", {}, item.title),
    table(["版本", "标题", "修改人", "时间"], answer.versions.map((v) => [`第 ${v.version} 版`, v.title, v.edited_by, localTime(v.edited_at)]),
      { id: "version-rows" }),
    table(["操作", "操作人", "时间", "说明"], answer.log.map((row) => [ACTIONS[row.action] || row.action, row.by,
      localTime(row.at), row.reason || (row.until ? `至 ${localTime(row.until)}` : "")]), { id: "log-rows" }));
  box.hidden = false;
  box.scrollIntoView();
}

const { roles } = await boot("content");
const { roots, orgs } = await subtreeOrgs(roles, { secretaries: true });
const params = new URLSearchParams(location.search);
fillOrgs(orgForm.org, orgs, roots, params.get("org") || "");
orgForm.status.value = params.get("status") || "";
function reload() {
  history.replaceState(null, "", location.pathname + query({ org: orgForm.org.value, status: orgForm.status.value }));
  resetEditor();
  loadColumns().then(() => loadItems(true));
}
orgForm.org.addEventListener("change", reload);
orgForm.status.addEventListener("change", () => reload());
itemForm.addEventListener("submit", (event) => { event.preventDefault(); save(false); });
document.getElementById("save-submit").addEventListener("click", () => save(true));
document.getElementById("cancel-edit").addEventListener("click", resetEditor);
columnForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    await call("POST", `/v1/orgs/${encodeURIComponent(orgForm.org.value)}/columns`,
      { name: columnForm.name.value, review_required: columnForm.review.checked });
    say(status, "已添加栏目", "ok");
    columnForm.reset();
    await loadColumns();
  } catch (error) {
    say(status, errorText(error), "error");
  }
});
more.addEventListener("click", () => loadItems(false));
reload();
