// /m/foryou (为你推荐): items recommended to the member (GET /v1/recommendations), each with the reason it is
// recommended (a learning gap, its reading, its searching, popular or new) and opening /m/item?id=<item_id>; above
// them the member's weakest quiz categories, shown as something to work on, never as a ranking.
import { get, login, logout, me } from "/web/common/api.js";
import { messageFor } from "/web/common/messages.js";
import { h, mount, notice, loginForm, formatTime } from "/web/common/ui.js";

const app = document.getElementById("app");
const who = document.getElementById("who");
const KIND_LABELS = { article: "文章", download: "资料", learning: "学习" };
const REASON_LABELS = { gap: "学习短板", reading: "阅读兴趣", search: "搜索记录", popular: "热门", new: "新发布" };

function gapSection(gaps, minAnswers) {
  if (!gaps.length) {
    return h("p", { class: "muted small", id: "no-gaps" },
      `每个类别答题满 ${minAnswers} 道后，这里会提示您需要加强的方面。`);
  }
  return h("section", { class: "card", id: "gaps" }, h("h2", {}, "建议加强"),
    h("ul", {}, gaps.map((gap) => h("li", { "data-category": gap.category },
      h("strong", {}, gap.category), ` 类题目正确率 ${gap.percent}%（已答 ${gap.answered} 道）`))));
}

function recommendationCard(pick) {
  const meta = [KIND_LABELS[pick.kind] || "", pick.published_at ? formatTime(pick.published_at, { date: true }) : ""];
  return h("article", { class: "card recommendation", "data-item": pick.item_id, "data-reason": pick.reason_kind },
    h("h3", {}, h("a", { href: `/m/item?id=${encodeURIComponent(pick.item_id)}` }, pick.title || "（无标题）")),
    pick.summary ? h("p", {}, pick.summary) : null,
    h("p", { class: "reason" }, h("span", { class: "badge" }, REASON_LABELS[pick.reason_kind] || "推荐"), " ",
      pick.reason),
    h("p", { class: "muted small" }, meta.filter(Boolean).join(" · ")));
}

async function show() {
  let answer;
  try {
    answer = await get("/v1/recommendations", { limit: 10 });
  } catch (error) {
    if (error.status === 401) return showLogin();
    return mount(app, notice("error", "加载失败", messageFor(error)));
  }
  const picks = answer.recommendations || [];
  mount(app, gapSection(answer.gaps || [], answer.min_answers || 5),
    picks.length
      ? h("div", { id: "recommendations" }, picks.map(recommendationCard))
      : notice("info", "暂无推荐", "您已读完可推荐的内容，去看看资讯或参加答题吧。"));
}

function showLogin() {
  mount(who);
  mount(app, loginForm(async ({ tenant_code, username, password }) => {
    await login(tenant_code, username, password);
    await start();
  }, { title: "党员登录" }));
}

async function start() {
  const current = await me().catch(() => undefined);
  if (current === null) return showLogin();
  if (current === undefined) return mount(app, notice("error", "加载失败", "网络连接失败，请稍后再试。"));
  mount(who, h("span", {}, current.member ? current.member.name : current.account.username, " "),
    h("button", { class: "link", type: "button", id: "logout", onclick: async () => { await logout(); showLogin(); } }, "退出"));
  if (!current.member) {
    return mount(app, notice("info", "仅党员可用", "为你推荐根据党员本人的阅读和答题情况生成，请使用党员账号登录。"));
  }
  await show();
}

start();
