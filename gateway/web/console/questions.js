// 题库: the questions visible at a node the admin manages (its own and its ancestors'), filtered by category,
// difficulty and kind; a question added by hand; an XLSX/CSV import, all rows or none, every bad row listed.
import {
  ApiError, KIND_LABELS, allPages, answerOr, boot, call, csvField, downloadText, el, errorText, query, say, table,
} from "/console/shell.js";

const XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const QUESTION_KINDS = { single: "单选题", multiple: "多选题", true_false: "判断题", fill: "填空题" };
const CATEGORIES = ["党章", "党史", "理论学习", "党纪法规", "时事政策"];
const TEMPLATE = ["题型", "题干", "选项A", "选项B", "选项C", "选项D", "答案", "分类", "标签", "难度", "解析"];
const FIELD_LABELS = { kind: "题型", stem: "题干", options: "选项", correct: "答案", accepted: "答案", answer: "答案",
  category: "分类", tags: "标签", difficulty: "难度", explanation: "解析", content: "文件" };
const main = document.getElementById("main");

function answerText(question) {
  if (question.kind === "fill") return question.accepted.join(" | ");
  if (question.kind === "true_false") return question.correct[0] === "T" ? "正确" : "错误";
  return question.correct.join("");
}

function orgLabel(org) {
  return `${(org.path_names || []).slice(1).join(" / ") || org.name}（${KIND_LABELS[org.kind] || ""}）`;
}

