"""The demo city's volunteer service ordering, through the gateway like any client: two communities open for
orders, a volunteer team with an event, two members reported to a community (双报到), a citizen's account with
orders in several states (waiting for review, rejected, open with a place taken, in service: a member checked in
at its position, to be checked out from the phone and then confirmed by the citizen) and a guest's order with its
tracking code. Run by ``demo_city.seed``.

Each step looks first whether an interrupted run did it (profiles are set again, which changes nothing), so a seed
that failed part-way is completed by the next one. The guest's tracking code is shown once: it is kept beside the
demo passwords as soon as it is known, and listed with the demo logins (username: the code, password: the last 4
digits of the contact phone, role ``guest``)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from servicekit.timestamps import LOCAL_ZONE

# (branch name, address, position): two community branches of 汉台区's 北关街道 (any node may open a profile)
COMMUNITY_STREET = "北关街道党工委"
COMMUNITY_POSITIONS = ((33.0775, 107.0289), (33.0812, 107.0347))
CITIZEN = {"phone": "13991600001", "name": "张秀英"}
GUEST_PHONE = "13991600002"
GUEST_KEY = "volunteer-guest-tracking-code"
TEAM = {"name": "北关街道党员志愿服务队", "description": "社区党员志愿者：助老助残、环境整治、健康义诊。"}
EVENT = {"title": "周末社区环境清洁日", "description": "清理楼道杂物、绿化带垃圾，请自带手套。",
         "capacity": 20, "hours_cap": 3, "fence_radius_m": 300}
# the citizen's orders: (category, description, what becomes of it)
ORDERS = (
    ("skills", "卫生间水龙头漏水，家中只有老人，希望有懂水电的志愿者帮忙修理。", "placed"),
    ("services", "想请志愿者帮忙把旧家具搬到楼下。", "rejected"),
    ("health", "母亲下周复诊，子女在外地，希望有志愿者陪同去医院。", "open"),
    ("services", "独居老人家中缺米缺油，请志愿者帮忙代买一周的生活用品送上门。", "in_service"),
)
REJECT_REASON = "搬运家具不属于志愿服务范围，建议联系物业或搬家公司。"


def seed_volunteer(city, api, tenant_code: str, orgs: list[dict], chosen, member_logins: list[dict]) -> list[dict]:
    """``city``: the logged-in ``demo_city._Api`` of the city admin; ``api``: a factory of new ``_Api`` (each logs
    in as someone); ``orgs``: the city's subtree; ``chosen``: the demo passwords (``demo_city._Passwords``);
    ``member_logins``: the demo members' logins (the first two report to the first community). Returns the
    demo logins it adds: the citizen's and the guest order's."""
    communities = _communities(orgs)
    for (lat, lng), org in zip(COMMUNITY_POSITIONS, communities):
        city.call("PUT", f"/v1/orgs/{org['id']}/volunteer-profile",
                  {"address": f"汉台区{org['name'].removesuffix('党支部')}服务站", "lat": lat, "lng": lng,
                   "open": True, "categories": ["skills", "services", "health"]})
    home, (home_lat, home_lng) = communities[0], COMMUNITY_POSITIONS[0]
    members = []
    for login in member_logins[:2]:
        member = api()
        if not member.logs_in(tenant_code, login["username"], login["password"]):
            continue
        members.append(member)
        report = member.call("GET", "/v1/volunteer/my-community-report")
        if report.get("community_id") != home["id"]:
            member.call("POST", "/v1/volunteer/community-reports", {"community_id": home["id"], "reported_on": ""})
    _team(city, members, home, home_lat, home_lng)
    logins = []
    citizen = _citizen(api(), tenant_code, chosen)
    if citizen is not None:
        logins.append({"tenant": tenant_code, "username": CITIZEN["phone"], "password": chosen[CITIZEN["phone"]],
                       "role": "citizen", "org": f"群众 {CITIZEN['name']}"})
        if not citizen.call("GET", "/v1/volunteer/my-orders?page_size=1")["orders"]:
            _orders(city, citizen, members, home, home_lat, home_lng)
    code = chosen.remembered(GUEST_KEY)
    if code is None:
        start = _stamp(datetime.now(timezone.utc) + timedelta(days=1))
        placed = api().call("POST", "/v1/volunteer/guest-orders", {
            "tenant_code": tenant_code, "community_id": communities[1]["id"], "category": "health",
            "description": "家中老人行动不便，想请志愿者上门帮忙测量血压。", "address": "汉台区北关街道天汉小区3号楼",
            "lat": COMMUNITY_POSITIONS[1][0], "lng": COMMUNITY_POSITIONS[1][1], "wished_start": start,
            "wished_end": _stamp(datetime.now(timezone.utc) + timedelta(days=1, hours=1)), "contact_name": "李先生",
            "contact_phone": GUEST_PHONE})
        code = placed["tracking_code"]
        chosen.remember(GUEST_KEY, code)
    logins.append({"tenant": tenant_code, "username": code, "password": GUEST_PHONE[-4:], "role": "guest",
                   "org": f"游客订单查询码 ({communities[1]['name']}; 密码栏为手机尾号)"})
    return logins


def _communities(orgs: list[dict]) -> list[dict]:
    """The first two community branches (社区党支部) under 汉台区's street committee, by name."""
    street = next(org for org in orgs if org["name"] == COMMUNITY_STREET)
    found = sorted((org for org in orgs if org.get("parent_id") == street["id"] and org["name"].endswith("社区党支部")),
                   key=lambda org: org["name"])
    if len(found) < 2:
        raise RuntimeError(f"{COMMUNITY_STREET} has fewer than two community branches")
    return found[:2]


