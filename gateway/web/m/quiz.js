// /m/quiz: the daily question (每日一题), the member's quizzes and contests, taking an attempt (one question at a
// time or the whole list; every answer is saved as it is given, so a lost connection loses nothing), a countdown
// from the server's deadline, submitting, the result with the review when the quiz allows, contest leaderboards.
// The page never holds a right answer before the server has graded the attempt: the API does not send one.
import { api, get, post } from "/web/common/api.js";
import { h, mount, notice, formatTime, busy } from "/web/common/ui.js";
import { session } from "/m/session.js";

const app = document.getElementById("app");
const KIND = { quiz: "答题", contest: "知识竞赛" };
const PHASE = { upcoming: "未开始", open: "进行中", closed: "已结束", finished: "已公布名次" };
const QUESTION_KIND = { single: "单选题", multiple: "多选题", true_false: "判断题", fill: "填空题" };
const BAND = { excellent: "优秀", pass: "及格", fail: "不及格" };
const REVIEW_LATER = { never: "本次答题不公布答案。", after_close: "答案将在答题结束后公布。", after_submit: "" };
let timer = null;

function stopTimer() {
  if (timer) clearInterval(timer);
  timer = null;
}

function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  return `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
}

// --- answering one question (daily or in an attempt) ------------------------------------
function answerInputs(question, name, onAnswer) {
  if (question.kind === "fill") {
    const input = h("input", { type: "text", name, value: question.text || "", maxlength: 200, "aria-label": "填写答案",
      autocomplete: "off" });
    let pending = null;
    const send = () => { clearTimeout(pending); onAnswer({ text: input.value }); };
    input.addEventListener("change", send);
    input.addEventListener("input", () => { clearTimeout(pending); pending = setTimeout(send, 800); });
    return h("div", { class: "answer" }, input);
  }
  const type = question.kind === "multiple" ? "checkbox" : "radio";
  const picked = new Set(question.choices || []);
  const box = h("div", { class: "answer", role: type === "radio" ? "radiogroup" : "group" });
  for (const option of question.options) {
    const input = h("input", { type, name, value: option.key, checked: picked.has(option.key) });
    input.addEventListener("change", () => {
      const chosen = Array.from(box.querySelectorAll("input:checked")).map((i) => i.value);
      onAnswer({ choices: chosen });
    });
    box.append(h("label", { class: "option" }, input,
      `${option.key}. ${option.text}`));
  }
  return box;
}

function reviewLines(question) {
  const review = question.review;
  if (!review) return null;
  const mine = question.kind === "fill" ? (question.text || "（未作答）") : ((question.choices || []).join("") || "（未作答）");
  const right = question.kind === "fill" ? review.accepted.join(" 或 ") : review.correct.map((k) =>
    question.kind === "true_false" ? (k === "T" ? "正确" : "错误") : k).join("");
  return h("div", { class: `review ${review.right ? "review-right" : "review-wrong"}` },
    h("p", {}, h("span", { class: `badge ${review.right ? "badge-ok" : "badge-err"}` }, review.right ? "答对了" : "答错了"),
      ` 您的答案：${question.kind === "true_false" && question.choices?.length ? (question.choices[0] === "T" ? "正确" : "错误") : mine}；正确答案：${right}`),
    review.explanation ? h("p", { class: "muted" }, `解析：${review.explanation}`) : null);
}

// --- the daily question -------------------------------------------------------------------
function dailyCard(daily, refresh) {
  const card = h("section", { class: "card", id: "daily" }, h("h2", {}, `每日一题 · ${daily.date}`));
  if (!daily.available) return mount(card, card.firstChild, h("p", { class: "muted" }, "题库暂无题目，明天再来吧。"));
  const q = daily.question;
  card.append(h("p", { class: "small muted" }, `${QUESTION_KIND[q.kind] || ""} · ${q.category}`), h("p", { class: "stem" }, q.stem));
  if (daily.answered) {
    card.append(h("div", { class: "answer" }, q.options.map((o) => h("p", {}, `${o.key}. ${o.text}`))), reviewLines(q));
    return card;
  }
  let answer = null;
  const error = h("div", { class: "form-error", role: "alert" });
  const button = h("button", { type: "button", class: "btn btn-primary btn-block", id: "daily-submit" }, "提交答案");
  card.append(answerInputs(q, "daily", (given) => { answer = given; }), error, button);
  button.addEventListener("click", async () => {
    error.textContent = "";
    if (!answer || (!answer.text && !(answer.choices || []).length)) {
      error.textContent = "请先作答。";
      return;
    }
    try {
      await busy(button, () => post("/v1/daily-question:answer", { question_id: q.id, ...answer }));
      refresh();
    } catch (e) { error.textContent = e.message; }
  });
  return card;
}

// --- the list of quizzes ------------------------------------------------------------------
function quizCard(quiz) {
  const mine = quiz.mine || { attempts: 0, finished: false, score: 0, in_progress_attempt_id: "" };
  const actions = h("div", { class: "actions" });
  if (quiz.phase === "open" && mine.in_progress_attempt_id) {
    actions.append(h("a", { class: "btn btn-primary", href: `#attempt=${mine.in_progress_attempt_id}` }, "继续答题"));
  } else if (quiz.phase === "open" && mine.attempts < quiz.max_attempts) {
    actions.append(h("button", { type: "button", class: "btn btn-primary start", onclick: (e) => start(quiz, e.target) },
      mine.attempts ? "再答一次" : "开始答题"));
  }
  if (quiz.kind === "contest") actions.append(h("a", { class: "btn", href: `#board=${quiz.id}` }, "排行榜"));
  return h("li", { class: "quiz", dataset: { quizId: quiz.id } },
    h("p", {}, h("strong", {}, quiz.title), " ", h("span", { class: "badge badge-info" }, KIND[quiz.kind] || quiz.kind), " ",
      h("span", { class: "badge" }, PHASE[quiz.phase] || quiz.phase)),
    h("p", { class: "small muted" }, `${formatTime(quiz.open_at)} 至 ${formatTime(quiz.close_at)} · ${quiz.question_count} 题 · ` +
      `限时 ${Math.round(quiz.time_limit_seconds / 60)} 分钟 · 可答 ${quiz.max_attempts} 次（已答 ${mine.attempts} 次）`),
    mine.finished ? h("p", { class: "small" }, `我的成绩：${mine.score} / ${quiz.max_score} 分`) : null,
    actions);
}