async function page() {
  const { roles } = await boot("questions");
  const orgs = [];
  for (const grant of roles.admin) {
    orgs.push(grant.org);
    try {
      const below = await allPages(`/v1/orgs/${encodeURIComponent(grant.org.id)}/subtree`, { max_depth: 1, page_size: 500 },
        "orgs", 5);
      for (const org of below) if (org.kind !== "branch" && !orgs.some((o) => o.id === org.id)) orgs.push(org);
    } catch (error) { /* the grant's own node is enough to work with */ }
  }
  const status = el("p", { class: "notice", id: "status", role: "status", hidden: true });
  const orgSelect = el("select", { id: "org", name: "org" }, orgs.map((org) => el("option", { value: org.id }, orgLabel(org))));
  const filters = el("form", { class: "card filters", id: "filters" },
    el("label", {}, "组织", orgSelect),
    el("label", {}, "分类", el("input", { name: "category", list: "categories", placeholder: "全部" })),
    el("label", {}, "难度", el("select", { name: "difficulty" }, el("option", { value: "" }, "全部"),
      [1, 2, 3, 4, 5].map((n) => el("option", { value: String(n) }, String(n))))),
    el("label", {}, "题型", el("select", { name: "kind" }, el("option", { value: "" }, "全部"),
      Object.entries(QUESTION_KINDS).map(([key, label]) => el("option", { value: key }, label)))),
    el("button", { type: "submit", class: "btn btn-primary" }, "查询"));
  const list = el("div", { id: "question-list" });

  async function load(event) {
    if (event) event.preventDefault();
    const values = Object.fromEntries(new FormData(filters).entries());
    const answer = await answerOr(main, status, call("GET", `/v1/orgs/${encodeURIComponent(orgSelect.value)}/questions` +
      query({ category: values.category, difficulty: values.difficulty, kind: values.kind, page_size: 200 })));
    if (!answer) return;
    if (!answer.questions.length) return list.replaceChildren(el("p", { class: "muted" }, "没有符合条件的题目。"));
    list.replaceChildren(el("p", { class: "muted" }, `共 ${answer.questions.length}${answer.next_page_token ? "+" : ""} 道题`),
      table(["题型", "题干", "选项", "答案", "分类", "难度", ""], answer.questions.map((q) => [
        QUESTION_KINDS[q.kind] || q.kind, q.stem, q.options.map((o) => `${o.key}. ${o.text}`).join("\n"), answerText(q),
        q.category, String(q.difficulty),
        el("button", { type: "button", class: "btn btn-small", onclick: () => retire(q) }, "停用"),
      ]), { id: "questions-table" }));
  }

  async function retire(question) {
    if (!confirm(`停用题目“${question.stem.slice(0, 30)}”？已抽到此题的答题仍按此题评分。`)) return;
    try {
      await call("DELETE", `/v1/questions/${encodeURIComponent(question.id)}`);
      say(status, "题目已停用。", "ok");
      load();
    } catch (error) { say(status, errorText(error), "error"); }
  }

  const addForm = el("form", { class: "card", id: "add-form" }, el("h2", {}, "添加题目"),
    el("div", { class: "form-grid" },
      el("label", {}, "题型", el("select", { name: "kind" },
        Object.entries(QUESTION_KINDS).map(([key, label]) => el("option", { value: key }, label)))),
      el("label", {}, "分类", el("input", { name: "category", list: "categories", required: true })),
      el("label", {}, "难度（1-5）", el("input", { name: "difficulty", type: "number", min: 1, max: 5, value: 3 })),
      el("label", {}, "标签（用逗号分隔）", el("input", { name: "tags" })),
      el("label", { class: "wide" }, "题干", el("textarea", { name: "stem", required: true, maxlength: 1000 })),
      el("label", { class: "wide" }, "选项（选择题，每行一个，依次为 A、B、C…）", el("textarea", { name: "options" })),
      el("label", {}, "答案（选择题填字母，如 A 或 ACD；判断题填 正确/错误；填空题多个答案用 | 分隔）",
        el("input", { name: "answer", required: true })),
      el("label", { class: "wide" }, "解析", el("textarea", { name: "explanation", maxlength: 2000 }))),
    el("p", { class: "form-error", id: "add-error", role: "alert" }),
    el("button", { type: "submit", class: "btn btn-primary" }, "保存题目"));
  addForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const v = Object.fromEntries(new FormData(addForm).entries());
    const error = document.getElementById("add-error");
    error.textContent = "";
    const answer = v.answer.trim();
    const body = { org_id: orgSelect.value, kind: v.kind, stem: v.stem, category: v.category.trim(),
      difficulty: Number(v.difficulty) || 3, explanation: v.explanation,
      tags: v.tags.split(/[,，、\s]+/).filter(Boolean) };
    if (v.kind === "fill") body.accepted = answer.split(/[|｜]/).map((s) => s.trim()).filter(Boolean);
    else if (v.kind === "true_false") body.correct = [/^(正确|对|t|true|√)$/i.test(answer) ? "T" : /^(错误|错|f|false|×)$/i.test(answer) ? "F" : answer];
    else body.correct = answer.toUpperCase().replace(/[^A-H]/g, "").split("");
    if (v.kind === "single" || v.kind === "multiple") body.options = v.options.split("\n").map((s) => s.trim()).filter(Boolean);
    try {
      await call("POST", "/v1/questions", body);
      addForm.reset();
      say(status, "题目已添加。", "ok");
      load();
    } catch (e) {
      error.textContent = e instanceof ApiError && e.field ? `${FIELD_LABELS[e.field] || e.field}：${e.message}` : errorText(e);
    }
  });

  const importErrors = el("div", { id: "import-errors" });
  const importForm = el("form", { class: "card filters", id: "import-form" }, el("h2", {}, "批量导入"),
    el("p", { class: "muted" }, "上传 XLSX 或 CSV 文件（表头：", TEMPLATE.join("、"), "）。文件中只要有一行有误，整个文件都不会导入。",
      el("button", { type: "button", class: "link", id: "template" }, "下载模板")),
    el("label", {}, "文件", el("input", { type: "file", name: "file", id: "import-file", accept: ".xlsx,.csv", required: true })),
    el("button", { type: "submit", class: "btn btn-primary", id: "import-submit" }, "开始导入"));
  importForm.querySelector("#template").addEventListener("click", () => downloadText("题库导入模板.csv",
    `${TEMPLATE.map(csvField).join(",")}\r\n单选,党的最高理想和最终目标是什么？,实现共产主义,全面建成小康社会,,,A,党章,总纲,2,见党章总纲\r\n`));
  importForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    importErrors.replaceChildren();
    const file = importForm.file.files[0];
    const name = (file?.name || "").toLowerCase();
    const type = name.endsWith(".xlsx") ? XLSX_TYPE : name.endsWith(".csv") ? "text/csv" : "";
    if (!type) return say(status, "只能导入 XLSX 或 CSV 文件。", "error");
    try {
      const result = await call("POST", `/v1/orgs/${encodeURIComponent(orgSelect.value)}/question-imports`, file,
        { contentType: type });
      say(status, `导入成功：共导入 ${result.imported} 道题。`, "ok");
      load();
    } catch (error) {
      const rows = error instanceof ApiError ? (error.details || []).filter((d) => d && d.line !== undefined) : [];
      say(status, error instanceof ApiError && error.code === "IMPORT_REJECTED" ? error.serverMessage : errorText(error), "error");
      if (rows.length) {
        importErrors.replaceChildren(el("h2", {}, `错误明细（${rows.length} 处）`),
          table(["行号", "列", "问题"], rows.map((d) => [String(d.line), FIELD_LABELS[d.field] || d.field || "", d.message || d.reason]),
            { id: "import-error-table" }));
      }
    }
  });

  main.replaceChildren(el("h1", {}, "题库"), status, filters, list, addForm, importForm, importErrors,
    el("datalist", { id: "categories" }, CATEGORIES.map((c) => el("option", { value: c }))));
  filters.addEventListener("submit", load);
  orgSelect.addEventListener("change", () => load());
  if (orgs.length) await load();
}

page();
