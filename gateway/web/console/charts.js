// What the console's scoring pages share: the organisation and period choices, an ECharts chart drawn next to its
// table twin from the same numbers, and the CSV of that table. The pages only call the API.
import { KIND_LABELS, allPages, csvField, downloadText, el, table } from "/console/shell.js";

export const STAGE_LABELS = {
  issued: "已下发", submitted: "已提交计划", approved: "已审核通过", held: "已开展", closed: "已结束",
};
export const CATEGORY_LABELS = {
  township: "乡镇", street: "街道", college: "高校", enterprise: "企业", organ: "机关", other: "其他",
};
export const REPORT_KINDS = { month: ["supervision", "督导清单"], quarter: ["bulletin", "季度通报"], year: ["assessment", "年度考核"] };

/** "2026-05" | "2026-Q2" | "2026" -> "month" | "quarter" | "year" ("" when none). */
export function periodKind(period) {
  if (/^\d{4}-\d{2}$/.test(period)) return "month";
  if (/^\d{4}-Q[1-4]$/.test(period)) return "quarter";
  if (/^\d{4}$/.test(period)) return "year";
  return "";
}

export function currentPeriod(kind) {
  const now = new Date();
  if (kind === "month") return `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, "0")}`;
  if (kind === "quarter") return `${now.getFullYear()}-Q${Math.floor(now.getMonth() / 3) + 1}`;
  return String(now.getFullYear());
}

/** The month `back` months before this one, "YYYY-MM". */
export function monthBefore(back) {
  const now = new Date();
  const day = new Date(now.getFullYear(), now.getMonth() - back, 1);
  return `${day.getFullYear()}-${String(day.getMonth() + 1).padStart(2, "0")}`;
}

/** [value, label] choices of a period kind, newest first. */
export function periodsOf(kind) {
  const now = new Date();
  const year = now.getFullYear();
  const periods = [];
  if (kind === "month") {
    for (let back = -3; back < 24; back += 1) {
      const month = monthBefore(back);
      periods.push([month, `${month.slice(0, 4)}年${Number(month.slice(5))}月`]);
    }
  } else if (kind === "quarter") {
    const quarter = Math.floor(now.getMonth() / 3);
    for (let back = -1; back < 8; back += 1) {
      const index = year * 4 + quarter - back;
      const [y, q] = [Math.floor(index / 4), (index % 4) + 1];
      periods.push([`${y}-Q${q}`, `${y}年第${q}季度`]);
    }
  } else {
    for (let back = 0; back < 5; back += 1) periods.push([String(year - back), `${year - back}年`]);
  }
  return periods;
}

/** Fill a <select> with the periods of a kind; a chosen period not among them (from the address) is kept. */
export function fillPeriods(select, kind, chosen) {
  const options = periodsOf(kind);
  if (chosen && !options.some(([value]) => value === chosen)) options.unshift([chosen, chosen]);
  select.replaceChildren(...options.map(([value, label]) => el("option", { value }, label)));
  select.value = chosen || currentPeriod(kind);
}

/** The organisations of the caller's admin (and, if asked, secretary) grants' subtrees, as ListSubtree gives them. */
export async function subtreeOrgs(roles, { secretaries = false } = {}) {
  const roots = [...roles.admin, ...(secretaries ? roles.secretary : [])].map((grant) => grant.org);
  const seen = new Map();
  for (const root of roots) {
    let orgs;
    try {
      orgs = await allPages(`/v1/orgs/${encodeURIComponent(root.id)}/subtree`, { page_size: 500 }, "orgs", 20);
    } catch (error) {
      orgs = [root];
    }
    for (const org of orgs) if (!seen.has(org.id)) seen.set(org.id, org);
  }
  return { roots, orgs: [...seen.values()] };
}

/** An organisation's line in a choice list: indented by its depth under the caller's first root. */
export function orgLabel(org, roots) {
  const indent = "　".repeat(Math.max(0, (org.level || 0) - (roots[0]?.level || 0)));
  return `${indent}${org.name}（${KIND_LABELS[org.kind] || ""}）`;
}

/** Fill a <select> with organisations; one named in the address but not among them is added as it is, so the API
 * (not the page) decides, and refuses it. */
export function fillOrgs(select, orgs, roots, wanted) {
  const options = orgs.map((org) => el("option", { value: org.id }, orgLabel(org, roots)));
  if (wanted && !orgs.some((org) => org.id === wanted)) options.unshift(el("option", { value: wanted }, wanted));
  select.replaceChildren(...options);
  select.value = wanted || orgs[0]?.id || "";
}

/** Draw (or redraw) the ECharts chart of `box` with `option`; the same instance is reused on every draw. */
export function draw(box, option, height) {
  if (height) box.style.height = `${height}px`;
  const chart = window.echarts.getInstanceByDom(box) || window.echarts.init(box, null, { renderer: "canvas" });
  chart.resize();
  chart.setOption({ animation: false, ...option }, true);
  return chart;
}

/** The table twin of a chart: headers and rows of text, with an id for tests and a CSV of exactly those cells. */
export function twin(holder, headers, rows, id) {
  holder.replaceChildren(table(headers, rows, { id }));
  return { headers, rows };
}

/** Download a table twin as CSV (BOM, CRLF, formula-safe fields). */
export function exportCsv(filename, { headers, rows }) {
  const lines = [headers, ...rows].map((cells) => cells.map(csvField).join(","));
  downloadText(filename, `${lines.join("\r\n")}\r\n`);
}

/** A score as the console writes it: two decimals. */
export function scoreText(score) {
  return Number(score || 0).toFixed(2);
}

/** Resize every chart of the page with the window. */
export function resizeCharts() {
  window.addEventListener("resize", () => {
    for (const box of document.querySelectorAll(".chart")) window.echarts.getInstanceByDom(box)?.resize();
  });
}
