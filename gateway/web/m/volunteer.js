// /m/volunteer (志愿 tab): the member's volunteer service on the phone — my hours (GET /v1/volunteer/my-hours),
// 双报到 to the residential community (GET /v1/volunteer/my-community-report, POST /v1/volunteer/community-reports,
// the open communities from GET /v1/volunteer/communities), the orders it may claim with the places left
// (GET /v1/volunteer/claimable-orders, POST .../{id}:claim) and its claims (GET /v1/volunteer/my-claims), each
// opening /m/volunteer-order for check-in, check-out and the completion report.
import { get, post } from "/web/common/api.js";
import { h, mount, notice, formatTime, formValues, busy } from "/web/common/ui.js";
import { CLAIM_KINDS, CLAIM_LABELS, badge, flashBox, hoursText, member, rememberTenant, tenantCode } from "/m/volunteer-common.js";

const app = document.getElementById("app");

const today = () => {
  const t = new Date();
  return `${t.getFullYear()}-${String(t.getMonth() + 1).padStart(2, "0")}-${String(t.getDate()).padStart(2, "0")}`;
};
const orderLink = (id, text) => h("a", { href: `/m/volunteer-order?id=${encodeURIComponent(id)}` }, text);
const whenText = (order) => (order.wished_start
  ? `${formatTime(order.wished_start)} - ${formatTime(order.wished_end, { date: false })}` : "");

function hoursCard(hours) {
  const entries = (hours && hours.entries) || [];
  return h("section", { class: "card", id: "my-hours" },
    h("div", { class: "stats" },
      h("div", { class: "stat" }, h("b", { id: "hours-total" }, Number((hours && hours.total_hours) || 0).toFixed(2)), "志愿服务时长（小时）"),
      h("div", { class: "stat" }, h("b", { id: "hours-count" }, String(entries.length)), "服务记录")),
    entries.length
      ? h("details", {}, h("summary", {}, "时长明细"),
          h("ul", { class: "list", id: "hours-entries" }, entries.map((entry) => h("li", { class: "row" },
            h("span", { class: "grow" }, entry.title || (entry.source_kind === "event" ? "队伍活动" : "志愿订单"),
              h("div", { class: "muted small" }, formatTime(entry.credited_at))),
            h("b", {}, hoursText(entry.hours))))))
      : h("p", { class: "muted small" }, "服务完成并经群众确认后，时长会记入这里，并按规则折算党员积分。"),
    h("p", { class: "small" }, h("a", { href: "/m/volunteer-teams", id: "teams-link" }, "我的志愿队伍与活动 ›")));
}

async function communityChoices(tenant) {
  if (!tenant) return null;
  try {
    return (await get("/v1/volunteer/communities", { tenant_code: tenant })).communities || [];
  } catch (e) {
    return null;
  }
}

async function reportCard(report, refresh) {
  const current = report && report.community_id ? report : null;
  const tenant = tenantCode();
  const communities = await communityChoices(tenant);
  const error = h("div", { class: "form-error", role: "alert" });
  const chooser = communities && communities.length
    ? h("label", {}, "居住地社区", h("select", { name: "community_id", required: true },
        h("option", { value: "" }, "请选择"),
        communities.map((c) => h("option", { value: c.org_id, selected: current && current.community_id === c.org_id }, c.name))))
    : h("div", {},
        h("label", {}, "单位代码", h("input", { name: "tenant_code", required: true, value: tenant, autocapitalize: "off" })),
        h("p", { class: "small muted" }, communities ? "本单位暂无开放的社区。" : "填写单位代码后可以选择社区。"));
  const form = h("form", { id: "report-form" },
    chooser,
    h("label", {}, "报到日期", h("input", { name: "reported_on", type: "date", required: true, value: today() })),
    error,
    h("button", { class: "btn btn-primary btn-block", type: "submit" }, communities && communities.length
      ? (current ? "改为向该社区报到" : "向社区报到") : "查找社区"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const values = formValues(form);
    if (values.tenant_code !== undefined) {
      rememberTenant(values.tenant_code);
      return refresh();
    }
    try {
      await busy(form.querySelector("button[type=submit]"), () =>
        post("/v1/volunteer/community-reports", { community_id: values.community_id, reported_on: values.reported_on }));
      refresh("报到成功，您可以认领该社区的群众订单了。");
    } catch (e) { error.textContent = e.message; }
  });
  return h("section", { class: "card", id: "community-report" },
    h("h2", {}, "双报到"),
    current
      ? h("p", { id: "current-report" }, "已向 ", h("b", {}, current.community_name || current.community_id), " 报到",
          current.reported_on ? `（${current.reported_on}）` : "", "。")
      : notice("warn", "", "您还没有向居住地社区报到。报到后可以认领社区群众的服务订单。"),
    current ? h("details", {}, h("summary", {}, "搬家了？改为向新社区报到"), form) : form);
}

