// 发展党员纪实: the members in development of a subtree (GET /v1/orgs/{id}/development-records), and each one's
// record (GET /v1/members/{id}/development-record): its dated steps, the entries the branch keeps (talks,
// introducers, political review, training), the publicity of each publicised step with its objections (for the
// superior's admins) and what is still missing before the next step. Entries are added with
// POST /v1/members/{id}/development-record/entries and never changed: a correction is a new entry naming the old.
// The API decides who sees and who writes; its refusals are shown in Chinese.
import { allPages, boot, call, el, isDenied, localTime, say, showDenied, table } from "/console/shell.js";
import { MEMBER_STATUS_LABELS, fetchJson, orgOptions, pager, refusalText, scopeRoots } from "/console/people.js";

const PAGE_SIZE = 50;
const main = document.getElementById("main");
const status = document.getElementById("development-status-line");
const form = document.getElementById("development-filters");
const recordSection = document.getElementById("development-record");
let listPager = null;

const KIND_LABELS = { talk: "谈话", introducers: "确定入党介绍人", political_review: "政治审查", training: "培训" };
const PURPOSE_LABELS = {
  application: "入党申请人谈话", cultivation: "培养考察谈话", admission: "入党前谈话", probation: "预备期谈话",
};
const STAGE_LABELS = { activist: "入党积极分子培训", development_target: "发展对象集中培训" };
const OUTCOME_LABELS = { passed: "合格", failed: "不合格" };
const PUBLICITY_STEP_LABELS = { development_target: "确定为发展对象", probationary: "接收为预备党员", full: "预备党员转正" };
const PUBLICITY_STATE_LABELS = {
  open: "公示中", closed: "公示期满", suspended: "已暂停（异议属实）", missing: "未公示", unknown: "暂时无法获取",
};

function today() {
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai" }).format(new Date());
  return parts;       // en-CA formats as YYYY-MM-DD
}

/** What an entry says, in one line. */
function entryText(entry) {
  switch (entry.kind) {
    case "talk":
      return `${PURPOSE_LABELS[entry.purpose] || entry.purpose}；谈话人：${entry.talker}；${entry.summary}`;
    case "introducers":
      return `入党介绍人：${(entry.introducers || []).map((i) => i.name).join("、")}`;
    case "political_review":
      return `审查结论：${OUTCOME_LABELS[entry.outcome] || entry.outcome}；${entry.conclusion}`;
    case "training":
      return `${STAGE_LABELS[entry.stage] || entry.stage}：${entry.course}，${entry.hours} 学时`;
    default:
      return "";
  }
}

// ------------------------------------------------------------------------------------------ the applicant list
async function showPage(token) {
  const answer = await fetchJson(`/v1/orgs/${encodeURIComponent(form.org.value)}/development-records`,
    { status: form.status.value, page_size: PAGE_SIZE, page_token: token });
  const applicants = answer.applicants || [];
  const view = table(["姓名", "所在支部", "当前阶段", "阶段日期", "纪实记录", "操作"],
    applicants.map((row) => [row.name, row.branch_name, MEMBER_STATUS_LABELS[row.status] || row.status,
      row.status_on || "—", `${row.entries} 条`,
      el("button", { type: "button", class: "btn btn-small open-record", onclick: () => openRecord(row.member_id) },
        "查看纪实")]), { id: "applicants" });
  view.querySelectorAll("tbody tr").forEach((tr, index) => { tr.dataset.member = applicants[index].member_id; });
  document.getElementById("applicant-table").replaceChildren(applicants.length ? view
    : el("p", { class: "muted", id: "applicants-empty" }, "该范围内暂无处于发展阶段的人员。"));
  return answer;
}

// ------------------------------------------------------------------------------------------ one record
async function openRecord(memberId) {
  const params = new URLSearchParams(location.search);
  params.set("member", memberId);
  history.replaceState(null, "", `?${params}`);
  let record;
  try {
    record = await call("GET", `/v1/members/${encodeURIComponent(memberId)}/development-record`);
  } catch (error) {
    recordSection.hidden = false;
    recordSection.replaceChildren(el("p", { class: "notice notice-error", id: "record-error", role: "alert" },
      refusalText(error)));
    return;
  }
  renderRecord(record);
  recordSection.scrollIntoView({ block: "start" });
}

function stepsCard(record) {
  const rows = record.steps.map((step) => [MEMBER_STATUS_LABELS[step.status] || step.status, step.on,
    step.recorded_by_name || "—", step.recorded_at ? localTime(step.recorded_at) : "—"]);
  return el("section", { class: "card", id: "record-steps" }, el("h3", {}, "发展阶段"),
    rows.length ? table(["阶段", "日期", "记录人", "记录时间"], rows) : el("p", { class: "muted" }, "暂无阶段记录。"));
}

