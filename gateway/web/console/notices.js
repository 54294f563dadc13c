// 通知已读: the notices reaching a node (GET /v1/orgs/{id}/notices), a notice's read / expected per branch of the
// caller's subtree (GET /v1/items/{id}/receipts), one branch's read and unread members
// (GET /v1/items/{id}/receipts/{branch}) and reminding the unread (POST /v1/items/{id}:remind).
import { answerOr, boot, call, el, errorText, localTime, query, say, table } from "/console/shell.js";
import { fillOrgs, subtreeOrgs } from "/console/charts.js";

const main = document.getElementById("main");
const status = document.getElementById("status");
const form = document.getElementById("org-form");
const more = document.getElementById("more");
let rows = [];
let token = "";
let branchId = "";

/** "2 / 5（40%）". */
export function ratio(read, expected) {
  return expected ? `${read} / ${expected}（${Math.round((100 * read) / expected)}%）` : `${read} / 0`;
}

async function loadNotices(wanted) {
  const answer = await answerOr(main, status, call("GET", `/v1/orgs/${encodeURIComponent(form.org.value)}/notices`));
  if (!answer) return;
  const notices = answer.notices || [];
  const options = notices.map((n) => el("option", { value: n.id }, `${n.title}（${n.author_name} ${localTime(n.published_at)}）`));
  if (wanted && !notices.some((n) => n.id === wanted)) options.unshift(el("option", { value: wanted }, wanted));
  form.notice.replaceChildren(...options);
  form.notice.value = wanted || notices[0]?.id || "";
  if (!form.notice.value) {
    document.getElementById("summary-card").hidden = true;
    document.getElementById("branch-card").hidden = true;
    say(status, "暂无已发布的通知。", "info");
    return;
  }
  await loadReceipts(true);
}

function branchRow(row) {
  const link = el("a", { href: "#", class: "branch-link" }, row.branch_name);
  link.addEventListener("click", (event) => { event.preventDefault(); loadBranch(row.branch_id); });
  return [link, (row.path_names || []).slice(0, -1).join(" / "), ratio(row.read, row.expected), String(row.unread)];
}

async function loadReceipts(fresh) {
  if (fresh) { rows = []; token = ""; }
  const item = form.notice.value;
  const answer = await answerOr(main, status, call("GET", `/v1/items/${encodeURIComponent(item)}/receipts${
    query({ page_size: 100, page_token: fresh ? "" : token })}`));
  if (!answer) return;
  say(status, "");
  history.replaceState(null, "", location.pathname + query({ org: form.org.value, item }));
  rows = [...rows, ...(answer.branches || [])];
  token = answer.next_page_token || "";
  document.getElementById("summary-card").hidden = false;
  document.getElementById("notice-title").textContent = answer.title;
  document.getElementById("totals").textContent = `已读 ${ratio(answer.read, answer.expected)}，未读 ${answer.unread} 人`;
  document.getElementById("branches").replaceChildren(rows.length
    ? table(["支部", "上级组织", "已读 / 应读", "未读"], rows.map(branchRow), { id: "receipt-rows" })
    : el("p", { class: "muted" }, "范围内没有支部。"));
  more.hidden = !token;
}

const members = (list, withTime) => list.length
  ? table(withTime ? ["姓名", "阅读时间"] : ["姓名"], list.map((m) => (withTime ? [m.name, localTime(m.read_at)] : [m.name])))
  : el("p", { class: "muted" }, "无");

async function loadBranch(id) {
  branchId = id;
  const answer = await answerOr(main, status,
    call("GET", `/v1/items/${encodeURIComponent(form.notice.value)}/receipts/${encodeURIComponent(id)}`));
  if (!answer) return;
  const card = document.getElementById("branch-card");
  document.getElementById("branch-title").textContent = `${answer.branch_name}：已读 ${ratio(answer.read.length, answer.expected)}`;
  document.getElementById("unread").replaceChildren(el("div", { id: "unread-list" }, members(answer.unread, false)));
  document.getElementById("read").replaceChildren(el("div", { id: "read-list" }, members(answer.read, true)));
  card.hidden = false;
  card.scrollIntoView();
}

async function remind(branch) {
  try {
    const answer = await call("POST", `/v1/items/${encodeURIComponent(form.notice.value)}:remind`, { branch_id: branch });
    say(status, answer.reminded ? `已提醒 ${answer.reminded} 名未读党员` : "没有未读的党员", "ok");
  } catch (error) {
    say(status, errorText(error), "error");
  }
}

const { roles } = await boot("notices");
const { roots, orgs } = await subtreeOrgs(roles, { secretaries: true });
const params = new URLSearchParams(location.search);
fillOrgs(form.org, orgs, roots, params.get("org") || "");
form.org.addEventListener("change", () => loadNotices(""));
form.notice.addEventListener("change", () => { document.getElementById("branch-card").hidden = true; loadReceipts(true); });
document.getElementById("remind-all").addEventListener("click", () => remind(""));
document.getElementById("remind-branch").addEventListener("click", () => remind(branchId));
more.addEventListener("click", () => loadReceipts(false));
loadNotices(params.get("item") || "");
