// 民主评议党员: the appraisals of a subtree (GET /v1/orgs/{id}/appraisals) with their results, for the superior; a
// branch's secretary creates the year's appraisal (POST /v1/orgs/{id}/appraisals), opens it
// (POST /v1/appraisals/{id}:open), follows its progress (GET /v1/appraisals/{id}: votes and self-reviews in) and,
// once the vote has closed, reads each member's reviews, the tally (shown only for 5 voters or more), the year's
// points and the flags, then decides every grade with a reason (POST /v1/appraisals/{id}:decide).
import { answerOr, boot, call, el, errorText, localTime, query, say } from "/console/shell.js";
import { fillOrgs, subtreeOrgs } from "/console/charts.js";

const GRADES = { excellent: "优秀", qualified: "合格", basically_qualified: "基本合格", unqualified: "不合格" };
const STATES = { draft: "草稿（未开启）", open: "投票中", closed: "投票已截止，待评定", decided: "已评定" };
const DECIDERS = { committee: "支委会", assembly: "支部党员大会" };
const FLAGS = {
  votes_against: "反对票较多，请支委会研究（不自动评为不合格）",
  negative_votes_top_points: "测评结果与积分不符：反对票较多，但年度积分居本支部前 10%",
  excellent_votes_low_points: "测评结果与积分不符：多数评为优秀，但年度积分居本支部后 10%",
};
const main = document.getElementById("main");
const status = document.getElementById("status");
const params = new URLSearchParams(location.search);
let orgs = [];

function counts(tally) {
  return Object.entries(GRADES).map(([grade, label]) => `${label} ${tally?.[grade] || 0}`).join(" · ");
}

