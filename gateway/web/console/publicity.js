// 发展党员公示: the development publicities of a subtree (GET /v1/orgs/{id}/publicities), opened by the service when
// identity records a step to development target or probationary member; for the admins of the notice's node or
// above, each publicity's objections with who objected (GET /v1/publicities/{id}/objections), and how each was
// handled (POST /v1/objections/{id}:handle; a sustained objection suspends the publicity).
import { answerOr, boot, call, el, errorText, localTime, query, say, table } from "/console/shell.js";
import { fillOrgs, subtreeOrgs } from "/console/charts.js";

const main = document.getElementById("main");
const status = document.getElementById("status");
const filters = document.getElementById("filters");
const content = document.getElementById("content");
const STEP = { development_target: "发展对象", probationary: "预备党员", full: "转为正式党员" };
const STATE = { open: "公示中", closed: "公示期满", suspended: "已暂停（异议属实）" };
const OUTCOME = { dismissed: "不属实", sustained: "属实" };

async function showObjections(publicity, holder) {
  let answer;
  try {
    answer = await call("GET", `/v1/publicities/${encodeURIComponent(publicity.id)}/objections`);
  } catch (error) {
    holder.replaceChildren(el("p", { class: "notice notice-warn" }, errorText(error)));
    return;
  }
  const rows = answer.objections.map((objection) => {
    const who = objection.anonymous ? `匿名（账号 ${objection.account_id}）` : `${objection.name}（账号 ${objection.account_id}）`;
    let handling = `${OUTCOME[objection.outcome] || ""} ${objection.note || ""}`.trim();
    if (objection.state === "pending") {
      const form = el("form", { class: "handle-form" },
        el("select", { name: "outcome" }, el("option", { value: "dismissed" }, "不属实"), el("option", { value: "sustained" }, "属实")),
        el("input", { name: "note", required: true, maxlength: 2000, placeholder: "核实和处理情况" }),
        el("button", { type: "submit", class: "btn btn-small" }, "记录处理"));
      form.onsubmit = async (event) => {
        event.preventDefault();
        try {
          await call("POST", `/v1/objections/${encodeURIComponent(objection.id)}:handle`,
            { outcome: form.outcome.value, note: form.note.value });
          say(status, "已记录处理情况", "ok");
          await load();
        } catch (error) {
          say(status, errorText(error), "error");
        }
      };
      handling = form;
    }
    return [localTime(objection.submitted_at), who, objection.reason, handling];
  });
  holder.replaceChildren(rows.length ? table(["提出时间", "提出人", "异议内容", "处理"], rows, { class: "table objections" })
    : el("p", { class: "muted" }, "暂无异议。"));
}

function publicityRow(publicity) {
  const holder = el("div", { class: "objections-holder" });
  const counts = publicity.objections !== undefined && publicity.objections !== null
    ? `${publicity.objections} 条（待处理 ${publicity.pending_objections}）` : "—";
  const card = el("article", { class: "card publicity", "data-id": publicity.id },
    el("h3", {}, `${publicity.member_name}（拟${STEP[publicity.step] || publicity.step}）`, " ",
      el("span", { class: `badge badge-${publicity.state === "open" ? "warn" : publicity.state === "closed" ? "ok" : "err"}` },
        STATE[publicity.state] || publicity.state)),
    el("p", { class: "small muted" }, `${publicity.branch_name} · 公示于${publicity.org_name} · ${publicity.opens_on} 至 ${publicity.closes_on} · 异议 ${counts}`),
    holder);
  if (publicity.objections !== undefined) {
    card.insertBefore(el("button", { type: "button", class: "btn btn-small show-objections",
      onclick: () => showObjections(publicity, holder) }, "查看异议"), holder);
  }
  return card;
}

async function load() {
  const orgId = filters.org.value;
  const answer = await answerOr(main, status, call("GET",
    `/v1/orgs/${encodeURIComponent(orgId)}/publicities${query({ state: filters.state.value, page_size: 200 })}`));
  if (!answer) return;
  content.replaceChildren(el("p", { class: "summary" }, `共 ${answer.total} 项公示`),
    ...(answer.publicities.length ? answer.publicities.map(publicityRow) : [el("p", { class: "muted" }, "暂无公示。")]));
}

async function start() {
  const { roles } = await boot("publicity");
  const params = new URLSearchParams(location.search);
  const { roots, orgs } = await subtreeOrgs(roles, { secretaries: true });
  const orgSelect = el("select", { name: "org", id: "org" });
  fillOrgs(orgSelect, orgs, roots, params.get("org"));
  const stateSelect = el("select", { name: "state", id: "state" },
    [["", "全部"], ["open", "公示中"], ["closed", "公示期满"], ["suspended", "已暂停"]].map(([value, label]) =>
      el("option", { value }, label)));
  filters.replaceChildren(el("label", {}, "组织范围", orgSelect), el("label", {}, "状态", stateSelect),
    el("button", { type: "submit", class: "btn" }, "查询"));
  filters.onsubmit = (event) => { event.preventDefault(); load(); };
  await load();
}

start();
