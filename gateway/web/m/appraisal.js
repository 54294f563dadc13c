// /m/appraisal: the member's democratic appraisal (民主评议党员) on the phone: the appraisals it is on the roster of
// (GET /v1/me/appraisals); while one is open, its self-review and mutual reviews (POST /v1/appraisals/{id}/reviews)
// and its anonymous vote on every other member (POST /v1/appraisals/{id}/votes, once); once the vote has closed, the
// tally of the votes on itself (only for 5 voters or more) and, once decided, its grade and the reason.
import { get, post } from "/web/common/api.js";
import { h, mount, notice, formatTime, busy } from "/web/common/ui.js";
import { session } from "/m/session.js";

const app = document.getElementById("app");
const GRADES = { excellent: "优秀", qualified: "合格", basically_qualified: "基本合格", unqualified: "不合格" };
const STATES = { open: "评议中", closed: "投票已截止", decided: "已评定" };

function counts(tally) {
  return Object.entries(GRADES).map(([grade, label]) => `${label} ${tally?.[grade] || 0} 票`).join("，");
}

function selfReviewForm(item, refresh) {
  const error = h("div", { class: "form-error", role: "alert" });
  const text = h("textarea", { name: "text", rows: 4, maxlength: 2000, required: true,
    placeholder: "对照党员标准，总结一年来的学习、工作和作风情况，查找不足" }, item.me.self_review || "");
  const form = h("form", { class: "card self-review" },
    h("h3", {}, "个人自评"), h("label", {}, "自我评价", text), error,
    h("button", { type: "submit", class: "btn btn-primary btn-block" }, item.me.self_review ? "修改自我评价" : "提交自我评价"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    try {
      await busy(form.querySelector("button"), () => post(`/v1/appraisals/${encodeURIComponent(item.id)}/reviews`,
        { member_id: "", text: text.value }));
      refresh("自我评价已提交");
    } catch (e) {
      error.textContent = e.message;
    }
  });
  return form;
}

function mutualReviewForm(item, others, refresh) {
  const given = new Map((item.me.given || []).map((review) => [review.member_id, review.text]));
  const error = h("div", { class: "form-error", role: "alert" });
  const who = h("select", { name: "member_id", required: true },
    others.map((member) => h("option", { value: member.member_id }, member.name)));
  const text = h("textarea", { name: "text", rows: 3, maxlength: 2000, required: true,
    placeholder: "实事求是地指出优点和不足" }, given.get(others[0]?.member_id) || "");
  who.addEventListener("change", () => { text.value = given.get(who.value) || ""; });
  const form = h("form", { class: "card mutual-review" },
    h("h3", {}, "党员互评"),
    h("p", { class: "small muted" }, `已评价 ${given.size} / ${others.length} 名党员；互评意见供支委会评定时参考，不显示评价人。`),
    h("label", {}, "评价对象", who), h("label", {}, "互评意见", text), error,
    h("button", { type: "submit", class: "btn btn-block" }, "提交互评意见"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    try {
      await busy(form.querySelector("button"), () => post(`/v1/appraisals/${encodeURIComponent(item.id)}/reviews`,
        { member_id: who.value, text: text.value }));
      refresh("互评意见已提交");
    } catch (e) {
      error.textContent = e.message;
    }
  });
  return form;
}

function voteForm(item, others, refresh) {
  const error = h("div", { class: "form-error", role: "alert", id: "vote-error" });
  const rows = others.map((member) => h("label", { class: "vote-row", dataset: { member: member.member_id } },
    member.name,
    h("select", { name: member.member_id, required: true, "aria-label": `对${member.name}的评价` },
      h("option", { value: "" }, "请选择"),
      Object.entries(GRADES).map(([grade, label]) => h("option", { value: grade }, label)))));
  const form = h("form", { class: "card", id: "vote-form" },
    h("h3", {}, "民主测评（无记名投票）"),
    h("p", { class: "small muted" }, "请对每一名党员作出评价。投票无记名，任何人（包括管理员）都无法查看您的选择；"
      + "每人只能投一次，提交后不能修改。"),
    rows, error,
    h("button", { type: "submit", class: "btn btn-primary btn-block" }, "提交投票"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const choices = others.map((member) => ({ member_id: member.member_id,
      grade: form.querySelector(`select[name="${CSS.escape(member.member_id)}"]`).value }));
    try {
      await busy(form.querySelector("button"), () => post(`/v1/appraisals/${encodeURIComponent(item.id)}/votes`,
        { choices }));
      refresh("投票成功，感谢参与");
    } catch (e) {
      error.textContent = e.message;
    }
  });
  return form;
}

function resultPart(item) {
  const me = item.me;
  const parts = [];
  if (item.state === "closed" || item.state === "decided") {
    parts.push(me.tally_shown
      ? h("p", { id: "my-tally" }, `民主测评结果：${counts(me.tally)}`)
      : h("p", { class: "muted", id: "my-tally" }, "参与投票人数不足 5 人，不公布计票结果。"));
  }
  if (item.state === "decided") {
    parts.push(h("p", { id: "my-grade" }, h("strong", {}, `评定等次：${GRADES[me.grade] || me.grade}`)),
      h("p", { class: "small" }, `评定理由：${me.reason || ""}`));
  } else if (item.state === "closed") {
    parts.push(h("p", { class: "muted" }, "投票已截止，等待支部评定等次。"));
  }
  return parts;
}

async function appraisalCard(item, current, refresh) {
  const header = [h("h2", {}, `${item.branch_name} ${item.year} 年度民主评议 `,
      h("span", { class: "badge badge-info" }, STATES[item.state] || item.state)),
    h("p", { class: "small muted" }, `投票截止：${formatTime(item.closes_at)} · 已投票 ${item.voter_count} / ${item.member_count} 人`)];
  if (item.state !== "open") {
    return h("section", { class: "card appraisal", dataset: { id: item.id } }, header, resultPart(item));
  }
  const detail = await get(`/v1/appraisals/${encodeURIComponent(item.id)}`);
  const others = (detail.members || []).filter((member) => member.member_id !== current.member.id);
  return h("section", { class: "card appraisal", dataset: { id: item.id } }, header,
    selfReviewForm(item, refresh),
    others.length ? mutualReviewForm(item, others, refresh) : null,
    item.me.voted
      ? notice("ok", "您已投票", "投票为无记名，感谢参与。投票截止后可查看测评结果。")
      : voteForm(item, others, refresh));
}

async function render(message, failure) {
  const current = await session(() => render(), [notice("info", "该账号不是党员账号", "管理人员请在电脑管理端组织民主评议。"),
    h("p", {}, h("a", { href: "/console/appraisal" }, "进入民主评议管理"))]);
  if (!current) return;
  const refresh = (ok, failed) => render(ok, failed);
  let items = [];
  let loadError = "";
  try {
    items = (await get("/v1/me/appraisals")).appraisals || [];
  } catch (error) {
    loadError = error.message;
  }
  let cards = [];
  try {
    cards = await Promise.all(items.map((item) => appraisalCard(item, current, refresh)));
  } catch (error) {
    loadError = error.message;
  }
  mount(app,
    h("div", { id: "flash" }, message ? notice("ok", message) : null,
      failure || loadError ? notice("error", failure || loadError) : null),
    cards.length ? cards : h("p", { class: "muted", id: "no-appraisal" }, "目前没有需要参加的民主评议。"));
}

render();
