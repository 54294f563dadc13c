// 双报到: for the chosen organisation, the members who reported to it as their residential community with the hours
// they served there (GET /v1/orgs/{org}/reported-members, paged), and its members who have not reported, against
// the tenant's deadline (GET /v1/orgs/{org}/unreported-members). A node is often only one of the two (a community
// or a branch): each list says for itself when it does not apply.
import { boot, call, el, errorText, isDenied, query, say, showDenied, table } from "/console/shell.js";
import { chinaDate, keepInAddress, orgChoices } from "/console/volunteer-common.js";

const main = document.getElementById("main");
const filters = document.getElementById("report-filters");
const status = document.getElementById("status");
const reportedBox = document.getElementById("reported-members");
const unreportedBox = document.getElementById("unreported-members");
const more = document.getElementById("more-reported");
let reported = [];
let nextToken = "";

const hours = (value) => Number(value || 0).toFixed(2);

async function loadReported(append = false) {
  const org = filters.org.value;
  let answer;
  try {
    answer = await call("GET", `/v1/orgs/${encodeURIComponent(org)}/reported-members` + query({
      page_size: 100, page_token: append ? nextToken : "" }));
  } catch (error) {
    if (error.status === 404 && error.code === "ORG_NOT_FOUND") throw error;
    reportedBox.replaceChildren(el("p", { class: "muted" }, errorText(error)));
    more.hidden = true;
    return;
  }
  reported = append ? reported.concat(answer.members || []) : answer.members || [];
  nextToken = answer.next_page_token || "";
  reportedBox.replaceChildren(reported.length
    ? table(["党员", "所在支部", "报到社区", "报到日期", "在该社区服务时长（小时）"], reported.map((row) => [
        row.name || row.member_name || "", row.branch_name || "", row.community_name || "", row.reported_on || "",
        hours(row.hours),
      ]), { id: "reported-table" })
    : el("p", { class: "muted", id: "reported-table" }, "还没有党员向该组织报到。"));
  more.hidden = !nextToken;
}

async function loadUnreported() {
  const org = filters.org.value;
  let answer;
  try {
    answer = await call("GET", `/v1/orgs/${encodeURIComponent(org)}/unreported-members`);
  } catch (error) {
    if (error.status === 404 && error.code === "ORG_NOT_FOUND") throw error;
    unreportedBox.replaceChildren(el("p", { class: "muted" }, errorText(error)));
    return;
  }
  const members = answer.members || [];
  const late = Boolean(answer.deadline) && answer.deadline < chinaDate();
  document.getElementById("deadline").textContent = answer.deadline ? `报到截止日期：${answer.deadline}` : "本单位未设置报到截止日期。";
  unreportedBox.replaceChildren(members.length
    ? table(["党员", "所在支部", "状态"], members.map((row) => [
        row.name || row.member_name || "", row.branch_name || "",
        (row.overdue ?? late) ? el("span", { class: "badge badge-err" }, "已超过截止日期") : el("span", { class: "badge badge-warn" }, "未报到"),
      ]), { id: "unreported-table" })
    : el("p", { class: "muted", id: "unreported-table" }, "所有党员均已报到。"));
}

async function load() {
  keepInAddress({ org: filters.org.value });
  say(status, "");
  try {
    await Promise.all([loadReported(), loadUnreported()]);
  } catch (error) {
    if (isDenied(error)) showDenied(main, error);
    else say(status, errorText(error), "error");
  }
}

const { roles } = await boot("volunteer-reports");
await orgChoices(filters.org, roles, new URLSearchParams(location.search).get("org") || "", { communitiesFirst: true });
filters.addEventListener("submit", (event) => {
  event.preventDefault();
  load();
});
more.addEventListener("click", () => loadReported(true));
load();
