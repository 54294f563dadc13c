// 党费收据: one payment's receipt (GET /v1/dues-receipts/{no}), to print or save.
import { answerOr, boot, call, say } from "/console/shell.js";
import { downloadReceipt, receiptNodes } from "/web/common/dues-receipt.js";

const main = document.getElementById("main");
const status = document.getElementById("receipt-status");
await boot("dues-payments");
const number = new URLSearchParams(location.search).get("no") || "";
if (!number) {
  say(status, "请从缴费记录中选择一张收据。", "warn");
} else {
  const receipt = await answerOr(main, status, call("GET", `/v1/dues-receipts/${encodeURIComponent(number)}`));
  if (receipt) {
    document.getElementById("receipt").replaceChildren(...receiptNodes(receipt));
    document.getElementById("receipt-print").addEventListener("click", () => window.print());
    document.getElementById("receipt-download").addEventListener("click", () => downloadReceipt(receipt));
  }
}
