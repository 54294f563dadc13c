// /m/volunteer-teams: the member's volunteer teams and their events — the teams it may join (GET
// /v1/orgs/{org}/volunteer-teams for its branch and its reported community; POST .../{id}:join / :leave) and the
// events of its teams (GET /v1/volunteer/events) with sign-up, cancel, and check-in/out by the phone's position.
import { get, post } from "/web/common/api.js";
import { h, mount, formatTime, busy } from "/web/common/ui.js";
import { LocationProblem, SIGNUP_LABELS, badge, flashBox, hoursText, locate, member, refusalText } from "/m/volunteer-common.js";

const app = document.getElementById("app");
const teamPath = (id, tail = "") => `/v1/volunteer/teams/${encodeURIComponent(id)}${tail}`;
const eventPath = (id, tail = "") => `/v1/volunteer/events/${encodeURIComponent(id)}${tail}`;

function act(label, request, done, refresh, { primary = false, id } = {}) {
  return h("button", { class: `btn ${primary ? "btn-primary" : ""}`, type: "button", dataset: id ? { action: id } : undefined,
    onclick: async (event) => {
      try {
        const answer = await busy(event.target, request);
        refresh(done(answer));
      } catch (e) {
        refresh("", e instanceof LocationProblem ? e.message : refusalText(e));
      }
    } }, label);
}

function teamCard(team, refresh) {
  const mine = Boolean(team.joined);
  return h("article", { class: "card team", dataset: { id: team.team_id } },
    h("div", { class: "row" }, h("h3", { class: "grow" }, team.name), mine ? badge("已加入", "ok") : null),
    team.description ? h("p", {}, team.description) : null,
    h("p", { class: "muted small" }, [team.org_name, team.member_count !== undefined ? `${team.member_count} 名队员` : ""]
      .filter(Boolean).join(" · ")),
    h("div", { class: "actions" }, mine
      ? act("退出队伍", () => post(teamPath(team.team_id, ":leave")), () => `已退出“${team.name}”。`, refresh, { id: "leave" })
      : act("加入队伍", () => post(teamPath(team.team_id, ":join")), () => `已加入“${team.name}”。`, refresh, { primary: true, id: "join" })));
}

function eventCard(event, refresh) {
  const signup = event.my_signup && event.my_signup.status !== "cancelled" ? event.my_signup : null;
  const closed = event.status === "closed";
  const buttons = [];
  if (!closed && !signup) {
    buttons.push(act("报名", () => post(eventPath(event.event_id, ":sign-up")), () => `已报名“${event.title}”。`, refresh, { primary: true, id: "sign-up" }));
  } else if (!closed && signup.status === "signed_up") {
    buttons.push(act("到达现场，签到", async () => post(eventPath(event.event_id, ":check-in"), await locate()),
      () => "签到成功，活动结束后请签退。", refresh, { primary: true, id: "check-in" }));
    buttons.push(act("取消报名", () => post(eventPath(event.event_id, ":cancel-sign-up")), () => "已取消报名。", refresh, { id: "cancel-sign-up" }));
  } else if (!closed && signup.status === "checked_in") {
    buttons.push(act("活动结束，签退", async () => post(eventPath(event.event_id, ":check-out"), await locate()),
      (answer) => `签退成功，本次 ${hoursText(answer.hours)}（活动结束后计入时长）。`, refresh, { primary: true, id: "check-out" }));
  }
  return h("article", { class: "card event", dataset: { id: event.event_id } },
    h("div", { class: "row" }, h("h3", { class: "grow" }, event.title),
      badge(event.status_label || (closed ? "已结束" : "报名中"), closed ? "" : "info")),
    event.description ? h("p", {}, event.description) : null,
    h("dl", { class: "kv" },
      h("dt", {}, "队伍"), h("dd", {}, event.team_name || ""),
      h("dt", {}, "时间"), h("dd", {}, `${formatTime(event.starts_at)} - ${formatTime(event.ends_at, { date: false })}`),
      h("dt", {}, "地点"), h("dd", {}, event.address || ""),
      h("dt", {}, "名额"), h("dd", {}, `共 ${event.capacity} 人，还剩 ${event.places_left} 个`)),
    signup ? h("p", { class: "my-signup" }, "我的报名：", badge(SIGNUP_LABELS[signup.status] || signup.status, "ok"),
      signup.hours ? ` ${hoursText(signup.hours)}` : "") : null,
    buttons.length ? h("div", { class: "actions" }, buttons) : null);
}

async function teamsOf(current) {
  const orgs = [current.member.branch_id];
  const report = await get("/v1/volunteer/my-community-report").catch(() => null);
  if (report && report.community_id) orgs.push(report.community_id);
  const lists = await Promise.all(orgs.map((org) =>
    get(`/v1/orgs/${encodeURIComponent(org)}/volunteer-teams`).then((r) => r.teams || []).catch(() => [])));
  const seen = new Map();
  for (const team of lists.flat()) if (!seen.has(team.team_id)) seen.set(team.team_id, team);
  return [...seen.values()];
}

async function render(message = "", failure = "") {
  const current = await member(render);
  if (!current) return;
  const refresh = (ok, failed) => render(ok, failed);
  const [teams, events] = await Promise.all([
    teamsOf(current),
    get("/v1/volunteer/events").then((r) => r.events || []).catch(() => []),
  ]);
  const joined = teams.filter((t) => t.joined);
  const others = teams.filter((t) => !joined.includes(t));
  mount(app,
    flashBox(message, failure),
    h("h2", {}, "队伍活动"),
    events.length ? h("div", { id: "events" }, events.map((event) => eventCard(event, refresh)))
      : h("p", { class: "muted", id: "events" }, "您所在的队伍暂无活动。"),
    h("h2", {}, "我的队伍"),
    joined.length ? h("div", { id: "my-teams" }, joined.map((team) => teamCard(team, refresh)))
      : h("p", { class: "muted", id: "my-teams" }, "您还没有加入志愿队伍。"),
    others.length ? [h("h2", {}, "可以加入的队伍"), h("div", { id: "other-teams" }, others.map((team) => teamCard(team, refresh)))] : null,
    h("p", { class: "center" }, h("a", { href: "/m/volunteer" }, "返回志愿服务")));
}

render();
