// /m/foryou (为你推荐): items recommended to the member (GET /v1/recommendations), each with the reason it is
// recommended (a learning gap, its reading, its searching, popular or new) and opening /m/item?id=<item_id>; above
// them the member's weakest quiz categories, shown as something to work on, never as a ranking.
import { get } from "/web/common/api.js";
import { messageFor } from "/web/common/messages.js";
import { h, mount, notice, formatTime } from "/web/common/ui.js";
import { session, showLogin, membersOnly } from "/m/session.js";

const app = document.getElementById("app");
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
    if (error.status === 401) return showLogin(start);
    return mount(app, notice("error", "加载失败", messageFor(error)));
  }
  const picks = answer.recommendations || [];
  mount(app, gapSection(answer.gaps || [], answer.min_answers || 5),
    picks.length
      ? h("div", { id: "recommendations" }, picks.map(recommendationCard))
      : notice("info", "暂无推荐", "您已读完可推荐的内容，去看看资讯或参加答题吧。"));
}

async function start() {
  const notMember = membersOnly("仅党员可用", "为你推荐根据党员本人的阅读和答题情况生成，请使用党员账号登录。");
  if (!await session(start, notMember)) return;
  await show();
}

start();
