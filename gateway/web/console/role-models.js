// 每周一先、每月一星: a branch's candidates of a week or a month, proposed from the period's member points
// (GET /v1/branches/{id}/role-model-candidates, each with its reason); the secretary or an admin above names one with
// a citation (POST /v1/branches/{id}/role-models), published in the branch's and the county's role-model columns;
// the role models named in the chosen subtree (GET /v1/orgs/{id}/role-models).
import { answerOr, boot, call, el, errorText, localTime, query, say, table } from "/console/shell.js";
import { fillOrgs, subtreeOrgs } from "/console/charts.js";

const main = document.getElementById("main");
const status = document.getElementById("status");
const filters = document.getElementById("filters");
const content = document.getElementById("content");
const KINDS = { weekly_pioneer: "每周一先", monthly_star: "每月一星" };

function nameForm(branchId, kind, period, candidate) {
  const form = el("form", { class: "name-form" },
    el("input", { name: "citation", required: true, maxlength: 500, placeholder: "先进事迹（必填）" }),
    el("button", { type: "submit", class: "btn btn-small btn-primary" }, "确认评选"));
  form.onsubmit = async (event) => {
    event.preventDefault();
    try {
      const named = await call("POST", `/v1/branches/${encodeURIComponent(branchId)}/role-models`,
        { kind, period, member_id: candidate.member_id, citation: form.citation.value });
      say(status, `已确认${named.member_name}为${KINDS[kind]}，并已在支部和县（区）栏目发布`, "ok");
      await load();
    } catch (error) {
      say(status, errorText(error), "error");
    }
  };
  return form;
}

async function load() {
  const branchId = filters.branch.value;
  const kind = filters.kind.value;
  const period = filters.period.value.trim();
  const proposal = await answerOr(main, status, call("GET",
    `/v1/branches/${encodeURIComponent(branchId)}/role-model-candidates${query({ kind, period })}`));
  if (!proposal) return;
  filters.period.value = proposal.period;
  const named = proposal.named;
  const candidates = proposal.candidates.length
    ? table(["党员", "本期积分", "推荐理由", named ? "" : "确认"], proposal.candidates.map((candidate) => [
        candidate.name, String(candidate.points), candidate.reason + (candidate.named_before ? "（上期已当选）" : ""),
        named ? "" : nameForm(branchId, kind, proposal.period, candidate)]), { class: "table candidates" })
    : el("p", { class: "muted" }, "本期暂无积分为正且无扣分、缺勤记录的党员。");
  const listed = await call("GET", `/v1/orgs/${encodeURIComponent(branchId)}/role-models${query({ kind })}`)
    .catch(() => ({ role_models: [] }));
  content.replaceChildren(
    el("section", { class: "card", id: "proposal" },
      el("h2", {}, `${KINDS[kind]} · ${proposal.period}（${proposal.since} 至 ${proposal.until}）`),
      named ? el("p", { class: "notice notice-ok", id: "named" },
        `本期已确认：${named.member_name}。事迹：${named.citation}`) : null,
      el("p", { class: "small muted" }, "按本期党员积分推荐（含学习、答题积分）；有扣分或缺勤记录的党员不在推荐之列。"),
      candidates),
    el("section", { class: "card" }, el("h2", {}, "历次评选"),
      listed.role_models.length ? table(["周期", "类别", "党员", "事迹", "确认时间"], listed.role_models.map((row) => [
        row.period, KINDS[row.kind], row.member_name, row.citation, localTime(row.named_at)]))
        : el("p", { class: "muted" }, "暂无记录。")));
}

async function start() {
  const { roles } = await boot("role-models");
  const params = new URLSearchParams(location.search);
  const { roots, orgs } = await subtreeOrgs(roles, { secretaries: true });
  const branches = orgs.filter((org) => org.kind === "branch");
  const branchSelect = el("select", { name: "branch", id: "branch" });
  fillOrgs(branchSelect, branches, roots, params.get("branch"));
  const kindSelect = el("select", { name: "kind", id: "kind" },
    Object.entries(KINDS).map(([value, label]) => el("option", { value }, label)));
  kindSelect.value = params.get("kind") || "monthly_star";
  filters.replaceChildren(el("label", {}, "党支部", branchSelect), el("label", {}, "类别", kindSelect),
    el("label", {}, "周期", el("input", { name: "period", id: "period", placeholder: "如 2026-12 或 2026-W49",
      value: params.get("period") || "" })),
    el("button", { type: "submit", class: "btn" }, "推荐人选"));
  filters.onsubmit = (event) => { event.preventDefault(); load(); };
  kindSelect.onchange = () => { filters.period.value = ""; };
  if (branches.length || params.get("branch")) await load();
  else content.replaceChildren(el("p", { class: "muted" }, "您的管理范围内没有党支部。"));
}

start();
