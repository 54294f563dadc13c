// 学习套餐: a manager's packages (GET /v1/orgs/{id}/packages), a new draft with its items (POST /v1/packages),
// publishing and closing, and a package's progress per branch, county, field or category, ranked (完成率), with a
// branch's members (GET /v1/packages/{id}/branches/{branch}/members). Study time is the server's, never the page's.
import { FIELD_LABELS, answerOr, boot, call, el, errorText, query, say, table } from "/console/shell.js";
import { CATEGORY_LABELS, fillOrgs, subtreeOrgs } from "/console/charts.js";

const STATUS = { draft: ["草稿", "badge"], published: ["已发布", "badge badge-ok"], closed: ["已结束", "badge badge-info"] };
const KINDS = { article: "文章", document: "文档", video: "视频", audio: "音频" };
const main = document.getElementById("main");
const status = document.getElementById("status");
const filters = document.getElementById("filters");
const createForm = document.getElementById("create-form");
const createStatus = document.getElementById("create-status");
const itemRows = document.getElementById("item-rows");
let current = null;     // the package whose progress is shown

function thisMonth() {
  const now = new Date(Date.now() + 8 * 3600 * 1000);      // China's month
  return now.toISOString().slice(0, 7);
}

function percent(value) {
  return `${Number(value || 0).toFixed(1)}%`;
}

function itemRow(index) {
  const row = el("div", { class: "item-row filters", "data-index": String(index) },
    el("label", {}, "名称", el("input", { name: "item_title", required: true, maxlength: 100 })),
    el("label", {}, "类型", el("select", { name: "item_kind" },
      Object.entries(KINDS).map(([value, label]) => el("option", { value }, label)))),
    el("label", {}, "链接或资讯编号", el("input", { name: "item_source", required: true, maxlength: 1000,
      placeholder: "https://… 或 itm_…" })),
    el("label", {}, "最少时长（秒）", el("input", { name: "item_min", type: "number", min: 1, value: 60, required: true })),
    el("label", {}, "计时上限（秒）", el("input", { name: "item_cap", type: "number", min: 1, value: 300, required: true })),
    el("button", { type: "button", class: "btn link", onclick: () => row.remove() }, "删除"));
  return row;
}

function itemsOf() {
  return [...itemRows.querySelectorAll(".item-row")].map((row) => {
    const source = row.querySelector("[name=item_source]").value.trim();
    const isLink = /^https?:\/\//i.test(source);
    return {
      title: row.querySelector("[name=item_title]").value.trim(),
      kind: row.querySelector("[name=item_kind]").value,
      url: isLink ? source : "", item_id: isLink ? "" : source,
      min_seconds: Number(row.querySelector("[name=item_min]").value),
      cap_seconds: Number(row.querySelector("[name=item_cap]").value),
    };
  });
}

async function act(path, done) {
  try {
    await call("POST", path, {});
    say(status, done, "ok");
    await load();
  } catch (error) {
    say(status, errorText(error), "error");
  }
}

function packageRow(pkg) {
  const [label, cls] = STATUS[pkg.status] || [pkg.status, "badge"];
  const actions = [];
  const id = encodeURIComponent(pkg.id);
  if (pkg.status === "draft" && pkg.org_id === filters.org.value) {
    actions.push(el("button", { type: "button", class: "btn btn-primary", "data-action": "publish",
      onclick: () => act(`/v1/packages/${id}:publish`, "套餐已发布，本组织下的党员可以开始学习") }, "发布"));
  }
  if (pkg.status === "published" && pkg.org_id === filters.org.value) {
    actions.push(el("button", { type: "button", class: "btn", "data-action": "close",
      onclick: () => act(`/v1/packages/${id}:close`, "套餐已结束") }, "结束"));
  }
  if (pkg.status !== "draft") {
    actions.push(el("button", { type: "button", class: "btn", "data-action": "progress",
      onclick: () => showProgress(pkg) }, "查看进度"));
  }
  return [el("span", { class: cls }, label), pkg.title, pkg.org_name || "", pkg.month, pkg.due_on,
    String(pkg.item_count), el("span", { class: "actions" }, actions)];
}

