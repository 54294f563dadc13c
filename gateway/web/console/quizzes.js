// 答题竞赛: open a quiz or a knowledge contest to a node's subtree (window, time limit, attempts, grading, the
// categories drawn and how many, when answers are shown), list the subtree's quizzes, and see results and
// leaderboards by member, branch and county.
import { KIND_LABELS, allPages, answerOr, boot, call, el, errorText, localTime, query, say, table } from "/console/shell.js";

const KIND = { quiz: "答题", contest: "知识竞赛" };
const PHASE = { upcoming: "未开始", open: "进行中", closed: "已结束", finished: "已公布名次" };
const GRADING = { highest: "取最高分", last: "取最后一次" };
const REVIEW = { after_submit: "交卷后显示答案", after_close: "结束后显示答案", never: "不显示答案" };
const CATEGORIES = ["党章", "党史", "理论学习", "党纪法规", "时事政策"];
const main = document.getElementById("main");

const pad = (n) => String(n).padStart(2, "0");
// A datetime-local value ("2026-12-06T16:00") is Beijing time: sent with its +08:00 offset.
const beijing = (value) => (value ? `${value}:00+08:00` : "");
function localInput(date) {
  const b = new Date(date.getTime() + 8 * 3600 * 1000);
  return `${b.getUTCFullYear()}-${pad(b.getUTCMonth() + 1)}-${pad(b.getUTCDate())}T${pad(b.getUTCHours())}:${pad(b.getUTCMinutes())}`;
}

function orgLabel(org) {
  return `${(org.path_names || []).slice(1).join(" / ") || org.name}（${KIND_LABELS[org.kind] || ""}）`;
}

function drawRow() {
  const row = el("div", { class: "row draw-rule" },
    el("label", {}, "分类", el("input", { name: "category", list: "categories", required: true })),
    el("label", {}, "题数", el("input", { name: "count", type: "number", min: 1, max: 100, value: 5, required: true })),
    el("label", {}, "每题分值", el("input", { name: "points", type: "number", min: 1, max: 100, value: 2 })),
    el("button", { type: "button", class: "btn btn-small", onclick: () => row.remove() }, "删除"));
  return row;
}

