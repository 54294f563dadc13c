// 党费收缴标准设置: the tenant's brackets, fixed amounts and the months of arrears that flag (GET/PUT /v1/dues-rules).
// Rates are shown in percent and sent in basis points; amounts in yuan, sent in fen.
import { boot, call, el, errorText, say, table } from "/console/shell.js";
import { CATEGORY_LABELS, fenOf, yuan } from "/console/dues-common.js";

const form = document.getElementById("rules-form");
const status = document.getElementById("rules-status");
let rules = null;

function percent(bp) {
  return `${Math.trunc(bp / 100)}${bp % 100 ? `.${String(bp % 100).padStart(2, "0").replace(/0$/, "")}` : ""}`;
}

function render(editable) {
  document.getElementById("rules-brackets").replaceChildren(table(["类别", "收入上限（元，含；空为不设上限）", "比例（%）"],
    rules.brackets.map((bracket, index) => [
      CATEGORY_LABELS[bracket.category] || bracket.category,
      el("input", { name: `up_to_${index}`, inputmode: "decimal", value: bracket.up_to_fen ? yuan(bracket.up_to_fen) : "",
        "aria-label": `第${index + 1}档上限`, disabled: !editable || null }),
      el("input", { name: `rate_${index}`, inputmode: "decimal", value: percent(bracket.rate_bp),
        "aria-label": `第${index + 1}档比例`, disabled: !editable || null }),
    ]), { id: "rules-bracket-table" }));
  document.getElementById("rules-fixed").replaceChildren(...rules.fixed.map((item) => el("label", {},
    CATEGORY_LABELS[item.category] || item.category,
    el("input", { name: `fixed_${item.category}`, inputmode: "decimal", value: yuan(item.amount_fen),
      disabled: !editable || null }))));
  form.flag_months.value = rules.arrears_flag_months;
  form.flag_months.disabled = !editable;
  document.getElementById("rules-submit").hidden = !editable;
}

async function save(event) {
  event.preventDefault();
  const brackets = [];
  for (const [index, bracket] of rules.brackets.entries()) {
    const upTo = form[`up_to_${index}`].value.trim();
    const upToFen = upTo ? fenOf(upTo) : 0;
    const rate = fenOf(form[`rate_${index}`].value);       // percent with two decimals -> basis points
    if (upToFen === null || !rate) return say(status, `第${index + 1}档的上限或比例填写有误。`, "error");
    brackets.push({ category: bracket.category, up_to_fen: upToFen, rate_bp: rate });
  }
  const fixed = [];
  for (const item of rules.fixed) {
    const amount = fenOf(form[`fixed_${item.category}`].value);
    if (!amount) return say(status, `${CATEGORY_LABELS[item.category]}的固定金额填写有误。`, "error");
    fixed.push({ category: item.category, amount_fen: amount });
  }
  try {
    rules = await call("PUT", "/v1/dues-rules", { brackets, fixed, arrears_flag_months: Number(form.flag_months.value) });
    render(true);
    say(status, "已保存本单位党费收缴标准。此后核定的标准按新档次计算，已核定的标准不变。", "ok");
  } catch (error) {
    say(status, errorText(error), "error");
  }
}

const { roles } = await boot("dues-rules");
try {
  rules = await call("GET", "/v1/dues-rules");
  const cityAdmin = roles.admin.some((grant) => grant.org.kind === "city");
  render(cityAdmin);
  if (!cityAdmin) say(status, "仅市级管理员可以调整党费收缴标准，您可以查看。", "info");
  else if (rules.is_default) say(status, "本单位目前采用全国统一标准。");
  form.addEventListener("submit", save);
} catch (error) {
  say(status, errorText(error), "error");
}
