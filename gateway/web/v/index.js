// /v/?tenant=<code>[&community=<org id>]: a citizen orders a volunteer service (群众点单). Choose the community
// (GET /v1/volunteer/communities, public), then the order form: category, description, address, the position from
// the phone or typed, the wished time, the contact. A logged-in citizen's order goes to "my orders"
// (POST /v1/volunteer/orders); a guest's answers a tracking code, shown once with a copy button
// (POST /v1/volunteer/guest-orders).
import { get, post } from "/web/common/api.js";
import { h, mount, notice, formValues, busy } from "/web/common/ui.js";
import { header, isCitizen, pageUrl, tenantCode, tenantForm } from "/v/common.js";

const app = document.getElementById("app");
let who = null;

const pad = (n) => String(n).padStart(2, "0");
// a datetime-local value ("2026-05-01T09:00") in the phone's time zone
const localValue = (t) => `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())}T${pad(t.getHours())}:${pad(t.getMinutes())}`;

function setParams(params) {
  const search = new URLSearchParams(location.search);
  for (const [key, value] of Object.entries(params)) {
    if (value) search.set(key, value); else search.delete(key);
  }
  history.replaceState(null, "", `${location.pathname}?${search}`);
}

async function chooseCommunity(tenant, q = "") {
  let communities;
  try {
    communities = (await get("/v1/volunteer/communities", { tenant_code: tenant, q })).communities || [];
  } catch (e) {
    return mount(app, notice("error", "无法加载社区列表", e.message), tenantForm(start, "请确认单位代码是否正确。"));
  }
  const search = h("form", { class: "card", id: "community-search", role: "search" },
    h("label", {}, "查找社区", h("input", { name: "q", value: q, placeholder: "输入社区名称或地址" })),
    h("button", { class: "btn btn-block", type: "submit" }, "查找"));
  search.addEventListener("submit", (event) => {
    event.preventDefault();
    chooseCommunity(tenant, formValues(search).q);
  });
  const cards = communities.map((c) => h("article", { class: "card community", dataset: { id: c.org_id } },
    h("h3", {}, c.name),
    c.address ? h("p", { class: "muted small" }, c.address) : null,
    h("p", { class: "small" }, "可提供：", (c.categories || []).map((cat) => cat.label).join("、") || "—"),
    h("button", { class: "btn btn-primary btn-block", type: "button", onclick: () => {
      setParams({ community: c.org_id });
      orderForm(tenant, c);
    } }, "向该社区点单")));
  mount(app,
    h("p", {}, "选择您所在的社区，提出需要志愿者帮助的事项，社区审核后会安排党员志愿者上门服务。"),
    search,
    h("h2", {}, "开放点单的社区"),
    cards.length ? h("div", { id: "communities" }, cards)
      : h("p", { class: "muted", id: "communities" }, q ? "没有找到符合条件的社区。" : "暂无开放点单的社区。"),
    h("p", { class: "center small" }, h("a", { href: pageUrl("/v/track") }, "已经点过单？凭查询码查询进度")));
}

// fills the form's lat/lng from the phone's position (the form is asked for when clicked: built after the button)
function locateButton(formOf, status) {
  return h("button", { class: "btn btn-block", type: "button", id: "locate", onclick: (event) => {
    if (!window.isSecureContext || !navigator.geolocation) {
      status.textContent = "当前页面无法使用定位，请填写详细地址，或在下方手动填写经纬度。";
      return;
    }
    status.textContent = "正在获取您的位置…";
    busy(event.target, () => new Promise((resolve) => {
      navigator.geolocation.getCurrentPosition((position) => {
        const { latitude, longitude, accuracy } = position.coords;
        formOf().querySelector("[name=lat]").value = latitude.toFixed(6);
        formOf().querySelector("[name=lng]").value = longitude.toFixed(6);
        status.textContent = `已获取当前位置（误差约 ${Math.round(accuracy)} 米）。`;
        resolve();
      }, (error) => {
        status.textContent = error.code === 1
          ? "您没有允许本页使用位置信息：可在浏览器设置中允许后重试，或手动填写经纬度。"
          : "暂时无法获取位置，请到开阔处重试，或手动填写经纬度。";
        resolve();
      }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 0 });
    }));
  } }, "使用我当前的位置");
}

