// /m/dues: the member's own dues (GET /v1/me/dues): the monthly standard, months paid and owed, and the receipts;
// ?receipt=<no> shows one receipt (GET /v1/dues-receipts/{no}) to print or save.
import { get } from "/web/common/api.js";
import { h, mount, notice } from "/web/common/ui.js";
import { downloadReceipt, receiptNodes } from "/web/common/dues-receipt.js";
import { session } from "/m/session.js";

const app = document.getElementById("app");
const CATEGORY = {
  employed: "在岗职工（按月收入）", retired: "离退休（按离退休费）", farmer: "农民", student: "学生", unemployed: "下岗失业",
  hardship: "生活困难", other: "支部核定",
};

function yuan(fen) {
  return `${Math.trunc(fen / 100)}.${String(fen % 100).padStart(2, "0")}`;
}

function monthList(months, empty) {
  if (!months.length) return h("p", { class: "muted" }, empty);
  return h("p", { class: "month-list" }, months.map((month) => h("span", { class: "badge" }, month)));
}

async function showReceipt(number) {
  const receipt = await get(`/v1/dues-receipts/${encodeURIComponent(number)}`);
  mount(app,
    h("p", { class: "no-print" }, h("a", { href: "/m/dues" }, "← 返回我的党费")),
    h("section", { class: "card receipt", id: "receipt" }, ...receiptNodes(receipt)),
    h("p", { class: "no-print actions" },
      h("button", { type: "button", class: "btn btn-primary", onclick: () => window.print() }, "打印"),
      h("button", { type: "button", class: "btn", onclick: () => downloadReceipt(receipt) }, "下载收据")));
}

async function showDues() {
  const dues = await get("/v1/me/dues");
  const standard = dues.has_standard
    ? h("p", {}, "每月应交 ", h("strong", { id: "dues-amount" }, `${yuan(dues.amount_fen)} 元`),
      `（${CATEGORY[dues.category] || dues.category}，自 ${dues.from_month} 起）`)
    : h("p", { class: "muted" }, "支部尚未为您核定党费标准，请联系党支部。");
  const owed = dues.owed_months.length
    ? notice(dues.flagged ? "error" : "warn", `欠缴 ${dues.owed_months.length} 个月，共 ${yuan(dues.owed_fen)} 元`,
      dues.flagged ? "您已连续多个月未交纳党费，请尽快与党支部联系补交。" : "请及时交纳党费。")
    : null;
  mount(app,
    h("section", { class: "card", id: "dues-standard" }, h("h2", {}, "党费标准"), standard,
      h("p", { class: "small muted" }, `本月（${dues.current_month}）${dues.current_paid ? "已交纳" : "尚未交纳"}。`)),
    owed,
    h("section", { class: "card", id: "dues-owed" }, h("h2", {}, "欠缴月份"), monthList(dues.owed_months, "没有欠缴，谢谢您按时交纳党费。")),
    h("section", { class: "card", id: "dues-paid" }, h("h2", {}, "已缴月份"), monthList(dues.paid_months, "还没有缴费记录。")),
    h("section", { class: "card", id: "dues-receipts" }, h("h2", {}, "缴费收据"),
      dues.payments.length
        ? h("ul", { class: "list" }, dues.payments.map((payment) => h("li", {},
          h("a", { href: `/m/dues?receipt=${encodeURIComponent(payment.receipt_no)}` }, payment.receipt_no),
          ` · ${payment.paid_on} · ${yuan(payment.amount_fen)} 元 · ${payment.months.join("、")}`)))
        : h("p", { class: "muted" }, "暂无收据。")));
}

async function run() {
  const account = await session(run, [h("p", {}, "“我的党费”仅供党员本人查看。")]);
  if (!account) return;
  const number = new URLSearchParams(location.search).get("receipt");
  try {
    await (number ? showReceipt(number) : showDues());
  } catch (error) {
    mount(app, notice("error", "无法加载", error.message));
  }
}

run();
