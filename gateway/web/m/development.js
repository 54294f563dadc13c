// /m/development: my development record (我的发展纪实, GET /v1/me/development-record): the steps I reached with
// their dates, what the branch recorded on the way (talks, introducers, political review, training) and whether
// each step that must be published was opened for public scrutiny. Read only: the branch keeps the record.
import { get } from "/web/common/api.js";
import { h, mount, notice, formatTime } from "/web/common/ui.js";
import { session } from "/m/session.js";

const app = document.getElementById("app");
const STATUS = {
  applicant: "入党申请人", activist: "入党积极分子", development_target: "发展对象", probationary: "预备党员",
  full: "正式党员",
};
const KIND = { talk: "谈话", introducers: "确定入党介绍人", political_review: "政治审查", training: "培训" };
const PURPOSE = { application: "入党申请人谈话", cultivation: "培养考察谈话", admission: "入党前谈话", probation: "预备期谈话" };
const STAGE = { activist: "入党积极分子培训", development_target: "发展对象集中培训" };
const OUTCOME = { passed: "合格", failed: "不合格" };
const PUBLICITY_STEP = { development_target: "确定为发展对象", probationary: "接收为预备党员", full: "预备党员转正" };
const PUBLICITY_STATE = { open: "公示中", closed: "公示期满", suspended: "已暂停", missing: "未公示", unknown: "暂时无法获取" };

function entryText(entry) {
  if (entry.kind === "talk") return `${PURPOSE[entry.purpose] || ""}（谈话人：${entry.talker}）：${entry.summary}`;
  if (entry.kind === "introducers") return `入党介绍人：${(entry.introducers || []).map((i) => i.name).join("、")}`;
  if (entry.kind === "political_review") return `结论：${OUTCOME[entry.outcome] || ""}。${entry.conclusion}`;
  if (entry.kind === "training") return `${STAGE[entry.stage] || ""}：${entry.course}，${entry.hours} 学时`;
  return "";
}

function stepsCard(record) {
  return h("section", { class: "card", id: "my-steps" }, h("h2", {}, "发展阶段"),
    h("ol", { class: "list" }, record.steps.map((step) => h("li", { class: "row" },
      h("span", { class: "grow" }, STATUS[step.status] || step.status), h("span", { class: "muted" }, step.on)))),
    h("p", { class: "small muted" }, `当前：${STATUS[record.status] || record.status} · ${record.branch_name}`));
}

function entriesCard(record) {
  const live = record.entries.filter((entry) => !entry.superseded_by);
  return h("section", { class: "card", id: "my-entries" }, h("h2", {}, "纪实记录"),
    live.length
      ? h("ul", { class: "list" }, live.map((entry) => h("li", { class: "entry", dataset: { kind: entry.kind } },
          h("strong", {}, `${entry.on} ${KIND[entry.kind] || entry.kind}`),
          entry.corrects ? h("span", { class: "badge" }, "已更正") : null,
          h("p", {}, entryText(entry)),
          h("p", { class: "small muted" }, `记录人：${entry.recorded_by_name || "—"} · ${formatTime(entry.recorded_at)}`))))
      : h("p", { class: "muted" }, "支部尚未记录谈话、培训等情况。"));
}

function publicityCard(record) {
  const rows = record.publicity || [];
  return h("section", { class: "card", id: "my-publicity" }, h("h2", {}, "公示情况"),
    rows.length
      ? h("ul", { class: "list" }, rows.map((row) => h("li", { class: "row" },
          h("span", { class: "grow" }, PUBLICITY_STEP[row.step] || row.step,
            row.opens_on ? h("span", { class: "small muted" }, ` ${row.opens_on} 至 ${row.closes_on}`) : null),
          h("span", { class: `badge ${row.state === "closed" ? "badge-ok" : row.state === "open" ? "badge-warn" : ""}` },
            PUBLICITY_STATE[row.state] || row.state))))
      : h("p", { class: "muted" }, "确定为发展对象、接收为预备党员和转正时，将在上级党组织公示。"));
}

async function render() {
  const current = await session(() => render(), [notice("info", "该账号不是党员账号", "管理人员请在电脑管理端查看发展党员纪实。"),
    h("p", {}, h("a", { href: "/console/development" }, "进入发展党员纪实管理"))]);
  if (!current) return;
  let record;
  try {
    record = await get("/v1/me/development-record");
  } catch (error) {
    mount(app, notice("error", "无法加载发展纪实", error.message));
    return;
  }
  const outstanding = (record.outstanding || []).map((row) => row.message);
  mount(app, stepsCard(record),
    outstanding.length ? notice("info", "下一步前还需完成", ...outstanding) : null,
    entriesCard(record), publicityCard(record));
}

render();