function orderForm(tenant, community) {
  const start = new Date(Date.now() + 60 * 60 * 1000);
  start.setMinutes(0, 0, 0);
  const end = new Date(start.getTime() + 2 * 60 * 60 * 1000);
  const error = h("div", { class: "form-error", role: "alert" });
  const where = h("p", { class: "small muted", id: "position-status", role: "status" }, "服务位置用于志愿者到场签到，请尽量获取准确位置。");
  const categories = community.categories || [];
  const form = h("form", { class: "card", id: "order-form" },
    h("h2", {}, `向「${community.name}」点单`),
    h("label", {}, "服务类别", h("select", { name: "category", required: true },
      h("option", { value: "" }, "请选择"),
      categories.map((cat) => h("option", { value: cat.code }, cat.label)))),
    h("label", {}, "需求描述", h("textarea", { name: "description", required: true, maxlength: 1000, rows: 4,
      placeholder: "请说明需要什么帮助，例如：家中老人行动不便，需要陪同去社区医院复诊" })),
    h("label", {}, "服务地址", h("input", { name: "address", required: true, maxlength: 200, placeholder: "小区、楼栋、单元、门牌号" })),
    locateButton(() => form, where),
    where,
    h("details", { class: "manual-position" }, h("summary", {}, "手动填写经纬度"),
      h("div", { class: "grid grid-2" },
        h("label", {}, "纬度", h("input", { name: "lat", type: "number", step: "any", min: -90, max: 90, inputmode: "decimal" })),
        h("label", {}, "经度", h("input", { name: "lng", type: "number", step: "any", min: -180, max: 180, inputmode: "decimal" })))),
    h("div", { class: "grid grid-2" },
      h("label", {}, "期望开始时间", h("input", { name: "wished_start", type: "datetime-local", required: true, value: localValue(start) })),
      h("label", {}, "期望结束时间", h("input", { name: "wished_end", type: "datetime-local", required: true, value: localValue(end) }))),
    h("label", {}, "联系人", h("input", { name: "contact_name", required: true, maxlength: 40, autocomplete: "name" })),
    h("label", {}, "联系电话", h("input", { name: "contact_phone", required: true, type: "tel", maxlength: 11,
      pattern: "1[0-9]{10}", inputmode: "numeric", autocomplete: "tel", title: "请填写11位手机号码" })),
    h("p", { class: "small muted" }, "联系电话仅向社区和接单的志愿者显示。"),
    isCitizen(who) ? null : h("p", { class: "small muted", id: "guest-note" },
      "您未登录，将以游客身份点单：提交后会得到一个查询码，凭查询码和联系电话后 4 位查询进度。",
      h("a", { href: pageUrl("/v/account", { next: location.pathname + location.search }) }, "登录后点单"), "可在“我的订单”中随时查看。"),
    error,
    h("button", { class: "btn btn-primary btn-block", type: "submit" }, "提交订单"),
    h("p", { class: "center" }, h("button", { class: "link", type: "button", onclick: () => {
      setParams({ community: "" });
      chooseCommunity(tenant);
    } }, "重新选择社区")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const values = formValues(form);
    const body = {
      community_id: community.org_id, category: values.category, description: values.description,
      address: values.address, wished_start: new Date(values.wished_start).toISOString(),
      wished_end: new Date(values.wished_end).toISOString(), contact_name: values.contact_name,
      contact_phone: values.contact_phone,
    };
    if (values.lat !== "" && values.lng !== "") Object.assign(body, { lat: Number(values.lat), lng: Number(values.lng) });
    try {
      await busy(form.querySelector("button[type=submit]"), async () => {
        if (isCitizen(who)) {
          await post("/v1/volunteer/orders", body);
          location.assign(pageUrl("/v/orders", { placed: "1" }));
        } else {
          showTrackingCode(await post("/v1/volunteer/guest-orders", { tenant_code: tenant, ...body }));
        }
      });
    } catch (e) {
      error.textContent = e.message;
    }
  });
  mount(app, form);
}

async function copy(text, input) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch (e) {
    input.select();
    return document.execCommand && document.execCommand("copy");
  }
}

// The tracking code is answered once: shown large, with a copy button and the advice to keep it.
function showTrackingCode(answer) {
  const code = answer.tracking_code;
  const field = h("input", { id: "tracking-code-field", value: code, readonly: true, "aria-label": "查询码" });
  const copied = h("p", { class: "small", id: "copied", role: "status" });
  mount(app,
    h("section", { class: "verdict verdict-ok", id: "placed", role: "status" },
      h("div", { class: "verdict-icon", "aria-hidden": "true" }, "✓"),
      h("strong", { class: "verdict-title" }, "订单已提交"),
      h("p", {}, "您的查询码："),
      h("strong", { class: "verdict-title", id: "tracking-code" }, code)),
    h("div", { class: "card" },
      notice("warn", "请立即保存查询码", "查询码只显示这一次，请截图或复制保存。凭查询码和联系电话后 4 位，可以查询进度、取消订单、确认和评价服务。"),
      field,
      h("div", { class: "actions" },
        h("button", { class: "btn btn-primary", type: "button", id: "copy-code", onclick: async () => {
          copied.textContent = (await copy(code, field)) ? "已复制查询码" : "复制失败，请长按查询码手动复制";
        } }, "复制查询码"),
        h("a", { class: "btn", href: pageUrl("/v/track") }, "查询订单进度")),
      copied),
    h("p", { class: "center small" }, "社区审核后会安排志愿者与您联系。"));
}

async function start(code) {
  const tenant = code || tenantCode();
  who = await header();
  if (!tenant) return mount(app, tenantForm(start));
  const communityId = new URLSearchParams(location.search).get("community");
  if (communityId) {
    try {
      const { communities } = await get("/v1/volunteer/communities", { tenant_code: tenant });
      const community = (communities || []).find((c) => c.org_id === communityId);
      if (community) return orderForm(tenant, community);
    } catch (e) { /* the list below says what went wrong */ }
  }
  return chooseCommunity(tenant);
}

start();
