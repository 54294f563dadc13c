// 三会一课台账: GET /v1/orgs/{id}/meeting-ledger for a subtree and a month: every branch's owed meetings in the
// periods containing that month (required against held), yellow and red, and per field (领域) the branches behind,
// drawn as a stacked bar chart beside its table twin from the same numbers.
import { FIELD_LABELS, boot, call, el, errorText, query, say, table } from "/console/shell.js";
import { draw, fillOrgs, resizeCharts, subtreeOrgs, twin } from "/console/charts.js";

const STATE_LABELS = { ok: "已完成", pending: "未到期", yellow: "黄灯", red: "红灯" };
const STATE_BADGES = { ok: "badge-ok", pending: "badge-info", yellow: "badge-warn", red: "badge-err" };
const form = document.getElementById("ledger-filters");
const status = document.getElementById("ledger-status");
let nextToken = "";

const badge = (state) => el("span", { class: `badge ${STATE_BADGES[state] || ""} ledger-state`, dataset: { state } },
  STATE_LABELS[state] || state);
const fieldName = (field) => FIELD_LABELS[field] || (field ? field : "未分类");

function itemCell(item) {
  return el("div", { class: "ledger-item", dataset: { type: item.type, state: item.state } },
    `${item.label}（${item.period}）应开 ${item.required} 次，已开 ${item.held} 次 `, badge(item.state));
}

function rowCells(row) {
  return [row.branch_name, fieldName(row.field), badge(row.state), el("div", {}, ...row.items.map(itemCell))];
}

function rowsTable(rows) {
  const built = table(["支部", "领域", "状态", "应开与已开"], rows.map(rowCells), { id: "ledger-rows" });
  const body = built.querySelector("tbody");
  rows.forEach((row, index) => { body.children[index].dataset.branch = row.branch_id; });
  return built;
}

async function load(append = false) {
  const params = { month: form.month.value, field: form.field.value, state: form.state.value, page_size: 200,
                   page_token: append ? nextToken : "" };
  say(status, "正在计算台账…");
  try {
    const ledger = await call("GET", `/v1/orgs/${encodeURIComponent(form.org.value)}/meeting-ledger${query(params)}`);
    say(status, "");
    document.getElementById("ledger-result").hidden = false;
    document.getElementById("ledger-summary").textContent =
      `${ledger.month} 所在周期（截至 ${ledger.today}）：共 ${ledger.branches} 个支部，落后 ${ledger.behind} 个，` +
      `其中黄灯 ${ledger.yellow} 个、红灯 ${ledger.red} 个。`;
    const fields = ledger.by_field;
    twin(document.getElementById("ledger-fields"), ["领域", "支部数", "黄灯", "红灯", "落后合计"],
      fields.map((f) => [fieldName(f.field), String(f.branches), String(f.yellow), String(f.red), String(f.behind)]),
      "ledger-field-table");
    draw(document.getElementById("ledger-chart"), {
      grid: { left: 16, right: 32, top: 36, bottom: 24, containLabel: true },
      legend: { data: ["黄灯", "红灯"], top: 4 },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      xAxis: { type: "category", data: fields.map((f) => fieldName(f.field)) },
      yAxis: { type: "value", name: "落后支部数", minInterval: 1 },
      series: [
        { type: "bar", name: "黄灯", stack: "behind", data: fields.map((f) => f.yellow), itemStyle: { color: "#e6a23c" },
          barMaxWidth: 48 },
        { type: "bar", name: "红灯", stack: "behind", data: fields.map((f) => f.red), itemStyle: { color: "#c0392b" },
          barMaxWidth: 48 },
      ],
    }, 320);
    const holder = document.getElementById("ledger-table");
    if (append) {
      const body = holder.querySelector("tbody");
      const more = rowsTable(ledger.rows).querySelectorAll("tbody tr");
      body.append(...more);
    } else {
      holder.replaceChildren(ledger.rows.length ? rowsTable(ledger.rows)
        : el("p", { class: "muted", id: "ledger-empty" }, "没有符合条件的支部。"));
    }
    nextToken = ledger.next_page_token || "";
    document.getElementById("ledger-more").hidden = !nextToken;
    const url = new URL(location.href);
    url.search = new URLSearchParams({ org: form.org.value, month: ledger.month }).toString();
    history.replaceState(null, "", url);
  } catch (error) {
    say(status, errorText(error), "error");
  }
}

const { roles } = await boot("meeting-ledger");
const params = new URLSearchParams(location.search);
for (const [value, label] of Object.entries(FIELD_LABELS)) form.field.append(el("option", { value }, label));
const { roots, orgs } = await subtreeOrgs(roles, { secretaries: true });
fillOrgs(form.org, orgs.filter((org) => org.kind !== "group"), roots, params.get("org"));
const now = new Date(new Date().toLocaleString("en-US", { timeZone: "Asia/Shanghai" }));
form.month.value = params.get("month") || `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, "0")}`;
form.addEventListener("submit", (event) => {
  event.preventDefault();
  load();
});
document.getElementById("ledger-more").addEventListener("click", () => load(true));
resizeCharts();
load();
