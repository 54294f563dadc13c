// /v/track: a guest looks an order up by its tracking code and the contact phone's last four digits
// (GET /v1/volunteer/tracked-orders/{code}, public) and acts on that one order: cancel before dispatch, confirm and
// rate or dispute once completed. The code stays in this page's memory only (never in the address).
import { h, mount, notice, formValues, busy } from "/web/common/ui.js";
import { header, orderCard, rememberTenant, tenantCode, trackedActions } from "/v/common.js";

const app = document.getElementById("app");

function lookupForm(tenant, failure = "") {
  const error = h("div", { class: "form-error", role: "alert" }, failure);
  const form = h("form", { class: "card", id: "track-form" },
    h("h2", {}, "查询订单进度"),
    h("p", { class: "muted small" }, "请输入点单成功时显示的查询码，以及点单时所留联系电话的后 4 位。"),
    tenant ? h("input", { type: "hidden", name: "tenant_code", value: tenant })
      : h("label", {}, "单位代码", h("input", { name: "tenant_code", required: true, autocapitalize: "off" })),
    h("label", {}, "查询码", h("input", { name: "tracking_code", required: true, maxlength: 10, autocapitalize: "characters",
      autocomplete: "off", spellcheck: "false" })),
    h("label", {}, "联系电话后 4 位", h("input", { name: "phone_last4", required: true, maxlength: 4, pattern: "[0-9]{4}",
      inputmode: "numeric", autocomplete: "off", title: "请填写4位数字" })),
    error,
    h("button", { class: "btn btn-primary btn-block", type: "submit" }, "查询"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const values = formValues(form);
    rememberTenant(values.tenant_code);
    const actions = trackedActions(values.tenant_code, values.tracking_code, values.phone_last4);
    try {
      const order = await busy(form.querySelector("button[type=submit]"), actions.load);
      show(order, actions);
    } catch (e) {
      error.textContent = e.message;
    }
  });
  return form;
}

function show(order, actions, message = "") {
  const refresh = (changed, text) => show(changed, actions, text);
  mount(app,
    h("div", { id: "flash" }, message ? notice("ok", message) : null),
    orderCard(order, actions, refresh),
    h("p", { class: "center" }, h("button", { class: "link", type: "button", id: "track-another",
      onclick: () => mount(app, lookupForm(tenantCode())) }, "查询其他订单")));
}

header().then(() => mount(app, lookupForm(tenantCode())));