function claimableCard(order, refresh) {
  return h("article", { class: "card claimable", dataset: { id: order.order_id } },
    h("div", { class: "row" }, h("h3", { class: "grow" }, order.category_label || order.category),
      badge(`还剩 ${order.places_left} 个名额`, order.places_left > 0 ? "info" : "err")),
    h("p", {}, order.description),
    h("dl", { class: "kv" },
      h("dt", {}, "社区"), h("dd", {}, order.community_name || ""),
      h("dt", {}, "地点"), h("dd", {}, order.address || ""),
      h("dt", {}, "时间"), h("dd", {}, whenText(order)),
      order.team_name ? [h("dt", {}, "队伍"), h("dd", {}, order.team_name)] : null,
      h("dt", {}, "名额"), h("dd", {}, `需要 ${order.volunteers_needed} 人，已接 ${order.claimed} 人`)),
    h("div", { class: "actions" },
      h("button", { class: "btn btn-primary claim", type: "button", onclick: async (event) => {
        try {
          await busy(event.target, () => post(`/v1/volunteer/orders/${encodeURIComponent(order.order_id)}:claim`));
          refresh("认领成功！请按时到达服务地点签到。");
        } catch (e) {
          refresh("", e.message);
        }
      } }, "认领"),
      orderLink(order.order_id, "查看详情")));
}

function claimRow(claim) {
  const order = claim.order || {};
  return h("li", { class: "my-claim", dataset: { id: claim.order_id, status: claim.status } },
    h("div", { class: "row" },
      h("span", { class: "grow" }, orderLink(claim.order_id, order.category_label || order.description || "志愿订单")),
      badge(CLAIM_LABELS[claim.status] || claim.status, CLAIM_KINDS[claim.status])),
    h("p", { class: "muted small" }, [order.address, whenText(order)].filter(Boolean).join(" · "),
      claim.hours ? ` · ${hoursText(claim.hours)}` : ""));
}

async function render(message = "", failure = "") {
  const current = await member(render);
  if (!current) return;
  const refresh = (ok, failed) => render(ok, failed);
  const [hours, report, claimable, claims] = await Promise.all([
    get("/v1/volunteer/my-hours", { page_size: 50 }).catch(() => null),
    get("/v1/volunteer/my-community-report").catch(() => null),
    get("/v1/volunteer/claimable-orders", { page_size: 50 }).then((r) => r.orders || []).catch((e) => e),
    get("/v1/volunteer/my-claims", { page_size: 50 }).then((r) => r.claims || []).catch(() => []),
  ]);
  const active = claims.filter((c) => c.status === "claimed" || c.status === "checked_in");
  const past = claims.filter((c) => !active.includes(c));
  mount(app,
    flashBox(message, failure),
    hoursCard(hours),
    h("h2", {}, "我的接单"),
    active.length ? h("ul", { class: "list card", id: "my-claims" }, active.map(claimRow))
      : h("p", { class: "muted", id: "my-claims" }, "目前没有进行中的接单。"),
    h("h2", {}, "可认领的订单"),
    claimable instanceof Error ? notice("error", "可认领订单加载失败", claimable.message)
      : claimable.length ? h("div", { id: "claimable" }, claimable.map((order) => claimableCard(order, refresh)))
        : h("p", { class: "muted", id: "claimable" }, "暂时没有可认领的订单。向居住地社区报到或加入志愿队伍后，社区派出的订单会显示在这里。"),
    await reportCard(report, refresh),
    past.length ? h("details", { class: "card", id: "past-claims" }, h("summary", {}, `以往接单（${past.length}）`),
      h("ul", { class: "list" }, past.map(claimRow))) : null);
}

render();
