// 党员: the members of an organisation's subtree (GET /v1/orgs/{id}/members?q=&status=&mobile=, paged), each
// opening its detail page; q searches names and phones (党员检索). The API scopes the list; an organisation
// outside the caller's subtree shows only 无权访问或不存在. The filters live in the page's URL, so a reload or a
// shared link shows the same list.
import { boot, csvField, downloadText, el, isDenied, say, showDenied, table } from "/console/shell.js";
import {
  GENDER_LABELS, MEMBER_STATUS_LABELS, fetchJson, orgOptions, pager, pathText, refusalText, scopeRoots, wholeSubtree,
} from "/console/people.js";

const PAGE_SIZE = 50;
const HEADERS = ["姓名", "性别", "政治面貌", "所在支部", "手机号", "流动党员"];
const main = document.getElementById("main");
const status = document.getElementById("member-list-status");
const form = document.getElementById("member-filters");
const branchNames = new Map();
let shown = [];
let listRefused = false;     // the notice shows why the last list failed, until one loads

function cells(member) {
  return [member.name, GENDER_LABELS[member.gender] || member.gender, MEMBER_STATUS_LABELS[member.status] || member.status,
    branchNames.get(member.branch_id) || member.branch_id, member.phone, member.mobile ? "是" : "否"];
}

async function showPage(token) {
  const orgId = form.org.value;
  const searched = form.q.value.trim();
  const params = { page_size: PAGE_SIZE, page_token: token, q: searched, status: form.status.value,
    mobile: form.mobile.value };
  const answer = await fetchJson(`/v1/orgs/${encodeURIComponent(orgId)}/members`, params);
  shown = answer.members || [];
  const view = table(HEADERS, shown.map((member) => {
    const row = cells(member);
    row[0] = el("a", { href: `/console/member?id=${encodeURIComponent(member.id)}`, class: "member-link",
      dataset: { member: member.id } }, member.name);
    return row;
  }), { id: "members" });
  document.getElementById("member-table").replaceChildren(shown.length ? view
    : el("p", { class: "muted", id: "members-empty" }, searched ? "未找到匹配的党员。" : "没有符合条件的党员。"));
  return answer;
}

async function load(listPager) {
  try {
    await listPager.first();
    if (listRefused) say(status, "");
    listRefused = false;
  } catch (error) {
    if (isDenied(error)) showDenied(main, error);
    else {
      shown = [];
      listRefused = true;
      document.getElementById("member-table").replaceChildren();
      say(status, refusalText(error), "error");
    }
  }
}

const { roles } = await boot("members");
const roots = scopeRoots(roles);
const params = new URLSearchParams(location.search);
const asked = params.get("org") || "";
const choices = [];
for (const root of roots) {
  try {
    for (const org of await wholeSubtree(root.id)) {
      branchNames.set(org.id, pathText(org));
      if (org.kind !== "group" && !choices.some((known) => known.id === org.id)) choices.push(org);
    }
  } catch (error) {
    say(status, refusalText(error), "error");
  }
}
form.org.replaceChildren(...orgOptions(choices));
if (asked && !choices.some((org) => org.id === asked)) form.org.append(el("option", { value: asked }, "（链接中的组织）"));
if (asked) form.org.value = asked;
form.status.append(...Object.entries(MEMBER_STATUS_LABELS).map(([value, label]) => el("option", { value }, label)));
form.status.value = params.get("status") || "";
form.mobile.value = params.get("mobile") || "";
form.q.value = params.get("q") || "";
const listPager = pager(document.getElementById("member-pager"), showPage);
form.addEventListener("submit", (event) => {
  event.preventDefault();
  const search = new URLSearchParams({ org: form.org.value });
  if (form.q.value.trim()) search.set("q", form.q.value.trim());
  if (form.status.value) search.set("status", form.status.value);
  if (form.mobile.value) search.set("mobile", form.mobile.value);
  history.replaceState(null, "", `?${search}`);
  load(listPager);
});
document.getElementById("member-export").addEventListener("click", () => downloadText("党员名单.csv",
  [HEADERS, ...shown.map(cells)].map((row) => row.map(csvField).join(",")).join("\r\n") + "\r\n"));
await load(listPager);
