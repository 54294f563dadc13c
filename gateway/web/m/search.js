// /m/search: the member's full-text search over the published items of its branch and every superior
// (GET /v1/content/search): a query box, the latest searches (GET /v1/content/searches/recent), results with the
// words found highlighted, each opening /m/item?id=<item_id>, and "more" for the next page.
import { get } from "/web/common/api.js";
import { h, mount, notice, formatTime } from "/web/common/ui.js";
import { session, showLogin } from "/m/session.js";

const app = document.getElementById("app");
const KIND_LABELS = { article: "文章", notice: "通知", download: "资料", learning: "学习" };

/** The text as nodes, every occurrence of a word (case-insensitive) in a <mark>: text stays text, never HTML. */
export function highlighted(text, words) {
  const wanted = (words || []).filter(Boolean).map((word) => word.toLowerCase());
  const lower = text.toLowerCase();
  const nodes = [];
  let at = 0;
  while (at < text.length && wanted.length) {
    let best = -1;
    let length = 0;
    for (const word of wanted) {
      const found = lower.indexOf(word, at);
      if (found >= 0 && (best < 0 || found < best || (found === best && word.length > length))) {
        best = found;
        length = word.length;
      }
    }
    if (best < 0) break;
    if (best > at) nodes.push(text.slice(at, best));
    nodes.push(h("mark", {}, text.slice(best, best + length)));
    at = best + length;
  }
  if (at < text.length) nodes.push(text.slice(at));
  return nodes;
}

function resultCard(result, words) {
  const meta = [KIND_LABELS[result.kind] || "", result.published_at ? formatTime(result.published_at) : ""];
  return h("article", { class: "card search-result" },
    h("h3", {}, h("a", { href: `/m/item?id=${encodeURIComponent(result.item_id)}` },
      highlighted(result.title || "（无标题）", words))),
    result.snippet ? h("p", { class: "snippet" }, highlighted(result.snippet, words)) : null,
    h("p", { class: "muted small" }, meta.filter(Boolean).join(" · ")));
}

function searchForm(query) {
  const input = h("input", { type: "search", name: "q", id: "q", value: query, maxlength: 50, required: true,
    placeholder: "输入关键词，如：党章", "aria-label": "搜索内容", enterkeyhint: "search" });
  const form = h("form", { class: "card search-form", role: "search" },
    h("label", { for: "q" }, "搜索学习资料、通知和文章"), input,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "btn btn-primary" }, "搜索")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    history.pushState(null, "", `/m/search?q=${encodeURIComponent(text)}`);
    show(text);
  });
  return form;
}

function recentList(queries) {
  if (!queries.length) return null;
  return h("section", { class: "card", id: "recent" }, h("h2", {}, "最近搜索"),
    h("div", { class: "actions" }, queries.map((query) => h("a", { class: "btn btn-small",
      href: `/m/search?q=${encodeURIComponent(query)}` }, query))));
}

async function searchPage(query, token) {
  return get("/v1/content/search", { query, page_size: 20, page_token: token });
}

async function show(query) {
  const results = h("div", { id: "results" });
  const status = h("div", { id: "status", role: "status" });
  const more = h("button", { type: "button", class: "btn btn-block", id: "more" }, "加载更多");
  const moreBox = h("div", { hidden: true }, more);      // .btn-block's display would show a hidden button
  mount(app, searchForm(query), status, results, moreBox);
  if (!query) {
    const recent = await get("/v1/content/searches/recent").then((r) => r.queries || []).catch(() => []);
    mount(status, recentList(recent));
    return;
  }
  let token = "";
  const load = async () => {
    more.disabled = true;
    try {
      const answer = await searchPage(query, token);
      results.append(...(answer.results || []).map((result) => resultCard(result, answer.words)));
      token = answer.next_page_token || "";
      moreBox.hidden = !token;
      mount(status, results.children.length
        ? h("p", { class: "muted", id: "summary" }, token ? `“${query}”的搜索结果：` : `“${query}”共找到 ${results.children.length} 条结果：`)
        : notice("info", "没有找到相关内容", "换个关键词试试，或减少关键词的数量。"));
    } catch (error) {
      if (error.status === 401) return showLogin(() => start(query));
      mount(status, notice("error", "搜索失败", error.message));
    } finally {
      more.disabled = false;
    }
  };
  more.addEventListener("click", load);
  await load();
}

async function start(query) {
  if (!await session(() => start(query))) return;
  await show(query);
}

const queryOf = () => new URLSearchParams(location.search).get("q")?.trim() || "";
window.addEventListener("popstate", () => show(queryOf()));
start(queryOf());
