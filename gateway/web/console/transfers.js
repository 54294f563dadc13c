// 组织关系转接: transfers entering or leaving the caller's subtree (GET /v1/orgs/{id}/transfers?side=&state=,
// paged: pending, overdue, done); the receiving side accepts (POST /v1/transfers/{id}:accept) or rejects with a
// reason (POST ...:reject {reason}). The API decides who may decide; its refusals are shown in Chinese.
import { boot, call, el, isDenied, localTime, say, showDenied, table } from "/console/shell.js";
import {
  TRANSFER_STATE_LABELS, fetchJson, orgOptions, pager, refusalText, scopeRoots,
} from "/console/people.js";

const PAGE_SIZE = 50;
const main = document.getElementById("main");
const status = document.getElementById("transfer-status");
const form = document.getElementById("transfer-filters");
let listPager = null;

function decision(transfer) {
  if (transfer.state !== "pending" || form.side.value !== "incoming") return "";
  const reason = el("input", { class: "reject-reason", maxlength: "500", placeholder: "退回原因", "aria-label": "退回原因" });
  const decide = async (button, path, body, done) => {
    button.disabled = true;
    try {
      await call("POST", `/v1/transfers/${encodeURIComponent(transfer.id)}:${path}`, body);
      say(status, done, "ok");
      await listPager.first();
    } catch (error) {
      say(status, refusalText(error), "error");
    } finally {
      button.disabled = false;
    }
  };
  return el("span", { class: "decide", dataset: { transfer: transfer.id } },
    el("button", { type: "button", class: "btn btn-small btn-primary accept",
      onclick: (event) => decide(event.currentTarget, "accept", {}, `已接收：${transfer.member_name} 转入${transfer.to_branch_name}`) },
    "接收"),
    " ", reason, " ",
    el("button", { type: "button", class: "btn btn-small reject", onclick: (event) => {
      if (!reason.value.trim()) {
        say(status, "退回须填写原因。", "error");
        reason.focus();
        return;
      }
      decide(event.currentTarget, "reject", { reason: reason.value.trim() }, `已退回：${transfer.member_name}`);
    } }, "退回"));
}

function stateText(transfer) {
  if (transfer.overdue) return "已逾期";
  const label = TRANSFER_STATE_LABELS[transfer.state] || transfer.state;
  return transfer.state === "rejected" && transfer.reject_reason ? `${label}（${transfer.reject_reason}）` : label;
}

async function showPage(token) {
  const answer = await fetchJson(`/v1/orgs/${encodeURIComponent(form.org.value)}/transfers`,
    { side: form.side.value, state: form.state.value, page_size: PAGE_SIZE, page_token: token });
  const transfers = answer.transfers || [];
  const view = table(["党员", "转出支部", "转入支部", "申请时间", "办理期限", "状态", "转接原因", "办理"],
    transfers.map((transfer) => [transfer.member_name, transfer.from_branch_name, transfer.to_branch_name,
      localTime(transfer.requested_at), localTime(transfer.due_at), stateText(transfer), transfer.reason,
      decision(transfer)]), { id: "transfers" });
  view.querySelectorAll("tbody tr").forEach((row, index) => { row.dataset.transfer = transfers[index].id; });
  document.getElementById("transfer-table").replaceChildren(transfers.length ? view
    : el("p", { class: "muted", id: "transfers-empty" }, "没有符合条件的转接记录。"));
  return answer;
}

async function load() {
  say(status, "");
  try {
    await listPager.first();
  } catch (error) {
    if (isDenied(error)) showDenied(main, error);
    else say(status, refusalText(error), "error");
  }
}

const { roles } = await boot("transfers");
const roots = scopeRoots(roles);
const params = new URLSearchParams(location.search);
form.org.replaceChildren(...orgOptions(roots));
const asked = params.get("org") || "";
if (asked && !roots.some((org) => org.id === asked)) form.org.append(el("option", { value: asked }, "（链接中的组织）"));
if (asked) form.org.value = asked;
form.side.value = params.get("side") || "incoming";
form.state.value = params.get("state") || "pending";
listPager = pager(document.getElementById("transfer-pager"), showPage);
form.addEventListener("submit", (event) => {
  event.preventDefault();
  history.replaceState(null, "", `?${new URLSearchParams({ org: form.org.value, side: form.side.value, state: form.state.value })}`);
  load();
});
await load();