function publicityCard(record) {
  const rows = (record.publicity || []).map((row) => {
    const period = row.opens_on ? `${row.opens_on} 至 ${row.closes_on}` : "—";
    const objections = row.objections_visible
      ? `${row.objections} 条${row.pending_objections ? `（${row.pending_objections} 条待核实）` : ""}`
      : "由上级党组织核实";
    return [PUBLICITY_STEP_LABELS[row.step] || row.step, row.step_on, period,
      el("span", { class: `badge publicity-state ${row.state === "missing" || row.state === "suspended" ? "badge-err" : ""}` },
        PUBLICITY_STATE_LABELS[row.state] || row.state), objections];
  });
  return el("section", { class: "card", id: "record-publicity" }, el("h3", {}, "公示情况"),
    rows.length ? table(["公示事项", "阶段日期", "公示期", "状态", "异议"], rows, { id: "publicity-rows" })
      : el("p", { class: "muted" }, "尚未进入需要公示的阶段（确定为发展对象、接收为预备党员、预备党员转正须公示）。"));
}

function entriesCard(record, entryForm) {
  const byId = new Map(record.entries.map((entry) => [entry.id, entry]));
  const rows = record.entries.map((entry) => {
    const state = entry.superseded_by ? el("span", { class: "badge badge-warn" }, "已被更正")
      : entry.corrects ? el("span", { class: "badge" }, `更正 ${byId.get(entry.corrects)?.on || ""} 的记录`) : "有效";
    const correct = entry.superseded_by ? "" : el("button", { type: "button", class: "btn btn-small correct-entry",
      onclick: () => entryForm.correct(entry) }, "更正");
    return [entry.on, KIND_LABELS[entry.kind] || entry.kind,
      el("span", {}, entryText(entry), entry.note ? el("div", { class: "small muted" }, `备注：${entry.note}`) : null),
      entry.recorded_by_name || "—", localTime(entry.recorded_at), state, correct];
  });
  const view = table(["日期", "类型", "内容", "记录人", "记录时间", "状态", "操作"], rows, { id: "record-entries" });
  view.querySelectorAll("tbody tr").forEach((tr, index) => {
    tr.dataset.entry = record.entries[index].id;
    tr.dataset.kind = record.entries[index].kind;
    if (record.entries[index].superseded_by) tr.classList.add("muted");
  });
  return el("section", { class: "card", id: "record-entry-list" }, el("h3", {}, "纪实记录"),
    rows.length ? view : el("p", { class: "muted", id: "record-entries-empty" }, "尚无纪实记录。"));
}

