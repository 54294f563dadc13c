// 志愿队伍: the volunteer teams of an organisation (GET /v1/orgs/{org}/volunteer-teams, POST /v1/volunteer/teams),
// one team's members (GET /v1/volunteer/teams/{id}; remove with a reason) and its events (GET .../events; create
// with place, fence, time, capacity and hours cap; close, which credits the hours).
import { boot, call, el, errorText, isDenied, say, showDenied, table, localTime } from "/console/shell.js";
import { keepInAddress, orgChoices } from "/console/volunteer-common.js";

const main = document.getElementById("main");
const filters = document.getElementById("team-filters");
const status = document.getElementById("status");
const list = document.getElementById("teams");
const detail = document.getElementById("team-detail");
const teamForm = document.getElementById("team-form");
const teamPath = (id, tail = "") => `/v1/volunteer/teams/${encodeURIComponent(id)}${tail}`;
const SIGNUPS = { signed_up: "已报名", checked_in: "已签到", checked_out: "已签退", cancelled: "已取消" };

/** Run `request` from `button`; the status line says how it went; `after` redraws. */
async function run(button, request, done, after) {
  button.disabled = true;
  try {
    const answer = await request();
    say(status, done, "ok");
    await after(answer);
  } catch (error) {
    say(status, errorText(error), "error");
  } finally {
    button.disabled = false;
  }
}

async function loadTeams(openTeam = "") {
  const org = filters.org.value;
  keepInAddress({ org, team: openTeam });
  let teams;
  try {
    teams = (await call("GET", `/v1/orgs/${encodeURIComponent(org)}/volunteer-teams`)).teams || [];
  } catch (error) {
    if (isDenied(error)) return showDenied(main, error);
    return say(status, errorText(error), "error");
  }
  list.replaceChildren(el("h2", {}, "队伍列表"), teams.length
    ? table(["队伍", "所属组织", "队员", "简介", ""], teams.map((team) => [
        team.name, team.org_name || "", String(team.member_count ?? ""), team.description || "",
        el("button", { type: "button", class: "link", onclick: () => openDetail(team.team_id) }, "队员与活动"),
      ]), { id: "teams-table" })
    : el("p", { class: "muted", id: "teams-table" }, "该组织还没有志愿队伍。"));
  if (openTeam) await openDetail(openTeam);
}

function membersTable(team) {
  const members = (team.members || []).filter((m) => (m.status || "active") === "active");
  if (!members.length) return el("p", { class: "muted" }, "还没有队员。党员可在手机端“志愿”页加入队伍。");
  return table(["队员", "加入时间", ""], members.map((member) => {
    const reason = el("input", { name: "reason", placeholder: "移出原因", maxlength: 200, "aria-label": `移出${member.name}的原因` });
    const button = el("button", { type: "button", class: "btn btn-small" }, "移出");
    button.addEventListener("click", () => {
      if (!reason.value.trim()) return say(status, "请填写移出原因", "warn");
      run(button, () => call("POST", teamPath(team.team_id, `/members/${encodeURIComponent(member.member_id)}:remove`), { reason: reason.value.trim() }),
        `已将${member.name}移出队伍`, () => openDetail(team.team_id));
    });
    return [member.name, localTime(member.joined_at), el("div", { class: "row" }, reason, button)];
  }), { id: "members-table" });
}

function eventsTable(team, events) {
  if (!events.length) return el("p", { class: "muted" }, "还没有活动。");
  return table(["活动", "时间", "地点", "报名", "报名队员", "状态", ""], events.map((event) => [
    event.title, `${localTime(event.starts_at)} - ${localTime(event.ends_at, false)}`, event.address || "",
    `${event.signed_up}/${event.capacity}`,
    el("span", { class: "small" }, (event.signups || []).filter((one) => one.status !== "cancelled")
      .map((one) => `${one.name}（${SIGNUPS[one.status] || one.status}${one.hours ? ` ${Number(one.hours).toFixed(2)} 小时` : ""}）`).join("、")), event.status_label || (event.status === "closed" ? "已结束" : "报名中"),
    event.status === "closed" ? "" : (() => {
      const button = el("button", { type: "button", class: "btn btn-small", dataset: { event: event.event_id } }, "结束并计入时长");
      button.addEventListener("click", () => run(button, () => call("POST", `/v1/volunteer/events/${encodeURIComponent(event.event_id)}:close`),
        `活动“${event.title}”已结束，签退队员的时长已计入`, () => openDetail(team.team_id)));
      return button;
    })(),
  ]), { id: "events-table" });
}