def _citizen(citizen, tenant_code: str, chosen):
    """The demo citizen logged in (registered first unless an earlier run did), or None when its password was
    lost with an earlier run's state."""
    from deploy.local.demo_city import SeedError

    password = chosen[CITIZEN["phone"]]
    try:
        citizen.call("POST", "/v1/citizens", {"tenant_code": tenant_code, "phone": CITIZEN["phone"],
                                              "password": password, "name": CITIZEN["name"]})
    except SeedError as error:
        if error.code != "PHONE_TAKEN":
            raise
    return citizen if citizen.logs_in(tenant_code, CITIZEN["phone"], password) else None


def _team(city, members: list, home: dict, lat: float, lng: float) -> None:
    teams = city.call("GET", f"/v1/orgs/{home['id']}/volunteer-teams")["teams"]
    team = next((t for t in teams if t["name"] == TEAM["name"]), None) or \
        city.call("POST", "/v1/volunteer/teams", {"org_id": home["id"], **TEAM})
    events = city.call("GET", f"/v1/volunteer/teams/{team['team_id']}/events")["events"]
    event = next((e for e in events if e["title"] == EVENT["title"]), None)
    if event is None:
        today = datetime.now(LOCAL_ZONE).date()
        saturday = today + timedelta(days=(5 - today.weekday()) % 7 or 7)
        starts = datetime.combine(saturday, datetime.min.time(), LOCAL_ZONE).replace(hour=9)
        event = city.call("POST", f"/v1/volunteer/teams/{team['team_id']}/events", {
            **EVENT, "address": f"{home['name'].removesuffix('党支部')}居委会门前", "lat": lat, "lng": lng,
            "starts_at": _stamp(starts), "ends_at": _stamp(starts + timedelta(hours=2, minutes=30))})
    from deploy.local.demo_city import SeedError

    for member in members:
        try:
            member.call("POST", f"/v1/volunteer/teams/{team['team_id']}:join", {})
        except SeedError as error:
            if error.code != "ALREADY_IN_TEAM":
                raise
    if members:
        signups = members[0].call("GET", "/v1/volunteer/events")["events"]
        if not any(e["event_id"] == event["event_id"] and e.get("my_signup") for e in signups):
            members[0].call("POST", f"/v1/volunteer/events/{event['event_id']}:sign-up", {})


def _orders(city, citizen, members: list, home: dict, lat: float, lng: float) -> None:
    """The citizen's orders, each taken as far as ORDERS says; the second reported member checks in at the
    position of the one in service (its hours are what the check-out, done by whoever tries the demo, makes
    them)."""
    now = datetime.now(timezone.utc)
    for category, description, fate in ORDERS:
        soon = fate == "in_service"     # check-in opens an hour before the wished start
        start = now + (timedelta(minutes=30) if soon else timedelta(days=2, hours=2))
        order = citizen.call("POST", "/v1/volunteer/orders", {
            "community_id": home["id"], "category": category, "description": description,
            "address": "汉台区北关街道建国路12号院", "lat": lat, "lng": lng, "wished_start": _stamp(start),
            "wished_end": _stamp(start + timedelta(hours=2)), "contact_name": CITIZEN["name"],
            "contact_phone": CITIZEN["phone"]})
        order_id = order["order_id"]
        if fate == "placed":
            continue
        if fate == "rejected":
            city.call("POST", f"/v1/volunteer/orders/{order_id}:review", {"decision": "reject",
                                                                          "reason": REJECT_REASON})
            continue
        city.call("POST", f"/v1/volunteer/orders/{order_id}:review", {"decision": "approve", "reason": ""})
        city.call("POST", f"/v1/volunteer/orders/{order_id}:dispatch", {
            "mode": "claim", "volunteers_needed": 2 if fate == "open" else 1, "fence_radius_m": 300, "hours_cap": 4})
        volunteer = members[0] if fate == "open" else (members[1:] or members)[0] if members else None
        if volunteer is None:
            continue
        volunteer.call("POST", f"/v1/volunteer/orders/{order_id}:claim", {})
        if fate == "open":
            continue
        volunteer.call("POST", f"/v1/volunteer/orders/{order_id}:check-in",
                       {"lat": lat, "lng": lng, "accuracy_m": 12, "mock_location": False})


def _stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")