/** The form adding one entry; `correct(entry)` turns it into the correction of that entry. */
function entryFormOf(record) {
  const line = el("p", { class: "notice notice-info", id: "entry-status", role: "status", hidden: true });
  const correcting = el("p", { class: "notice notice-warn", id: "entry-correcting", hidden: true });
  const kind = el("select", { name: "kind", id: "entry-kind" },
    Object.entries(KIND_LABELS).map(([value, label]) => el("option", { value }, label)));
  const on = el("input", { type: "date", name: "on", id: "entry-on", required: true, max: today(), value: today() });
  const introducerOptions = [el("option", { value: "" }, "请选择")];
  const introducer = (id) => el("select", { name: id, id: `entry-${id}` }, introducerOptions.map((o) => o.cloneNode(true)));
  const groups = {
    talk: el("div", { class: "entry-fields", dataset: { kind: "talk" } },
      el("label", {}, "谈话类型", el("select", { name: "purpose", id: "entry-purpose" },
        Object.entries(PURPOSE_LABELS).map(([value, label]) => el("option", { value }, label)))),
      el("label", {}, "谈话人", el("input", { name: "talker", id: "entry-talker", maxlength: 50 })),
      el("label", {}, "谈话内容", el("textarea", { name: "summary", id: "entry-summary", maxlength: 2000, rows: 3 }))),
    introducers: el("div", { class: "entry-fields", dataset: { kind: "introducers" } },
      el("label", {}, "第一入党介绍人", introducer("introducer1")),
      el("label", {}, "第二入党介绍人", introducer("introducer2")),
      el("p", { class: "small muted" }, "入党介绍人须为本支部的正式党员，共两名。")),
    political_review: el("div", { class: "entry-fields", dataset: { kind: "political_review" } },
      el("label", {}, "审查结论", el("select", { name: "outcome", id: "entry-outcome" },
        Object.entries(OUTCOME_LABELS).map(([value, label]) => el("option", { value }, label)))),
      el("label", {}, "审查意见", el("textarea", { name: "conclusion", id: "entry-conclusion", maxlength: 2000, rows: 3 }))),
    training: el("div", { class: "entry-fields", dataset: { kind: "training" } },
      el("label", {}, "培训类型", el("select", { name: "stage", id: "entry-stage" },
        Object.entries(STAGE_LABELS).map(([value, label]) => el("option", { value }, label)))),
      el("label", {}, "培训内容", el("input", { name: "course", id: "entry-course", maxlength: 200 })),
      el("label", {}, "学时", el("input", { type: "number", name: "hours", id: "entry-hours", min: 1, max: 500, step: 1 }))),
  };
  const note = el("input", { name: "note", id: "entry-note", maxlength: 500, placeholder: "可选；更正时必填更正原因" });
  const submit = el("button", { type: "submit", class: "btn btn-primary", id: "entry-submit" }, "保存记录");
  const cancel = el("button", { type: "button", class: "btn", id: "entry-cancel", hidden: true }, "取消更正");
  const entryForm = el("form", { class: "card", id: "entry-form" }, el("h3", {}, "新增纪实记录"), correcting,
    el("div", { class: "filters" }, el("label", {}, "类型", kind), el("label", {}, "日期", on)),
    ...Object.values(groups), el("label", {}, "备注", note), line, el("div", { class: "actions" }, submit, " ", cancel));
  let corrects = "";
  const show = () => Object.entries(groups).forEach(([key, group]) => { group.hidden = key !== kind.value; });
  kind.addEventListener("change", show);
  show();
  cancel.addEventListener("click", () => {
    corrects = "";
    correcting.hidden = true;
    cancel.hidden = true;
    kind.disabled = false;
  });
  // the branch's full members: the only ones who may introduce (the service checks again)
  allPages(`/v1/orgs/${encodeURIComponent(record.branch_id)}/members`, { status: "full", page_size: 200 }, "members")
    .then((members) => {
      const options = members.filter((m) => m.id !== record.member_id).map((m) => el("option", { value: m.id }, m.name));
      for (const id of ["introducer1", "introducer2"]) entryForm.querySelector(`#entry-${id}`).append(...options.map((o) => o.cloneNode(true)));
    })
    .catch(() => {});
  entryForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { kind: kind.value, on: on.value, note: note.value.trim(), corrects };
    const value = (id) => entryForm.querySelector(`#entry-${id}`).value.trim();
    if (kind.value === "talk") Object.assign(body, { purpose: value("purpose"), talker: value("talker"), summary: value("summary") });
    if (kind.value === "introducers") body.introducer_ids = [value("introducer1"), value("introducer2")].filter(Boolean);
    if (kind.value === "political_review") Object.assign(body, { outcome: value("outcome"), conclusion: value("conclusion") });
    if (kind.value === "training") Object.assign(body, { stage: value("stage"), course: value("course"), hours: Number(value("hours")) || 0 });
    submit.disabled = true;
    try {
      await call("POST", `/v1/members/${encodeURIComponent(record.member_id)}/development-record/entries`, body);
      say(status, `已记入${record.name}的发展纪实：${KIND_LABELS[kind.value]}`, "ok");
      await openRecord(record.member_id);
      if (listPager) listPager.first().catch(() => {});
    } catch (error) {
      say(line, refusalText(error), "error");
    } finally {
      submit.disabled = false;
    }
  });
  entryForm.correct = (entry) => {
    corrects = entry.id;
    kind.value = entry.kind;
    kind.disabled = true;
    show();
    on.value = entry.on;
    correcting.hidden = false;
    correcting.textContent = `正在更正 ${entry.on} 的${KIND_LABELS[entry.kind]}记录：原记录保留并标记为已被更正，请在备注中写明更正原因。`;
    cancel.hidden = false;
    note.focus();
  };
  return entryForm;
}

function renderRecord(record) {
  const entryForm = entryFormOf(record);
  const outstanding = (record.outstanding || []).map((row) => el("li", {}, row.message));
  recordSection.hidden = false;
  recordSection.dataset.member = record.member_id;
  recordSection.replaceChildren(
    el("h2", { id: "record-title" }, `${record.name}的发展纪实`),
    el("p", { class: "muted" }, `${record.branch_name} · 当前阶段：${MEMBER_STATUS_LABELS[record.status] || record.status}`),
    outstanding.length ? el("div", { class: "notice notice-warn", id: "record-outstanding" },
      el("strong", {}, "待补记录："), el("ul", {}, outstanding)) : null,
    stepsCard(record), publicityCard(record), entriesCard(record, entryForm), entryForm);
}

// ------------------------------------------------------------------------------------------ start
async function load() {
  say(status, "");
  try {
    await listPager.first();
  } catch (error) {
    if (isDenied(error)) showDenied(main, error);
    else say(status, refusalText(error), "error");
  }
}

const { roles } = await boot("development");
const roots = scopeRoots(roles);
const params = new URLSearchParams(location.search);
form.org.replaceChildren(...orgOptions(roots));
const asked = params.get("org") || "";
if (asked && !roots.some((org) => org.id === asked)) form.org.append(el("option", { value: asked }, "（链接中的组织）"));
if (asked) form.org.value = asked;
form.status.value = params.get("status") || "";
listPager = pager(document.getElementById("applicant-pager"), showPage);
form.addEventListener("submit", (event) => {
  event.preventDefault();
  history.replaceState(null, "", `?${new URLSearchParams({ org: form.org.value, status: form.status.value })}`);
  recordSection.hidden = true;
  load();
});
if (roots.length) await load();
if (params.get("member")) await openRecord(params.get("member"));
