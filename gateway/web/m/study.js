// /m/study: the member's learning packages of this month (GET /v1/me/packages), each item studied or not with the
// time so far; /m/study?package=<id>&item=<key> studies one item: it shows the item (a content item's text from
// GET /v1/items/{id}, or the video, audio or link) and reports start, a heartbeat about every 15 s while the page is
// visible, and end when it is hidden or left. The time counted is what the service observed; the page never
// claims a duration. Below the packages, 本支部学习榜 (GET /v1/branches/{id}/study-ranking) appears only when the
// service answers it: members see it when the tenant made study rankings public (else STUDY_RANKING_OFF).
import { get, post } from "/web/common/api.js";
import { h, mount, notice, formatTime } from "/web/common/ui.js";
import { session as memberSession, showLogin, membersOnly } from "/m/session.js";

const app = document.getElementById("app");
const KINDS = { article: "文章", document: "文档", video: "视频", audio: "音频" };

function duration(seconds) {
  const value = Math.max(0, Math.floor(seconds || 0));
  return value >= 60 ? `${Math.floor(value / 60)} 分 ${value % 60} 秒` : `${value} 秒`;
}

function studyLink(pkg, item) {
  return `/m/study?package=${encodeURIComponent(pkg.id)}&item=${encodeURIComponent(item.key)}`;
}

function itemLine(pkg, item) {
  return h("li", { class: "study-item", "data-key": item.key },
    h("span", { class: item.studied ? "badge badge-ok" : "badge" }, item.studied ? "已学" : "未学"), " ",
    h("a", { href: studyLink(pkg, item) }, item.title), " ",
    h("span", { class: "muted small" }, `${KINDS[item.kind] || ""} · 已计 ${duration(item.seconds)} / 需 ${duration(item.min_seconds)}`));
}

/** The branch's study ranking of the month, or null when it is not shown to this caller. */
async function rankingSection(branchId) {
  if (!branchId) return null;
  let ranking;
  try {
    ranking = await get(`/v1/branches/${encodeURIComponent(branchId)}/study-ranking`);
  } catch (error) {
    return null;  // STUDY_RANKING_OFF: the tenant keeps study private; any other failure hides it too
  }
  const entries = ranking.entries || [];
  return h("section", { class: "card", id: "study-ranking", "aria-labelledby": "study-ranking-title" },
    h("h2", { id: "study-ranking-title" }, "本支部学习榜"),
    h("p", { class: "muted small" }, `${ranking.month} · 按已学内容数、学习时长排列`),
    entries.length
      ? h("ol", { class: "list study-ranking" }, entries.map((entry) => h("li", {
        class: entry.me ? "study-rank me" : "study-rank", "data-member": entry.member_id },
      h("strong", {}, `第 ${entry.rank} 名`), " ", entry.name, entry.me ? "（我）" : "", " ",
      h("span", { class: "muted small" }, `已学 ${entry.items_studied} 项 · ${duration(entry.seconds)}`))))
      : h("p", { class: "muted" }, "本月还没有学习记录。"));
}

async function showList(branchId) {
  let answer;
  try {
    answer = await get("/v1/me/packages");
  } catch (error) {
    if (error.status === 401) return showLogin(start);
    return mount(app, notice("error", "加载失败", error.message));
  }
  const packages = answer.packages || [];
  if (!packages.length) return mount(app, notice("info", "本月暂无学习套餐", "上级或本支部发布的学习套餐会显示在这里。"));
  mount(app, h("p", { class: "muted small" }, `${answer.month} 学习套餐。学习时长由系统按页面停留时间记录，页面切到后台时不计时。`),
    ...packages.map((pkg) => h("section", { class: "card study-package", "data-id": pkg.id },
      h("h2", {}, pkg.title, " ", pkg.status === "closed" ? h("span", { class: "badge badge-info" }, "已结束") : null),
      h("p", { class: "muted small" }, `${pkg.org_name || ""} · 截止 ${pkg.due_on} · 已学 ${pkg.studied_count} / ${pkg.item_count} 项`),
      h("ul", { class: "study-items" }, pkg.items.map((item) => itemLine(pkg, item))))));
  const ranking = await rankingSection(branchId);
  if (ranking) app.append(ranking);
}

