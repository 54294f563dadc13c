// A party dues receipt (党费收据) as printed, for the console and the member's phone alike (GET
// /v1/dues-receipts/{no}); "下载" saves the same receipt as a standalone HTML file.
import { h } from "/web/common/ui.js";

const METHODS = { cash: "现金", transfer: "转账", bank: "银行代收", online: "线上缴纳" };

function monthsText(months) {
  if (months.length === 1) return months[0];
  return `${months[0]}至${months[months.length - 1]}（共 ${months.length} 个月）`;
}

function fenText(fen) {
  return `${Math.trunc(fen / 100)}.${String(fen % 100).padStart(2, "0")}`;
}

function rows(receipt) {
  const consecutive = receipt.months.length < 2 || receipt.months.every((month, i) => i === 0 || (() => {
    const [y1, m1] = receipt.months[i - 1].split("-").map(Number);
    const [y2, m2] = month.split("-").map(Number);
    return y2 * 12 + m2 === y1 * 12 + m1 + 1;
  })());
  return [
    ["收据号", receipt.receipt_no],
    ["党员姓名", receipt.member_name],
    ["所在党支部", receipt.branch_name],
    ["缴费月份", consecutive ? monthsText(receipt.months) : receipt.months.join("、")],
    ["金额", `人民币 ${receipt.amount_yuan || fenText(receipt.amount_fen)} 元`],
    ["缴费日期", receipt.paid_on],
    ["缴费方式", METHODS[receipt.method] || receipt.method],
    ...(receipt.bank_txn_id ? [["银行交易流水号", receipt.bank_txn_id]] : []),
    ...(receipt.note ? [["备注", receipt.note]] : []),
  ];
}

/** The receipt's nodes. */
export function receiptNodes(receipt) {
  return [
    h("h1", { class: "receipt-title" }, "中国共产党党费收据"),
    h("p", { class: "receipt-issuer muted" }, `${receipt.tenant_name ? receipt.tenant_name + " · " : ""}${receipt.branch_name}`),
    h("table", { class: "table receipt-table", id: "receipt-table" }, h("tbody", {},
      rows(receipt).map(([label, value]) => h("tr", {}, h("th", { scope: "row" }, label), h("td", {}, value))))),
    h("p", { class: "small muted" }, "本收据由智慧党建平台根据缴费记录生成，收据号唯一，可凭收据号核对。"),
  ];
}

/** The receipt as a standalone HTML file the browser saves. */
export function downloadReceipt(receipt) {
  const escape = (text) => String(text).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
  const body = rows(receipt).map(([label, value]) => `<tr><th>${escape(label)}</th><td>${escape(value)}</td></tr>`).join("");
  const html = `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>党费收据 ${escape(receipt.receipt_no)}</title>`
    + `</head><body><h1>中国共产党党费收据</h1><p>${escape(receipt.tenant_name || "")} ${escape(receipt.branch_name)}</p>`
    + `<table border="1" cellpadding="6">${body}</table></body></html>`;
  const url = URL.createObjectURL(new Blob([html], { type: "text/html;charset=utf-8" }));
  const link = h("a", { href: url, download: `党费收据-${receipt.receipt_no}.html` });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