async function load() {
  const org = filters.org.value;
  const month = filters.month.value;
  history.replaceState(null, "", location.pathname + query({ org, month }));
  const answer = await answerOr(main, status, call("GET", `/v1/orgs/${encodeURIComponent(org)}/packages${query({ month, page_size: 100 })}`));
  if (!answer) return;
  const holder = document.getElementById("packages");
  const packages = answer.packages || [];
  holder.replaceChildren(packages.length
    ? table(["状态", "标题", "下发组织", "月份", "截止日期", "内容数", "操作"], packages.map(packageRow), { id: "package-table" })
    : el("p", { class: "muted" }, "暂无学习套餐。"));
}

function groupName(by, row) {
  if (by === "field") return FIELD_LABELS[row.group_id] || row.group_id || "未分类";
  if (by === "category") return CATEGORY_LABELS[row.group_id] || row.group_id || "未分类";
  return row.name || row.group_id;
}

async function showProgress(pkg) {
  current = pkg;
  const by = document.getElementById("by").value;
  document.getElementById("progress-section").hidden = false;
  document.getElementById("progress-title").textContent = `学习进度：${pkg.title}`;
  document.getElementById("branch-members").replaceChildren();
  const answer = await answerOr(main, status, call("GET", `/v1/packages/${encodeURIComponent(pkg.id)}/progress${query({ by })}`));
  if (!answer) return;
  const totals = answer.totals || {};
  document.getElementById("progress-summary").textContent =
    `共 ${totals.branches || 0} 个支部、${totals.members || 0} 名党员；已学完 ${totals.completed || 0} 人，完成率 ${percent(totals.completion_rate)}，内容完成率 ${percent(totals.items_rate)}。`;
  document.getElementById("progress-table").replaceChildren(table(
    ["名次", by === "branch" ? "支部" : "分组", "支部数", "党员数", "已开始", "已学完", "完成率", "内容完成率"],
    (answer.rows || []).map((row) => [String(row.rank), by === "branch"
      ? el("a", { href: "#", "data-branch": row.group_id, onclick: (event) => { event.preventDefault(); showMembers(row); } }, row.name)
      : groupName(by, row), String(row.branches), String(row.members), String(row.started), String(row.completed),
    percent(row.completion_rate), percent(row.items_rate)]), { id: "progress-rows" }));
}

async function showMembers(row) {
  const answer = await answerOr(main, status, call("GET",
    `/v1/packages/${encodeURIComponent(current.id)}/branches/${encodeURIComponent(row.group_id)}/members`));
  if (!answer) return;
  document.getElementById("branch-members").replaceChildren(el("h3", {}, `${row.name}：党员学习情况`),
    table(["党员", "已学内容", "状态"], (answer.members || []).map((member) => [member.name,
      `${member.studied_count} / ${member.item_count}`,
      el("span", { class: member.completed ? "badge badge-ok" : "badge" }, member.completed ? "已学完" : "学习中")]),
    { id: "member-rows" }));
}

async function create(event) {
  event.preventDefault();
  const button = document.getElementById("create");
  button.disabled = true;
  try {
    const body = { org_id: filters.org.value, title: document.getElementById("title").value.trim(), month: document.getElementById("new-month").value,
      due_on: document.getElementById("due-on").value, items: itemsOf() };
    const created = await call("POST", "/v1/packages", body);
    say(createStatus, `已保存草稿“${created.title}”，确认无误后请在列表中发布。`, "ok");
    createForm.reset();
    itemRows.replaceChildren(itemRow(0));
    document.getElementById("new-month").value = thisMonth();
    await load();
  } catch (error) {
    say(createStatus, errorText(error) + (error.field ? `（${error.field}）` : ""), "error");
  } finally {
    button.disabled = false;
  }
}

const { roles } = await boot("packages");
const params = new URLSearchParams(location.search);
const { roots, orgs } = await subtreeOrgs(roles, { secretaries: true });
fillOrgs(filters.org, orgs.filter((org) => org.kind !== "group"), roots, params.get("org") || "");
filters.month.value = params.get("month") || "";
document.getElementById("new-month").value = thisMonth();
itemRows.append(itemRow(0));
document.getElementById("add-item").addEventListener("click", () => itemRows.append(itemRow(itemRows.children.length)));
filters.addEventListener("submit", (event) => { event.preventDefault(); load(); });
document.getElementById("by").addEventListener("change", () => current && showProgress(current));
createForm.addEventListener("submit", create);
load();