function eventForm(team) {
  const form = el("form", { class: "card", id: "event-form" }, el("h3", {}, "发布队伍活动"),
    el("div", { class: "form-grid" },
      el("label", {}, "活动名称", el("input", { name: "title", required: true, maxlength: 100 })),
      el("label", {}, "活动地点", el("input", { name: "address", required: true, maxlength: 200 })),
      el("label", {}, "纬度（WGS-84）", el("input", { name: "lat", type: "number", step: "any", required: true })),
      el("label", {}, "经度（WGS-84）", el("input", { name: "lng", type: "number", step: "any", required: true })),
      el("label", {}, "开始时间", el("input", { name: "starts_at", type: "datetime-local", required: true })),
      el("label", {}, "结束时间", el("input", { name: "ends_at", type: "datetime-local", required: true })),
      el("label", {}, "招募人数", el("input", { name: "capacity", type: "number", min: 1, value: 10, required: true })),
      el("label", {}, "签到范围（米）", el("input", { name: "fence_radius_m", type: "number", min: 50, max: 2000, value: 300 })),
      el("label", {}, "每人时长上限（小时）", el("input", { name: "hours_cap", type: "number", min: 0.5, max: 24, step: 0.5, value: 4 })),
      el("label", { class: "wide" }, "活动内容", el("textarea", { name: "description", maxlength: 1000, rows: 2 }))),
    el("div", { class: "actions" }, el("button", { type: "submit", class: "btn btn-primary" }, "发布活动")));
  form.addEventListener("submit", (submit) => {
    submit.preventDefault();
    const values = Object.fromEntries(new FormData(form).entries());
    run(form.querySelector("button"), () => call("POST", teamPath(team.team_id, "/events"), {
      title: values.title.trim(), description: values.description.trim(), address: values.address.trim(),
      lat: Number(values.lat), lng: Number(values.lng), fence_radius_m: Number(values.fence_radius_m),
      starts_at: new Date(values.starts_at).toISOString(), ends_at: new Date(values.ends_at).toISOString(),
      capacity: Number(values.capacity), hours_cap: Number(values.hours_cap),
    }), "活动已发布，队员可在手机端报名", () => openDetail(team.team_id));
  });
  return form;
}

async function openDetail(teamId) {
  keepInAddress({ org: filters.org.value, team: teamId });
  let team, events;
  try {
    [team, events] = await Promise.all([call("GET", teamPath(teamId)),
      call("GET", teamPath(teamId, "/events")).then((r) => r.events || [])]);
    // one event answers its sign-ups to the team's managers (the list does not): a team has a few events at a time
    events = await Promise.all(events.slice(0, 30).map((event) =>
      call("GET", `/v1/volunteer/events/${encodeURIComponent(event.event_id)}`).catch(() => event)));
  } catch (error) {
    if (isDenied(error)) return showDenied(main, error);
    return say(status, errorText(error), "error");
  }
  detail.replaceChildren(
    el("h2", { id: "team-title" }, team.name),
    team.description ? el("p", {}, team.description) : null,
    el("section", { class: "card" }, el("h3", {}, "队员"), membersTable(team)),
    el("section", { class: "card" }, el("h3", {}, "活动"), eventsTable(team, events)),
    eventForm(team));
  detail.hidden = false;
  detail.dataset.id = team.team_id;
}

const { roles } = await boot("volunteer-teams");
const params = new URLSearchParams(location.search);
await orgChoices(filters.org, roles, params.get("org") || "", { communitiesFirst: true });
filters.addEventListener("submit", (event) => {
  event.preventDefault();
  detail.hidden = true;
  loadTeams();
});
teamForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const values = Object.fromEntries(new FormData(teamForm).entries());
  run(teamForm.querySelector("button"), () => call("POST", "/v1/volunteer/teams", {
    org_id: filters.org.value, name: values.name.trim(), description: values.description.trim() }),
  `队伍“${values.name.trim()}”已建立`, (team) => {
    teamForm.reset();
    return loadTeams(team.team_id);
  });
});
loadTeams(params.get("team") || "");