function itemContent(item, content) {
  if (content) {
    return h("div", { class: "item-body", id: "item-body" }, String(content.body || "").split(/\n+/)
      .map((line) => line.trim()).filter(Boolean).map((line) => h("p", {}, line)));
  }
  if (item.kind === "video") return h("video", { src: item.url, controls: true, preload: "metadata", class: "media" });
  if (item.kind === "audio") return h("audio", { src: item.url, controls: true, preload: "metadata" });
  return h("p", {}, h("a", { href: item.url, target: "_blank", rel: "noopener noreferrer" }, "打开学习链接"),
    h("span", { class: "muted small" }, "（请保持本页面打开以记录学习时长）"));
}

function cookie(name) {
  const found = document.cookie.split("; ").find((part) => part.startsWith(name + "="));
  return found ? decodeURIComponent(found.slice(name.length + 1)) : "";
}

/** End a session as the page goes away: keepalive lets the request outlive the page. */
function endOnLeave(sessionId) {
  fetch(`/v1/study-sessions/${encodeURIComponent(sessionId)}:end`, {
    method: "POST", keepalive: true, credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": cookie("pb_csrf") },
    body: "{}",
  }).catch(() => {});
}

async function showItem(packageId, key) {
  let pkg;
  try {
    pkg = await get(`/v1/packages/${encodeURIComponent(packageId)}`);
  } catch (error) {
    if (error.status === 401) return showLogin(start);
    return mount(app, notice("error", "无法打开", error.message), h("p", {}, h("a", { href: "/m/study" }, "返回学习")));
  }
  const item = (pkg.items || []).find((one) => one.key === key);
  if (!item) return mount(app, notice("error", "无法打开", "学习内容不存在"), h("p", {}, h("a", { href: "/m/study" }, "返回学习")));
  let content = null;
  if (item.item_id) {
    try {
      content = await get(`/v1/items/${encodeURIComponent(item.item_id)}`);
    } catch (error) {
      return mount(app, notice("error", "无法打开", error.message), h("p", {}, h("a", { href: "/m/study" }, "返回学习")));
    }
  }
  const state = h("p", { class: "notice notice-info", id: "study-state", role: "status" }, "正在开始计时…");
  const back = h("a", { href: "/m/study", id: "back" }, "返回学习");
  mount(app, h("article", { class: "card", id: "study" },
    h("h2", { id: "item-title" }, item.title),
    h("p", { class: "muted small" }, `${pkg.title} · ${KINDS[item.kind] || ""} · 需学习 ${duration(item.min_seconds)}`),
    state, itemContent(item, content)), h("p", {}, back));

  let session = null;
  let timer = null;
  const show = (answer) => {
    state.className = answer.studied ? "notice notice-ok" : "notice notice-info";
    state.textContent = answer.studied
      ? `已完成学习（累计 ${duration(answer.seconds)}${answer.studied_at ? "，" + formatTime(answer.studied_at) : ""}）`
      : `学习中：累计 ${duration(answer.seconds)} / 需 ${duration(answer.min_seconds)}`;
    state.dataset.seconds = String(answer.seconds);
    state.dataset.studied = String(answer.studied);
  };
  const fail = (error) => {
    state.className = "notice notice-error";
    state.textContent = error.message;
  };
  const begin = async () => {
    try {
      session = await post(`/v1/packages/${encodeURIComponent(pkg.id)}/items/${encodeURIComponent(item.key)}:start`, {});
      show(session);
      clearInterval(timer);
      timer = setInterval(beat, (session.heartbeat_seconds || 15) * 1000);
    } catch (error) {
      session = null;
      fail(error);
    }
  };
  const beat = async () => {
    if (!session || document.visibilityState !== "visible") return;
    try {
      show(await post(`/v1/study-sessions/${encodeURIComponent(session.session_id)}:heartbeat`, {}));
    } catch (error) {
      if (error.code === "SESSION_EXPIRED" || error.code === "SESSION_CLOSED") return begin();
      fail(error);
    }
  };
  const stop = () => {
    clearInterval(timer);
    timer = null;
    if (session) endOnLeave(session.session_id);
    session = null;
  };
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") stop();
    else if (!session) begin();
  });
  window.addEventListener("pagehide", stop);
  back.addEventListener("click", stop);
  if (document.visibilityState === "visible") await begin();
}

async function start() {
  const current = await memberSession(start, membersOnly("仅党员可以学习"));
  if (!current) return;
  const params = new URLSearchParams(location.search);
  if (params.get("package") && params.get("item")) return showItem(params.get("package"), params.get("item"));
  await showList(current.member.branch_id);
}

start();