async function start(quiz, button) {
  try {
    const attempt = await busy(button, () => post(`/v1/quizzes/${quiz.id}/attempts`, {}));
    location.hash = `attempt=${attempt.id}`;
  } catch (e) {
    mount(document.getElementById("flash"), notice("error", e.message));
  }
}

// --- taking an attempt --------------------------------------------------------------------
function showAttempt(attempt) {
  stopTimer();
  if (attempt.state !== "in_progress") return showResult(attempt);
  const offset = Date.parse(attempt.server_now) - Date.now();        // the server's clock, not the phone's
  const deadline = Date.parse(attempt.deadline_at);
  const countdown = h("strong", { id: "countdown", "aria-live": "off" }, "");
  const progress = h("span", { id: "answered" }, `已答 ${attempt.answered} / ${attempt.questions.length}`);
  const answered = new Set(attempt.questions.filter((q) => (q.choices || []).length || q.text).map((q) => q.id));
  const status = h("p", { class: "small muted", id: "save-status", role: "status" }, "每道题作答后自动保存。");
  let oneByOne = true;
  let index = 0;
  const items = attempt.questions.map((q, position) => {
    const saved = h("span", { class: "small muted saved" }, answered.has(q.id) ? "已保存" : "");
    const save = async (answer) => {
      saved.textContent = "正在保存…";
      try {
        await api("PUT", `/v1/quiz-attempts/${attempt.id}/answers/${q.id}`, answer);
        saved.textContent = "已保存";
        if ((answer.choices || []).length || answer.text) answered.add(q.id); else answered.delete(q.id);
        progress.textContent = `已答 ${answered.size} / ${attempt.questions.length}`;
      } catch (e) {
        saved.textContent = "";
        if (e.code === "ATTEMPT_EXPIRED" || e.code === "ATTEMPT_FINISHED") return openAttempt(attempt.id);
        status.textContent = `保存失败：${e.message}（网络恢复后请重新选择）`;
      }
    };
    return h("section", { class: "card question", dataset: { questionId: q.id } },
      h("p", { class: "small muted" }, `第 ${position + 1} 题 · ${QUESTION_KIND[q.kind] || ""} · ${q.points} 分`),
      h("p", { class: "stem" }, q.stem), answerInputs(q, `q-${q.id}`, save), saved);
  });
  const list = h("div", { id: "questions" });
  const prev = h("button", { type: "button", class: "btn", id: "prev" }, "上一题");
  const next = h("button", { type: "button", class: "btn", id: "next" }, "下一题");
  const pager = h("div", { class: "actions", id: "pager" }, prev, next);
  const layout = () => {
    mount(list, oneByOne ? items[index] : items);
    pager.hidden = !oneByOne;
    prev.disabled = index === 0;
    next.disabled = index === items.length - 1;
  };
  prev.addEventListener("click", () => { index = Math.max(0, index - 1); layout(); });
  next.addEventListener("click", () => { index = Math.min(items.length - 1, index + 1); layout(); });
  const mode = h("button", { type: "button", class: "link", id: "mode" }, "显示全部题目");
  mode.addEventListener("click", () => {
    oneByOne = !oneByOne;
    mode.textContent = oneByOne ? "显示全部题目" : "逐题作答";
    layout();
  });
  const submit = h("button", { type: "button", class: "btn btn-primary btn-block", id: "submit" }, "交卷");
  const submitNow = async () => {
    stopTimer();
    try {
      showResult(await busy(submit, () => post(`/v1/quiz-attempts/${attempt.id}:submit`, {})));
    } catch (e) { status.textContent = `交卷失败：${e.message}`; }
  };
  submit.addEventListener("click", () => {
    const left = attempt.questions.length - answered.size;
    if (left > 0 && !confirm(`还有 ${left} 题未作答，确定交卷吗？`)) return;
    submitNow();
  });
  const tick = () => {
    const remaining = (deadline - (Date.now() + offset)) / 1000;
    countdown.textContent = `剩余时间 ${clock(remaining)}`;
    if (remaining <= 0) submitNow();
  };
  mount(app, h("div", { id: "flash" }),
    h("section", { class: "card", id: "attempt" }, h("h2", {}, attempt.title),
      h("p", { class: "row" }, countdown, h("span", { class: "grow" }), progress), mode, status),
    list, pager, submit, h("p", { class: "center" }, h("a", { href: "#" }, "返回答题列表")));
  layout();
  tick();
  timer = setInterval(tick, 1000);
}

