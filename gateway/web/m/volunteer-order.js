// /m/volunteer-order?id=: one order as its volunteer sees it (GET /v1/volunteer/orders/{id}; the contact once it
// holds a claim) and the service itself: claim, withdraw before check-in, check in and out with the phone's
// position inside the order's fence (POST ...:check-in / :check-out), then the completion report with photos
// (POST .../photos as the raw image, POST ...:report).
import { get, post, api } from "/web/common/api.js";
import { h, mount, notice, formatTime, formValues, busy } from "/web/common/ui.js";
import { CLAIM_KINDS, CLAIM_LABELS, LocationProblem, badge, flashBox, hoursText, locate, member, refusalText } from "/m/volunteer-common.js";

const app = document.getElementById("app");
const orderId = new URLSearchParams(location.search).get("id") || "";
const path = (tail = "") => `/v1/volunteer/orders/${encodeURIComponent(orderId)}${tail}`;
const PHOTO_TYPES = ["image/jpeg", "image/png", "image/webp"];

function facts(order) {
  const rows = [
    ["社区", order.community_name],
    ["服务地址", order.address],
    ["期望时间", order.wished_start ? `${formatTime(order.wished_start)} 至 ${formatTime(order.wished_end)}` : ""],
    ["名额", order.volunteers_needed ? `需要 ${order.volunteers_needed} 人，已接 ${order.claimed} 人，还剩 ${order.places_left} 个` : ""],
    ["签到范围", order.fence_radius_m ? `服务地点 ${order.fence_radius_m} 米以内` : ""],
    ["时长上限", order.hours_cap ? `${order.hours_cap} 小时` : ""],
    ["联系人", order.contact_name ? `${order.contact_name} ${order.contact_phone || ""}` : ""],
  ];
  return h("dl", { class: "kv facts" }, rows.filter(([, value]) => value).flatMap(([label, value]) => [h("dt", {}, label), h("dd", {}, value)]));
}

// check in or out: the position first (what to do when there is none), then the service's answer
function serviceButton(label, action, done, refresh) {
  return h("button", { class: "btn btn-primary btn-block", type: "button", id: action, onclick: async (event) => {
    try {
      const claim = await busy(event.target, async () => post(path(`:${action}`), await locate()));
      refresh(done(claim));
    } catch (e) {
      refresh("", e instanceof LocationProblem ? e.message : refusalText(e));
    }
  } }, label);
}

function withdrawForm(refresh) {
  const form = h("form", { id: "withdraw-form" },
    h("label", {}, "撤回原因", h("textarea", { name: "reason", maxlength: 200, rows: 2, placeholder: "例如：临时有事无法到场" })),
    h("button", { class: "btn btn-block", type: "submit" }, "撤回接单"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await busy(form.querySelector("button"), () => post(path(":withdraw-claim"), { reason: formValues(form).reason || "" }));
      refresh("已撤回，名额已让给其他志愿者。");
    } catch (e) { refresh("", e.message); }
  });
  return h("details", { class: "withdraw" }, h("summary", {}, "不能按时到场？签到前可以撤回"), form);
}

function reportForm(refresh) {
  const error = h("div", { class: "form-error", role: "alert" });
  const form = h("form", { class: "card", id: "report-form" },
    h("h2", {}, "完成报告"),
    h("label", {}, "服务情况", h("textarea", { name: "text", required: true, maxlength: 2000, rows: 4,
      placeholder: "简要说明提供了哪些服务、群众的情况" })),
    h("label", {}, "现场照片（可多选，JPEG / PNG / WebP）", h("input", { name: "photos", type: "file", accept: PHOTO_TYPES.join(","), multiple: true })),
    error,
    h("button", { class: "btn btn-primary btn-block", type: "submit" }, "提交完成报告"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const files = Array.from(form.querySelector("[name=photos]").files);
    const wrong = files.find((file) => !PHOTO_TYPES.includes(file.type));
    if (wrong) {
      error.textContent = `“${wrong.name}”不是 JPEG、PNG 或 WebP 图片`;
      return;
    }
    try {
      await busy(form.querySelector("button[type=submit]"), async () => {
        for (const file of files) await api("POST", path("/photos"), file, { contentType: file.type });
        await post(path(":report"), { text: formValues(form).text });
      });
      refresh(files.length ? `完成报告已提交（照片 ${files.length} 张），请等待群众确认。` : "完成报告已提交，请等待群众确认。");
    } catch (e) { error.textContent = e.message; }
  });
  return form;
}