async function page() {
  const { roles } = await boot("quizzes");
  const orgs = [];
  for (const grant of [...roles.admin, ...roles.secretary]) {
    if (!orgs.some((o) => o.id === grant.org.id)) orgs.push(grant.org);
    if (grant.role !== "org_admin") continue;
    try {
      const below = await allPages(`/v1/orgs/${encodeURIComponent(grant.org.id)}/subtree`, { max_depth: 1, page_size: 500 },
        "orgs", 5);
      for (const org of below) if (!orgs.some((o) => o.id === org.id)) orgs.push(org);
    } catch (error) { /* the grant's own node is enough to work with */ }
  }
  const status = el("p", { class: "notice", id: "status", role: "status", hidden: true });
  const orgSelect = el("select", { id: "org", name: "org_id" }, orgs.map((org) => el("option", { value: org.id }, orgLabel(org))));
  const now = new Date();
  const rules = el("div", { id: "draw-rules" }, drawRow());
  const form = el("form", { class: "card", id: "quiz-form" }, el("h2", {}, "发布答题或竞赛"),
    el("div", { class: "form-grid" },
      el("label", {}, "面向组织", orgSelect),
      el("label", {}, "类型", el("select", { name: "kind" }, Object.entries(KIND).map(([k, v]) => el("option", { value: k }, v)))),
      el("label", { class: "wide" }, "标题", el("input", { name: "title", required: true, maxlength: 100 })),
      el("label", {}, "开始时间", el("input", { name: "open_at", type: "datetime-local", required: true, value: localInput(now) })),
      el("label", {}, "结束时间", el("input", { name: "close_at", type: "datetime-local", required: true,
        value: localInput(new Date(now.getTime() + 7 * 86400000)) })),
      el("label", {}, "答题限时（分钟）", el("input", { name: "minutes", type: "number", min: 1, max: 240, value: 30 })),
      el("label", {}, "可答次数", el("input", { name: "max_attempts", type: "number", min: 1, max: 100, value: 1 })),
      el("label", {}, "计分", el("select", { name: "grading" }, Object.entries(GRADING).map(([k, v]) => el("option", { value: k }, v)))),
      el("label", {}, "答案公布", el("select", { name: "review" }, Object.entries(REVIEW).map(([k, v]) => el("option", { value: k }, v)))),
      el("label", { class: "wide" }, "说明", el("textarea", { name: "description", maxlength: 2000 }))),
    el("h3", {}, "抽题规则（每次答题从各分类随机抽题，同一次不重复，选项顺序随机）"), rules,
    el("button", { type: "button", class: "btn btn-small", id: "add-rule", onclick: () => rules.append(drawRow()) }, "添加分类"),
    el("p", { class: "form-error", id: "quiz-error", role: "alert" }),
    el("button", { type: "submit", class: "btn btn-primary", id: "quiz-submit" }, "发布"));
  const list = el("div", { id: "quiz-list" });
  const results = el("div", { id: "results" });

  async function load() {
    const answer = await answerOr(main, status, call("GET", `/v1/orgs/${encodeURIComponent(orgSelect.value)}/quizzes` +
      query({ page_size: 100 })));
    if (!answer) return;
    if (!answer.quizzes.length) return list.replaceChildren(el("p", { class: "muted" }, "该组织下暂无答题活动。"));
    list.replaceChildren(table(["标题", "类型", "组织", "时间", "状态", "题数/总分", ""], answer.quizzes.map((q) => [
      q.title, KIND[q.kind] || q.kind, q.org_name, `${localTime(q.open_at)} 至 ${localTime(q.close_at)}`,
      PHASE[q.phase] || q.phase, `${q.question_count} 题 / ${q.max_score} 分`,
      el("button", { type: "button", class: "btn btn-small", onclick: () => showResults(q, "member") }, "成绩与排行"),
    ]), { id: "quizzes-table" }));
  }

  async function showResults(quiz, by) {
    let board;
    try {
      board = await call("GET", `/v1/quizzes/${encodeURIComponent(quiz.id)}/leaderboard` + query({ by, limit: 200 }));
    } catch (error) {
      return say(status, errorText(error), "error");
    }
    const tabs = el("div", { class: "actions" }, [["member", "按党员"], ["branch", "按支部"], ["county", "按区县"]].map(([key, label]) =>
      el("button", { type: "button", class: `btn btn-small ${key === by ? "btn-primary" : ""}`, "aria-pressed": String(key === by),
        onclick: () => showResults(quiz, key) }, label)));
    const rows = by === "member"
      ? table(["名次", "姓名", "支部", "区县", "得分", "用时（秒）", "答题次数"], board.entries.map((e) => [
        String(e.rank), e.name, e.branch_name, e.county_name, String(e.score), String(e.seconds), String(e.attempts)]),
      { id: "board-table" })
      : table(["名次", by === "branch" ? "支部" : "区县", "参与人数", "平均分", "平均用时（秒）"], board.groups.map((g) => [
        String(g.rank), g.name, String(g.participants), String(g.average_score), String(g.average_seconds)]), { id: "board-table" });
    results.replaceChildren(el("section", { class: "card" }, el("h2", {}, `${board.title}：成绩与排行`), tabs,
      el("p", { class: "muted" }, `共 ${board.participants} 人参与`), rows));
    results.scrollIntoView({ block: "start" });
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = document.getElementById("quiz-error");
    error.textContent = "";
    const v = Object.fromEntries(new FormData(form).entries());
    const draw = Array.from(rules.querySelectorAll(".draw-rule")).map((row) => ({
      category: row.querySelector("[name=category]").value.trim(), count: Number(row.querySelector("[name=count]").value),
      points: Number(row.querySelector("[name=points]").value) || 1 }));
    try {
      const quiz = await call("POST", "/v1/quizzes", { org_id: orgSelect.value, kind: v.kind, title: v.title,
        description: v.description, open_at: beijing(v.open_at), close_at: beijing(v.close_at),
        time_limit_seconds: Math.round(Number(v.minutes) * 60), max_attempts: Number(v.max_attempts) || 0,
        grading: v.grading, review: v.review, draw });
      say(status, `已发布“${quiz.title}”：共 ${quiz.question_count} 题，满分 ${quiz.max_score} 分。`, "ok");
      load();
    } catch (e) {
      // the service's own text names the category and how many questions it has
      error.textContent = e.status === 400 && e.serverMessage ? e.serverMessage : errorText(e);
    }
  });

  main.replaceChildren(el("h1", {}, "答题竞赛"), status, form, el("h2", {}, "答题活动"), list, results,
    el("datalist", { id: "categories" }, CATEGORIES.map((c) => el("option", { value: c }))));
  orgSelect.addEventListener("change", load);
  if (orgs.length) await load();
}

page();
