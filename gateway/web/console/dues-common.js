// What the party dues pages (党费) share: labels, fen <-> yuan (amounts are whole fen in the API, never floats),
// months, and the branches a caller may choose.
import { allPages, el } from "/console/shell.js";

export const CATEGORY_LABELS = {
  employed: "在岗职工（按月收入）", retired: "离退休（按离退休费）", farmer: "农民", student: "学生",
  unemployed: "下岗失业", hardship: "生活困难（抚恤、救济、低保）", other: "其他（支部核定金额）",
};
export const INCOME_CATEGORIES = ["employed", "retired"];
export const METHOD_LABELS = { cash: "现金", transfer: "转账", bank: "银行代收", online: "线上缴纳" };
export const SOURCE_LABELS = { branch: "支部登记", bank_import: "银行流水导入" };
export const STATUS_LABELS = { probationary: "预备党员", full: "正式党员" };

/** 1250 -> "12.50" (string arithmetic: no float ever touches an amount). */
export function yuan(fen) {
  const value = Math.trunc(Number(fen) || 0);
  const sign = value < 0 ? "-" : "";
  const abs = Math.abs(value);
  return `${sign}${Math.trunc(abs / 100)}.${String(abs % 100).padStart(2, "0")}`;
}

/** "12.5" -> 1250; null for anything but a non-negative amount with at most two decimals. */
export function fenOf(text) {
  const match = /^\s*(\d{1,9})(?:\.(\d{1,2}))?\s*$/.exec(String(text ?? ""));
  if (!match) return null;
  return Number(match[1]) * 100 + Number((match[2] || "").padEnd(2, "0"));
}

/** This month in Beijing time, "YYYY-MM". */
export function thisMonth() {
  const parts = new Intl.DateTimeFormat("zh-CN", { timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit" })
    .formatToParts(new Date());
  return `${parts.find((p) => p.type === "year").value}-${parts.find((p) => p.type === "month").value}`;
}

/** Today in Beijing time, "YYYY-MM-DD". */
export function today() {
  return new Intl.DateTimeFormat("sv-SE", { timeZone: "Asia/Shanghai" }).format(new Date());
}

/** Every month from `first` to `last` ("YYYY-MM"), both included; [] when last is before first. */
export function monthsBetween(first, last) {
  const index = (month) => Number(month.slice(0, 4)) * 12 + Number(month.slice(5, 7)) - 1;
  const months = [];
  for (let i = index(first); i <= index(last) && months.length < 60; i += 1) {
    months.push(`${String(Math.trunc(i / 12)).padStart(4, "0")}-${String((i % 12) + 1).padStart(2, "0")}`);
  }
  return months;
}

/** ["2026-01","2026-02","2026-03","2026-05"] -> "2026-01至2026-03、2026-05". */
export function monthsText(months) {
  if (!months || !months.length) return "—";
  const runs = [];
  for (const month of months) {
    const last = runs[runs.length - 1];
    if (last && monthsBetween(last[1], month).length === 2) last[1] = month;
    else runs.push([month, month]);
  }
  return runs.map(([a, b]) => (a === b ? a : `${a}至${b}`)).join("、");
}

/** The branches the caller manages: every branch below its admin grants, and its own as a secretary. */
export async function managedBranches(roles) {
  const branches = [];
  for (const grant of roles.admin) {
    if (grant.org.kind === "branch") branches.push(grant.org);
    else branches.push(...await allPages(`/v1/orgs/${encodeURIComponent(grant.org.id)}/subtree`,
      { kind: "branch", page_size: 500 }, "orgs", 10));
  }
  for (const grant of roles.secretary) {
    if (!branches.some((org) => org.id === grant.org.id)) branches.push(grant.org);
  }
  return branches;
}

export function orgOption(org) {
  return el("option", { value: org.id }, (org.path_names || []).slice(1).join(" / ") || org.name);
}

export function receiptLink(payment, base = "/console/dues-receipt") {
  return el("a", { href: `${base}?no=${encodeURIComponent(payment.receipt_no)}`, class: "receipt-link" },
    payment.receipt_no);
}