function myPart(order, refresh) {
  const claim = order.my_claim;
  if (!claim || claim.status === "withdrawn" || claim.status === "released") {
    const again = claim ? h("p", { class: "muted small" }, `您之前的接单${CLAIM_LABELS[claim.status] || ""}。`) : null;
    if (order.status !== "open") return [again];
    return [again, h("button", { class: "btn btn-primary btn-block", type: "button", id: "claim", onclick: async (event) => {
      try {
        await busy(event.target, () => post(path(":claim")));
        refresh("认领成功！请按时到达服务地点签到。");
      } catch (e) { refresh("", e.message); }
    } }, "认领")];
  }
  const parts = [h("p", { id: "my-claim" }, "我的接单：", badge(CLAIM_LABELS[claim.status] || claim.status, CLAIM_KINDS[claim.status]))];
  if (claim.checked_in_at) parts.push(h("p", { class: "small" }, `签到时间：${formatTime(claim.checked_in_at, { seconds: true })}`));
  if (claim.checked_out_at) {
    parts.push(h("p", { class: "small" }, `签退时间：${formatTime(claim.checked_out_at, { seconds: true })}`,
      claim.hours !== undefined && claim.hours !== null ? `，本次服务 ${hoursText(claim.hours)}（群众确认后计入时长）` : ""));
  }
  if (claim.status === "claimed") {
    parts.push(h("p", { class: "muted small" }, "到达服务地点后点下面的按钮签到，需要允许本页使用位置信息。"),
      serviceButton("到达现场，签到", "check-in", () => "签到成功，服务结束后请签退。", refresh), withdrawForm(refresh));
  }
  if (claim.status === "checked_in") {
    parts.push(serviceButton("服务结束，签退", "check-out",
      (answer) => `签退成功，本次服务 ${hoursText(answer.hours)}。`, refresh));
  }
  if (claim.status === "checked_out" && !order.completion_text && ["in_service", "completed"].includes(order.status)) {
    parts.push(reportForm(refresh));
  }
  return parts;
}

function completion(order) {
  if (!order.completion_text && !(order.photo_ids || []).length) return null;
  return h("section", { class: "card", id: "completion" }, h("h2", {}, "完成报告"),
    order.completion_text ? h("p", {}, order.completion_text) : null,
    h("div", { class: "row" }, (order.photo_ids || []).map((id) => {
      const src = `/v1/volunteer/order-photos/${encodeURIComponent(id)}`;
      return h("a", { href: src, target: "_blank", rel: "noopener" },
        h("img", { class: "upload-thumb", src, alt: "服务照片", loading: "lazy" }));
    })),
    order.rating ? h("p", {}, `群众评价：${"★".repeat(order.rating)}${"☆".repeat(5 - order.rating)}`, order.comment ? `，${order.comment}` : "") : null);
}

async function render(message = "", failure = "") {
  const current = await member(render);
  if (!current) return;
  const refresh = (ok, failed) => render(ok, failed);
  let order;
  try {
    order = await get(path());
  } catch (e) {
    return mount(app, flashBox("", e.status === 404 ? "订单不存在，或不在您可以查看的范围内。" : e.message),
      h("p", { class: "center" }, h("a", { href: "/m/volunteer" }, "返回志愿服务")));
  }
  mount(app,
    flashBox(message, failure),
    h("section", { class: "card order", dataset: { id: order.order_id, status: order.status } },
      h("div", { class: "row" }, h("h2", { class: "grow" }, order.category_label || order.category),
        badge(order.status_label || order.status, "info")),
      h("p", {}, order.description),
      facts(order),
      ...myPart(order, refresh)),
    completion(order),
    order.status === "completed" && order.my_claim ? notice("info", "", "服务已完成，等待群众确认；确认后时长记入您的志愿服务记录。") : null,
    h("p", { class: "center" }, h("a", { href: "/m/volunteer" }, "返回志愿服务")));
}

render();