function showResult(attempt) {
  stopTimer();
  const reviewed = attempt.questions.filter((q) => q.review);
  mount(app, h("section", { class: "card center", id: "result" },
    h("h2", {}, attempt.title),
    h("p", { class: "score" }, h("strong", { id: "score" }, `${attempt.score} / ${attempt.max_score} 分`), " ",
      h("span", { class: `badge ${attempt.band === "fail" ? "badge-err" : "badge-ok"}` }, BAND[attempt.band] || "")),
    h("p", { class: "small muted" }, `${attempt.state === "expired" ? "答题时间已到，已按已保存的答案自动交卷。" : "已交卷。"}` +
      `用时 ${clock(attempt.seconds)}`),
    attempt.reviewed ? null : h("p", { class: "muted", id: "review-later" }, REVIEW_LATER[attempt.review_rule] || "")),
  attempt.reviewed ? h("div", { id: "review" }, reviewed.map((q, i) => h("section", { class: "card" },
    h("p", { class: "small muted" }, `第 ${i + 1} 题 · ${QUESTION_KIND[q.kind] || ""}`), h("p", {}, q.stem),
    q.options.length ? h("div", {}, q.options.map((o) => h("p", { class: "small" }, `${o.key}. ${o.text}`))) : null,
    reviewLines(q)))) : null,
  h("p", { class: "center" }, h("a", { href: "#" }, "返回答题列表")));
}

