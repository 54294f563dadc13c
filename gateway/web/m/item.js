// /m/item?id=<item_id>: one published item (GET /v1/items/{id}): title, publisher, time, the body's paragraphs,
// tags and attachments (GET /v1/attachments/{id}?download=1). Opening it is the read: a notice shows 已读 once the
// service has counted it (a repeat open counts nothing).
import { get } from "/web/common/api.js";
import { h, mount, notice, formatTime } from "/web/common/ui.js";
import { session, showLogin } from "/m/session.js";

const app = document.getElementById("app");
const KIND_LABELS = { article: "文章", notice: "通知", download: "资料", learning: "学习" };

/** The body's paragraphs (split at new lines) as <p> nodes: text stays text, never HTML. */
export function paragraphs(body) {
  return String(body || "").split(/\n+/).map((line) => line.trim()).filter(Boolean).map((line) => h("p", {}, line));
}

let member = false;      // only a member has learning packages

async function show(id) {
  let item;
  try {
    item = await get(`/v1/items/${encodeURIComponent(id)}`);
  } catch (error) {
    if (error.status === 401) return showLogin(() => start(id));
    return mount(app, notice("error", "无法打开", error.message), h("p", {}, h("a", { href: "/m/feed" }, "返回资讯")));
  }
  document.title = `${item.title} · 智慧党建`;
  const attachments = (item.attachment_ids || []).map((attachment, n) => h("li", {},
    h("a", { href: `/v1/attachments/${encodeURIComponent(attachment)}?download=1` }, `附件 ${n + 1}`)));
  mount(app, h("article", { class: "card", id: "item" },
    h("h2", { id: "item-title" }, item.title),
    h("p", { class: "muted small" }, [KIND_LABELS[item.kind] || "", item.author_name,
      item.published_at ? formatTime(item.published_at) : ""].filter(Boolean).join(" · "), " ",
      item.kind === "notice" && item.read ? h("span", { class: "badge badge-ok", id: "read-mark" }, "已读") : null),
    h("div", { class: "item-body", id: "item-body" }, paragraphs(item.body)),
    (item.tags || []).length ? h("p", { class: "tags" }, item.tags.map((tag) =>
      h("a", { class: "badge", href: `/m/search?q=${encodeURIComponent(tag)}` }, tag))) : null,
    attachments.length ? h("section", {}, h("h3", {}, "附件"), h("ul", {}, attachments)) : null),
    h("div", { id: "study-hint" }),
    h("p", {}, h("a", { href: "/m/feed" }, "返回资讯")));
  if (member) await studyHint(id);
}

/** An item that is part of one of the member's packages is studied on /m/study, where the time is observed:
 * reading it here counts no study time, so the page says where to read it. */
async function studyHint(id) {
  const answer = await get("/v1/me/packages").catch(() => null);
  for (const pkg of (answer && answer.packages) || []) {
    const item = (pkg.items || []).find((one) => one.item_id === id);
    if (!item) continue;
    const hint = document.getElementById("study-hint");
    if (item.studied) return mount(hint, notice("ok", "本文已完成学习"));
    return mount(hint, notice("info", `本文是学习套餐“${pkg.title}”的内容`,
      `在学习页阅读满 ${item.min_seconds} 秒计为已学，在本页阅读不计学习时长。`),
    h("a", { href: `/m/study?package=${encodeURIComponent(pkg.id)}&item=${encodeURIComponent(item.key)}`,
      class: "btn btn-primary btn-block", id: "study-link" }, "去学习页阅读"));
  }
}

async function start(id) {
  const current = await session(() => start(id));
  if (!current) return;
  member = Boolean(current.member);
  if (!id) return mount(app, notice("info", "未指定内容", ""), h("p", {}, h("a", { href: "/m/feed" }, "返回资讯")));
  await show(id);
}

start(new URLSearchParams(location.search).get("id") || "");
