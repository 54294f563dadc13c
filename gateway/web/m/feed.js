// /m/feed: the member's feed (GET /v1/feed): its branch's and every superior's published items, pushed (重点推送)
// and pinned (置顶) first, then the newest; "more" loads the next page; each opens /m/item?id=<id>; a search box
// leads to /m/search?q=....
import { get } from "/web/common/api.js";
import { h, mount, notice, formatTime } from "/web/common/ui.js";
import { session, showLogin, membersOnly } from "/m/session.js";

const app = document.getElementById("app");
export const KIND_LABELS = { article: "文章", notice: "通知", download: "资料", learning: "学习" };

function card(item) {
  const badges = [item.pushed ? h("span", { class: "badge badge-err" }, "重点") : null,
    item.pinned ? h("span", { class: "badge badge-warn" }, "置顶") : null,
    h("span", { class: "badge" }, KIND_LABELS[item.kind] || item.kind)];
  return h("article", { class: "card feed-item", "data-id": item.id },
    h("h3", {}, badges, " ", h("a", { href: `/m/item?id=${encodeURIComponent(item.id)}` }, item.title)),
    item.summary ? h("p", { class: "summary" }, item.summary) : null,
    h("p", { class: "muted small" }, [item.author_name, item.published_at ? formatTime(item.published_at) : ""]
      .filter(Boolean).join(" · ")));
}

function searchBox() {
  const input = h("input", { type: "search", name: "q", id: "q", maxlength: 50, required: true,
    placeholder: "搜索资讯、通知和学习资料", "aria-label": "搜索" });
  return h("form", { class: "card search-form", role: "search", action: "/m/search", method: "get", id: "search" },
    input, h("div", { class: "actions" }, h("button", { type: "submit", class: "btn" }, "搜索")));
}

async function show() {
  const list = h("div", { id: "feed" });
  const status = h("div", { role: "status", id: "status" });
  const more = h("button", { type: "button", class: "btn btn-block", id: "more" }, "加载更多");
  const moreBox = h("div", { hidden: true }, more);
  mount(app, searchBox(), status, list, moreBox);
  let token = "";
  const load = async () => {
    more.disabled = true;
    try {
      const answer = await get("/v1/feed", { page_size: 20, page_token: token });
      list.append(...(answer.items || []).map(card));
      token = answer.next_page_token || "";
      moreBox.hidden = !token;
      mount(status, list.children.length ? null : notice("info", "暂无资讯", "上级和本支部发布的内容会显示在这里。"));
    } catch (error) {
      if (error.status === 401) return showLogin(start);
      mount(status, notice("error", "加载失败", error.message));
    } finally {
      more.disabled = false;
    }
  };
  more.addEventListener("click", load);
  await load();
}

async function start() {
  if (!await session(start, membersOnly("仅党员可查看资讯"))) return;
  await show();
}

start();