async function openAttempt(id) {
  try {
    showAttempt(await get(`/v1/quiz-attempts/${encodeURIComponent(id)}`));
  } catch (e) {
    mount(app, notice("error", "无法打开答题", e.message), h("p", {}, h("a", { href: "#" }, "返回答题列表")));
  }
}

// --- leaderboards -------------------------------------------------------------------------
async function showBoard(quizId, by = "member") {
  stopTimer();
  let board;
  try {
    board = await get(`/v1/quizzes/${encodeURIComponent(quizId)}/leaderboard`, { by });
  } catch (e) {
    return mount(app, notice("error", "无法查看排行榜", e.message), h("p", {}, h("a", { href: "#" }, "返回答题列表")));
  }
  const tabs = h("div", { class: "actions", role: "tablist" }, [["member", "个人"], ["branch", "支部"], ["county", "区县"]].map(
    ([key, label]) => h("button", { type: "button", class: `btn btn-small ${key === by ? "btn-primary" : ""}`, role: "tab",
      "aria-selected": key === by ? "true" : "false", onclick: () => showBoard(quizId, key) }, label)));
  const rows = by === "member"
    ? (board.entries || []).map((e) => [String(e.rank), e.name || "党员", e.branch_name, `${e.score}`, clock(e.seconds)])
    : (board.groups || []).map((g) => [String(g.rank), g.name, String(g.participants), String(g.average_score), clock(g.average_seconds)]);
  const headers = by === "member" ? ["名次", "姓名", "支部", "得分", "用时"] : ["名次", by === "branch" ? "支部" : "区县", "参赛人数", "平均分", "平均用时"];
  mount(app, h("section", { class: "card", id: "board" }, h("h2", {}, `${board.title} · 排行榜`), tabs,
    h("p", { class: "small muted" }, `共 ${board.participants} 人参赛`),
    board.me ? h("p", { id: "my-rank" }, `我的名次：第 ${board.me.rank} 名（${board.me.score} 分）`) : null,
    rows.length ? h("div", { class: "table-wrap" }, h("table", { class: "table", id: "board-table" },
      h("thead", {}, h("tr", {}, headers.map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map((c) => h("td", {}, c)))))))
      : h("p", { class: "muted" }, "暂无成绩。")),
  h("p", { class: "center" }, h("a", { href: "#" }, "返回答题列表")));
}

// --- the page -----------------------------------------------------------------------------
async function home() {
  stopTimer();
  const [daily, mine] = await Promise.all([get("/v1/daily-question").catch((e) => e), get("/v1/my/quizzes").catch((e) => e)]);
  const quizzes = mine instanceof Error ? [] : mine.quizzes;
  mount(app, h("div", { id: "flash" }),
    daily instanceof Error ? notice("error", "每日一题加载失败", daily.message) : dailyCard(daily, home),
    h("section", { class: "card", id: "quizzes" }, h("h2", {}, "答题与竞赛"),
      mine instanceof Error ? notice("error", "加载失败", mine.message)
        : quizzes.length ? h("ul", { class: "list" }, quizzes.map(quizCard)) : h("p", { class: "muted" }, "暂无答题活动。")));
}

function route() {
  const hash = location.hash.replace(/^#/, "");
  const [key, value] = hash.split("=");
  if (key === "attempt" && value) return openAttempt(value);
  if (key === "board" && value) return showBoard(value);
  return home();
}

async function render() {
  const current = await session(render, [notice("info", "该账号不是党员账号", "管理人员请使用电脑打开管理端。"),
    h("p", {}, h("a", { href: "/console/quizzes" }, "进入答题竞赛管理"))], stopTimer);
  if (!current) return;
  return route();
}

window.addEventListener("hashchange", () => { if (document.getElementById("logout")) route(); });
render();