function localInput(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

async function loadList() {
  const org = document.getElementById("org").value;
  const year = document.getElementById("year").value.trim();
  history.replaceState(null, "", query({ org, year, id: params.get("id") || "" }) || location.pathname);
  const answer = await answerOr(main, status, call("GET", `/v1/orgs/${encodeURIComponent(org)}/appraisals${query({ year, page_size: 100 })}`));
  if (!answer) return;
  const rows = answer.appraisals || [];
  document.getElementById("list-summary").textContent = rows.length ? `共 ${answer.total} 次民主评议` : "暂无民主评议";
  const body = rows.map((item) => el("tr", { "data-appraisal": item.id },
    el("td", {}, item.branch_name), el("td", {}, item.year), el("td", { class: "state" }, STATES[item.state] || item.state),
    el("td", {}, localTime(item.closes_at)), el("td", {}, `${item.voter_count} / ${item.member_count}`),
    el("td", { class: "result" }, item.state === "decided" ? counts(item.decided_counts) : "—"),
    el("td", {}, el("button", { type: "button", class: "btn btn-small", onclick: () => loadDetail(item.id) }, "查看"))));
  document.getElementById("list-table").replaceChildren(el("div", { class: "table-wrap" },
    el("table", { class: "table", id: "appraisal-rows" },
      el("thead", {}, el("tr", {}, ["支部", "年度", "状态", "投票截止", "已投票 / 参评", "评定结果", "操作"]
        .map((header) => el("th", { scope: "col" }, header)))),
      el("tbody", {}, body))));
  const chosen = orgs.find((item) => item.id === org);
  // one appraisal per branch and year: no form once the year's exists (the API refuses a second anyway)
  const yearWanted = document.getElementById("create-year").value.trim();
  document.getElementById("create-form").hidden = chosen?.kind !== "branch"
    || rows.some((item) => item.branch_id === org && item.year === yearWanted);
}

async function create(event) {
  event.preventDefault();
  const org = document.getElementById("org").value;
  const box = document.getElementById("create-status");
  const local = document.getElementById("create-closes").value;
  try {
    const made = await call("POST", `/v1/orgs/${encodeURIComponent(org)}/appraisals`, {
      year: document.getElementById("create-year").value.trim(),
      closes_at: local ? new Date(local).toISOString() : "",
    });
    say(box, `已创建 ${made.year} 年度民主评议（草稿），请核对名单后开启。`, "ok");
    await loadList();
    await loadDetail(made.id);
  } catch (error) {
    say(box, errorText(error), "error");
  }
}

function tallyCell(member, state) {
  if (state === "draft" || state === "open") return "投票截止后公布";
  return member.tally_shown ? counts(member.tally) : "投票人数不足 5 人，不公布计票结果";
}

async function loadDetail(id) {
  params.set("id", id);
  history.replaceState(null, "", `?${params.toString()}`);
  const item = await answerOr(main, status, call("GET", `/v1/appraisals/${encodeURIComponent(id)}`));
  if (!item) return;
  const section = document.getElementById("detail-section");
  section.hidden = false;
  section.dataset.appraisal = item.id;
  section.dataset.state = item.state;
  document.getElementById("detail-title").textContent = `${item.branch_name} ${item.year} 年度民主评议`;
  document.getElementById("detail-facts").replaceChildren(
    el("dt", {}, "状态"), el("dd", { id: "detail-state" }, STATES[item.state] || item.state),
    el("dt", {}, "投票截止"), el("dd", {}, localTime(item.closes_at)),
    el("dt", {}, "参评党员"), el("dd", {}, `${item.member_count} 名`),
    el("dt", {}, "已投票"), el("dd", { id: "detail-voters" }, `${item.voter_count} 人`),
    el("dt", {}, "已提交自评"), el("dd", {}, `${item.self_review_count} 人`),
    el("dt", {}, "优秀名额上限"), el("dd", {}, `${item.excellent_limit} 名`),
    ...(item.state === "decided" ? [el("dt", {}, "评定"), el("dd", {},
      `${DECIDERS[item.decided_by] || item.decided_by}，${localTime(item.decided_at)}；${counts(item.decided_counts)}`)] : []));
  const actions = document.getElementById("detail-actions");
  actions.replaceChildren();
  if (item.manager && item.state === "draft") {
    actions.append(el("button", { type: "button", class: "btn btn-primary", id: "open-appraisal",
      onclick: () => openAppraisal(item.id) }, "开启评议"));
  }
  say(document.getElementById("detail-status"), "");
  document.getElementById("tally-note").textContent = "投票为无记名投票，任何人（包括管理员）都无法查看个人投票内容；"
    + "某名党员的有效票少于 5 张时不公布计票结果。反对票较多只作为提示，等次由支委会或支部党员大会评定。";
  const members = item.members || [];
  document.getElementById("members-table").replaceChildren(el("div", { class: "table-wrap" },
    el("table", { class: "table", id: "member-rows" },
      el("thead", {}, el("tr", {}, ["姓名", "自我评价", "互评意见", "民主测评", "年度积分", "提示", "评定等次"]
        .map((header) => el("th", { scope: "col" }, header)))),
      el("tbody", {}, members.map((member) => el("tr", { "data-member": member.member_id },
        el("td", {}, member.name),
        el("td", {}, member.self_review || "未提交"),
        el("td", {}, (member.mutual_reviews || []).length
          ? el("ul", { class: "plain" }, member.mutual_reviews.map((text) => el("li", {}, text))) : "—"),
        el("td", { class: "tally" }, tallyCell(member, item.state)),
        el("td", {}, item.state === "closed" || item.state === "decided" ? String(member.points ?? 0) : "—"),
        el("td", { class: "flags" }, (member.flags || []).map((flag) => FLAGS[flag] || flag).join("；") || "—"),
        el("td", { class: "grade" }, member.grade ? `${GRADES[member.grade]}（${member.reason}）` : "—")))))));
  renderDecide(item);
}

function renderDecide(item) {
  const form = document.getElementById("decide-form");
  form.hidden = !(item.manager && item.state === "closed");
  if (form.hidden) return;
  document.getElementById("decide-hint").textContent =
    `请逐一评定每名党员的等次并说明理由；优秀不超过 ${item.excellent_limit} 名。测评结果只作参考，不会自动评为不合格。`;
  document.getElementById("decide-rows").replaceChildren(...(item.members || []).map((member) =>
    el("fieldset", { class: "decide-row", "data-member": member.member_id },
      el("legend", {}, member.name),
      el("label", {}, "等次", el("select", { name: "grade", required: true },
        el("option", { value: "" }, "请选择"),
        ...Object.entries(GRADES).map(([grade, label]) => el("option", { value: grade }, label)))),
      el("label", {}, "评定理由", el("input", { name: "reason", maxlength: "500", required: true })))));
  form.onsubmit = async (event) => {
    event.preventDefault();
    const grades = [...form.querySelectorAll(".decide-row")].map((row) => ({
      member_id: row.dataset.member, grade: row.querySelector("select").value,
      reason: row.querySelector("input").value.trim(),
    }));
    const box = document.getElementById("decide-status");
    try {
      await call("POST", `/v1/appraisals/${encodeURIComponent(item.id)}:decide`, {
        decided_by: document.getElementById("decided-by").value, grades,
      });
      say(box, "");
      await loadDetail(item.id);
      say(document.getElementById("detail-status"), "评定结果已提交，上级党组织和党员本人可以查看。", "ok");
      await loadList();
    } catch (error) {
      say(box, errorText(error), "error");
    }
  };
}

async function openAppraisal(id) {
  const box = document.getElementById("detail-status");
  try {
    await call("POST", `/v1/appraisals/${encodeURIComponent(id)}:open`, {});
    await loadDetail(id);
    say(box, "评议已开启，党员可在手机端提交自评、互评并投票。", "ok");
    await loadList();
  } catch (error) {
    say(box, errorText(error), "error");
  }
}

async function start() {
  const session = await boot("appraisal");
  if (!session) return;
  const found = await subtreeOrgs(session.roles, { secretaries: true });
  orgs = found.orgs;
  const wanted = params.get("org") || session.roles.secretary[0]?.org?.id || "";
  fillOrgs(document.getElementById("org"), orgs, found.roots, wanted);
  document.getElementById("year").value = params.get("year") || "";
  const now = new Date();
  document.getElementById("create-year").value = String(now.getFullYear());
  document.getElementById("create-closes").value = localInput(new Date(now.getTime() + 7 * 86400000));
  document.getElementById("filters").onsubmit = (event) => { event.preventDefault(); loadList(); };
  document.getElementById("org").onchange = loadList;
  document.getElementById("create-form").onsubmit = create;
  await loadList();
  if (params.get("id")) await loadDetail(params.get("id"));
}

start();
