"""A demo city, 汉中市: an organisation tree and members as import files, and a seeder that loads
them through the gateway's HTTP API the way an operator and a city admin would (resumable: see ``seed``).

`generate_demo_city(seed)` is deterministic for a seed (and a reference day): 4 counties/districts,
16 committees, about 100 branches (some under general branches), about 3,000 members.
"""
from __future__ import annotations

import csv
import io
import json
import os
import random
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Callable

from deploy.local import demo_content, demo_life, demo_volunteer
from servicekit.security.keys import new_password
from services.identity.domain.lifecycle import add_years

TENANT_CODE = "hanzhong"
CITY_NAME = "汉中市"

# county name, region code, account name, committees: (name, category, kind of branches)
COUNTIES = (
    ("汉台区", "610702", "hantai", (("北关街道党工委", "street", "community"), ("铺镇党委", "township", "rural"),
                                   ("陕西理工大学党委", "college", "college"),
                                   ("汉台区非公企业党委", "enterprise", "enterprise"))),
    ("南郑区", "610703", "nanzheng", (("汉山街道党工委", "street", "community"), ("大河坎镇党委", "township", "rural"),
                                     ("协税镇党委", "township", "rural"), ("南郑区社会组织党委", "other", "social"))),
    ("城固县", "610722", "chenggu", (("博望街道党工委", "street", "community"), ("上元观镇党委", "township", "rural"),
                                    ("城固县职业教育中心党委", "college", "college"),
                                    ("城固县工业园区企业党委", "enterprise", "enterprise"))),
    ("勉县", "610725", "mianxian", (("勉阳街道党工委", "street", "community"), ("武侯镇党委", "township", "rural"),
                                   ("定军山镇党委", "township", "rural"), ("勉县工业园区企业党委", "enterprise", "enterprise"))),
)
OTHER_REGION_CODES = ("610702", "610703", "610722", "610723", "610724", "610725", "610726", "610727", "610728")

VILLAGES = ("黄家", "王家营", "杨家营", "柳树", "青龙", "白庙", "红庙", "五郎", "沙河", "龙泉", "石门", "新集",
            "周家坪", "汉王", "天台", "金华", "胡家营", "马家嘴", "梁山", "赵家", "高台", "双河", "茶店", "老君")
COMMUNITIES = ("建国路", "人民路", "汉江路", "东关", "西关", "南关", "文化", "龙江", "桥北", "滨江", "天汉",
               "联合", "兴汉", "望江", "凤凰", "莲湖", "朝阳", "和平", "北团结", "东塔")
COMPANIES = ("汉江机电", "秦巴药业", "天汉物流", "褒河建材", "兴元食品", "汉水电子", "定军茶业", "龙岗纺织")
ASSOCIATIONS = ("个体劳动者协会", "律师协会", "物流行业协会", "养老服务中心", "青年志愿者协会", "茶产业协会")
COLLEGE_UNITS = {"陕西理工大学党委": ("机械工程学院", "经济与法学学院", "化学与环境科学学院"),
                 "城固县职业教育中心党委": ("现代农业系", "机电技术系")}

SURNAMES = ("王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁"
            "魏薛叶余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹易常武乔贺龚文")
MALE_CHARS = "伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林建国志峰海文博晨阳新亮成"
FEMALE_CHARS = "芳娜敏静丽艳娟霞秀玲桂英华梅琳雪倩婷颖慧莉萍红燕琴云洁蓉晶月嘉欣怡悦佳丹妍"
EDUCATION_BY_KIND = {
    "rural": (("初中及以下", 35), ("高中", 30), ("中专", 15), ("大专", 15), ("本科", 5)),
    "community": (("初中及以下", 10), ("高中", 25), ("中专", 15), ("大专", 25), ("本科", 22), ("硕士", 3)),
    "enterprise": (("高中", 15), ("中专", 20), ("大专", 35), ("本科", 27), ("硕士", 3)),
    "government": (("大专", 10), ("本科", 70), ("硕士", 18), ("博士", 2)),
    "social": (("高中", 20), ("大专", 35), ("本科", 40), ("硕士", 5)),
    "teacher": (("本科", 15), ("硕士", 50), ("博士", 35)),
    "student": (("高中", 70), ("本科", 30)),
}
STATUS_WEIGHTS = {
    "default": (("full", 86), ("probationary", 5), ("development_target", 3), ("activist", 3), ("applicant", 3)),
    "student": (("full", 20), ("probationary", 25), ("development_target", 15), ("activist", 25), ("applicant", 15)),
}
MIN_AGE = {"applicant": 19, "activist": 20, "development_target": 21, "probationary": 22, "full": 23}
MOBILE_SHARE = {"rural": 0.38, "community": 0.22, "enterprise": 0.15, "social": 0.2, "government": 0.03,
                "teacher": 0.05, "student": 0.05}
ORG_COLUMNS = ("ref", "parent_ref", "name", "kind", "category", "field")
MEMBER_COLUMNS = ("branch_ref", "name", "gender", "birth_date", "id_number", "phone", "education", "status",
                  "applied_on", "activist_on", "development_target_on", "probationary_on", "full_on",
                  "enrolment", "mobile")


@dataclass
class Branch:
    path: str          # names below the city, joined by "/"
    kind: str          # member profile: rural, community, enterprise, government, social, teacher, student
    ages: tuple[int, int]
    size: tuple[int, int]
    enrolment: str = "none"


@dataclass
class Tree:
    rows: list[dict] = field(default_factory=list)
    branches: list[Branch] = field(default_factory=list)

    def add(self, ref, parent_ref, name, kind, category="", org_field="") -> str:
        self.rows.append({"ref": ref, "parent_ref": parent_ref, "name": name, "kind": kind,
                          "category": category, "field": org_field})
        return ref


def generate_demo_city(seed: int = 2026, today: date | None = None) -> tuple[bytes, bytes]:
    """(orgs_csv, members_csv) in the import formats of docs/identity-rpc.md, UTF-8."""
    rng = random.Random(seed)
    today = today or date.today()
    tree = _build_tree(rng)
    people = _People(rng, today)
    members = [people.member(branch, region) for branch, region in _member_slots(rng, tree)]
    return _csv(ORG_COLUMNS, tree.rows), _csv(MEMBER_COLUMNS, members)


def _build_tree(rng: random.Random) -> Tree:
    tree = Tree()
    for county_index, (county, region, _, committees) in enumerate(COUNTIES, start=1):
        county_ref = tree.add(f"X{county_index}", "", f"{county}委", "county", org_field="government")
        for unit in (f"{county}委办公室", f"{county}教育局"):
            tree.add(f"{county_ref}-B{len(tree.rows)}", county_ref, f"{unit}党支部", "branch", org_field="government")
            tree.branches.append(Branch(f"{county}委/{unit}党支部", "government", (25, 58), (15, 36)))
        for committee_index, (committee, category, profile) in enumerate(committees, start=1):
            ref = tree.add(f"{county_ref}-K{committee_index}", county_ref, committee, "committee", category)
            _add_committee_branches(rng, tree, ref, f"{county}委/{committee}", committee, profile)
    return tree


def _add_committee_branches(rng, tree: Tree, ref: str, path: str, committee: str, profile: str) -> None:
    def branch(name, kind, ages, size, org_field, parent=ref, parent_path=path, enrolment="none"):
        tree.add(f"{parent}-B{len(tree.rows)}", parent, name, "branch", org_field=org_field)
        tree.branches.append(Branch(f"{parent_path}/{name}", kind, ages, size, enrolment))

    def general_branch(name, org_field):
        general_ref = tree.add(f"{ref}-G{len(tree.rows)}", ref, name, "general_branch", org_field=org_field)
        return general_ref, f"{path}/{name}"

    if profile in ("rural", "community"):
        places, suffix = (VILLAGES, "村") if profile == "rural" else (COMMUNITIES, "社区")
        for place in rng.sample(places, rng.randint(4, 6)):
            branch(f"{place}{suffix}党支部", profile, (26, 84) if profile == "rural" else (24, 80),
                   (22, 56), profile)
        branch(f"{committee.removesuffix('党委').removesuffix('党工委')}机关党支部", "government", (24, 58), (12, 30),
               "government")
    elif profile == "college":
        for unit in COLLEGE_UNITS[committee]:
            parent, parent_path = general_branch(f"{unit}党总支", "school")
            branch("教工党支部", "teacher", (27, 60), (15, 36), "school", parent, parent_path)
            branch("学生第一党支部", "student", (19, 23), (30, 65), "school", parent, parent_path, "enrolled")
            if rng.random() < 0.6:
                branch("毕业生党支部", "student", (22, 25), (12, 30), "school", parent, parent_path, "graduated")
    elif profile == "enterprise":
        companies = rng.sample(COMPANIES, 4)
        parent, parent_path = general_branch(f"{companies[0]}集团党总支", "enterprise")
        for unit in ("机关党支部", "第一车间党支部", "第二车间党支部"):
            branch(unit, "enterprise", (23, 58), (15, 44), "enterprise", parent, parent_path)
        for company in companies[1:]:
            branch(f"{company}有限公司党支部", "enterprise", (23, 58), (10, 36), "enterprise")
    else:
        for association in rng.sample(ASSOCIATIONS, 5):
            branch(f"{association}党支部", "social", (25, 66), (8, 20), "social")


def _member_slots(rng: random.Random, tree: Tree):
    region_of_county = {county: region for county, region, _, _ in COUNTIES}
    for branch in tree.branches:
        home = region_of_county[branch.path.split("/")[0].removesuffix("委")]
        for _ in range(rng.randint(*branch.size)):
            yield branch, home if rng.random() < 0.8 else rng.choice(OTHER_REGION_CODES)


class _People:
    def __init__(self, rng: random.Random, today: date):
        self.rng, self.today = rng, today
        self.id_numbers: set[str] = set()
        self.phones: set[str] = set()

    def member(self, branch: Branch, region: str) -> dict:
        from services.identity.domain.idcard import make_id_number

        rng = self.rng
        status = _weighted(rng, STATUS_WEIGHTS["student" if branch.kind == "student" else "default"])
        if branch.enrolment == "graduated" and status in ("applicant", "activist"):
            status = "probationary"
        birth = _birth(rng.randint, status, branch.ages, self.today)
        gender = "male" if rng.random() < (0.62 if branch.kind in ("rural", "enterprise") else 0.5) else "female"
        while True:
            id_number = make_id_number(region, birth, rng.randint(0, 499), gender)
            if id_number not in self.id_numbers:
                self.id_numbers.add(id_number)
                break
        steps = _steps(rng.randint, status, birth, self.today)
        return {"branch_ref": branch.path, "name": self.name(gender), "gender": gender,
                "birth_date": birth.isoformat(), "id_number": id_number, "phone": self.phone(),
                "education": _weighted(rng, EDUCATION_BY_KIND[branch.kind]), "status": status,
                **{column: day.isoformat() if day else "" for column, day in steps.items()},
                "enrolment": branch.enrolment, "mobile": "true" if rng.random() < MOBILE_SHARE[branch.kind] else "false"}

    def name(self, gender: str) -> str:
        chars = MALE_CHARS if gender == "male" else FEMALE_CHARS
        given = "".join(self.rng.choice(chars) for _ in range(1 if self.rng.random() < 0.3 else 2))
        return self.rng.choice(SURNAMES) + given

    def phone(self) -> str:
        while True:
            phone = f"1{self.rng.choice('3456789')}{self.rng.randint(0, 999_999_999):09d}"
            if phone not in self.phones:
                self.phones.add(phone)
                return phone


def _birth(pick: Callable[[int, int], int], status: str, ages: tuple[int, int], today: date) -> date:
    """A birth date for a member of this status in a branch of these ages; ``pick(low, high)`` makes every
    random choice here and in ``_steps`` (``rng.randint`` in the city, each end of the range in the tests)."""
    low, high = ages
    age = pick(max(low, MIN_AGE[status]), max(high, MIN_AGE[status]))
    return today - timedelta(days=age * 365 + pick(30, 330))


def _steps(pick: Callable[[int, int], int], status: str, birth: date, today: date) -> dict[str, date | None]:
    """Dates of each step reached, walking back from the latest: activist ≥ 1 year before development
    target, probation exactly 1 year or a little more, applications at 18 or older (MIN_AGE keeps it so).
    Years are counted with the importer's own ``add_years``, so what is made here is what it accepts."""
    days = lambda low, high: timedelta(days=pick(low, high))  # noqa: E731
    on = dict.fromkeys(("full_on", "probationary_on", "development_target_on", "activist_on", "applied_on"))
    if status == "applicant":
        on["applied_on"] = today - days(10, 300)
        return on
    if status == "activist":
        on["activist_on"] = today - days(10, 330)
    else:
        if status == "full":
            probationary = add_years(birth, pick(21, max(21, _age(birth, today) - 2))) + days(0, 300)
            probationary = min(probationary, add_years(today, -1) - days(1, 90))
            on["probationary_on"] = probationary
            on["full_on"] = min(today, add_years(probationary, 1) + days(0, 45))
        elif status == "probationary":
            on["probationary_on"] = today - days(10, 350)
        if status == "development_target":
            on["development_target_on"] = today - days(10, 200)
        else:
            on["development_target_on"] = on["probationary_on"] - days(60, 300)
        on["activist_on"] = add_years(on["development_target_on"], -1) - days(1, 200)
    on["applied_on"] = on["activist_on"] - days(30, 200)
    return on


def _age(birth: date, today: date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def _weighted(rng: random.Random, choices) -> str:
    values, weights = zip(*choices)
    return rng.choices(values, weights)[0]


def _csv(columns: tuple[str, ...], rows: list[dict]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


class SeedError(RuntimeError):
    def __init__(self, message: str, status: int = 0, code: str = ""):
        super().__init__(message)
        self.status, self.code = status, code


class _Api:
    def __init__(self, base: str):
        self.base, self.token, self.refresh_token = base.rstrip("/"), "", ""

    def call(self, method: str, path: str, body=None, content_type="application/json", timeout=60) -> dict:
        """One request; an access token that expired while seeding (they are short) is refreshed and the request
        sent once more."""
        try:
            return self._send(method, path, body, content_type, timeout)
        except SeedError as error:
            if error.code != "TOKEN_EXPIRED" or not self.refresh_token:
                raise
            self.token = ""
            tokens = self._send("POST", "/v1/auth/refresh", {"refresh_token": self.refresh_token}, "application/json",
                                timeout)
            self.token, self.refresh_token = tokens["access_token"], tokens["refresh_token"]
            return self._send(method, path, body, content_type, timeout)

    def _send(self, method: str, path: str, body, content_type: str, timeout: float) -> dict:
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        headers = {"Content-Type": content_type, "Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            body = error.read()
            try:
                code = json.loads(body)["error"]["code"]
            except (ValueError, KeyError, TypeError):
                code = ""
            raise SeedError(f"{method} {path} → HTTP {error.code}: {body[:800].decode(errors='replace')}",
                            error.code, code) from None
        except urllib.error.URLError as error:
            raise SeedError(f"{method} {path}: {error.reason}") from None

    def login(self, tenant_code: str, username: str, password: str) -> None:
        self.token, self.refresh_token = "", ""
        tokens = self.call("POST", "/v1/auth/login", {"tenant_code": tenant_code, "username": username,
                                                      "password": password})
        self.token, self.refresh_token = tokens["access_token"], tokens["refresh_token"]

    def logs_in(self, tenant_code: str, username: str, password: str) -> bool:
        try:
            self.login(tenant_code, username, password)
            return True
        except SeedError as error:
            if error.code != "LOGIN_FAILED":
                raise
            return False

    def pages(self, path: str, key: str):
        token = ""
        while True:
            page = self.call("GET", f"{path}{'&' if '?' in path else '?'}page_size=500&page_token={token}")
            yield from page[key]
            token = page.get("next_page_token", "")
            if not token:
                return


class _Passwords:
    """The demo accounts' passwords, each chosen before its account is created and kept in ``path`` (0600) as
    soon as chosen: a run interrupted at any point leaves what a later run needs to log in and go on."""

    def __init__(self, path: Path | None, tenant_code: str):
        self.path, self.tenant_code, self.chosen = path, tenant_code, {}
        if path is not None and path.exists():
            try:
                kept = json.loads(path.read_text(encoding="utf-8"))
            except ValueError:
                kept = {}
            if kept.get("tenant") == tenant_code:
                self.chosen = dict(kept.get("passwords", {}))

    def __getitem__(self, username: str) -> str:
        if username not in self.chosen:
            self.chosen[username] = new_password()
            self._keep()
        return self.chosen[username]

    def remembered(self, key: str) -> str | None:
        return self.chosen.get(key)

    def remember(self, key: str, value: str) -> None:
        """Keep a value shown only once (a guest order's tracking code) beside the passwords."""
        self.chosen[key] = value
        self._keep()

    def _keep(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(self.path.name + ".partial")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            json.dump({"tenant": self.tenant_code, "passwords": self.chosen}, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, self.path)


def seed(gateway_http: str = "http://127.0.0.1:8080", operator_password: str | None = None,
         seed: int = 2026, state_path: Path | None = None, tenant_code: str = TENANT_CODE) -> list[dict]:
    """Create the tenant, import the demo city, create demo accounts; return their logins.

    Resumable: each step first looks whether an interrupted run did it already (the imports are all or
    nothing), and the passwords are kept in ``state_path`` before use, so running it again after a failure
    completes the seed. A tenant admin whose password was lost (no state kept) gets a new one from the
    operator (``ResetTenantAdminPassword``)."""
    operator = _Api(gateway_http)
    deadline = time.monotonic() + 60
    while True:  # a service's metrics answer a little before its RPC queue exists
        try:
            operator.login("", "operator", operator_password or os.environ["OPERATOR_PASSWORD"])
            break
        except SeedError as error:
            if error.status != 503 or time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    chosen = _Passwords(state_path, tenant_code)
    admin_name = f"{tenant_code}_admin"
    api, root = _Api(gateway_http), _tenant(operator, tenant_code, admin_name, chosen[admin_name])
    api.login(tenant_code, admin_name, chosen[admin_name])
    root = root or next(org for org in api.call("GET", "/v1/me")["orgs"] if org["kind"] == "city")

    orgs_csv, members_csv = generate_demo_city(seed)
    top = api.call("GET", f"/v1/orgs/{root['id']}/subtree?max_depth=1&page_size=50")["orgs"]
    if not any(org["kind"] == "county" for org in top):
        api.call("POST", f"/v1/orgs/{root['id']}/org-imports", orgs_csv, content_type="text/csv", timeout=600)
    if not api.call("GET", f"/v1/orgs/{root['id']}/members?page_size=1")["members"]:
        api.call("POST", f"/v1/orgs/{root['id']}/member-imports", members_csv, content_type="text/csv",
                 timeout=600)

    orgs = list(api.pages(f"/v1/orgs/{root['id']}/subtree", "orgs"))
    logins = [{"tenant": tenant_code, "username": admin_name, "password": chosen[admin_name], "role": "org_admin",
               "org": root["name"]}]
    for county, _, account_name, _ in COUNTIES:
        org = next(org for org in orgs if org["kind"] == "county" and org["name"] == f"{county}委")
        logins.append(_account(api, tenant_code, f"{account_name}_admin", chosen, "org_admin", org))
    branches = [org for org in orgs if org["kind"] == "branch"]
    demo_branches = []
    for number, branch in enumerate(random.Random(seed).sample(branches, 4), start=1):
        members = api.call("GET", f"/v1/orgs/{branch['id']}/members?page_size=20")["members"]
        # a branch secretary is a full party member (正式党员); the demo member is whoever comes last
        secretary = next((m for m in members if m["status"] == "full"), members[0])
        member = next(m for m in reversed(members) if m["id"] != secretary["id"])
        demo_branches.append({"number": number, "branch": branch, "secretary": secretary, "member": member})
        logins.append(_account(api, tenant_code, f"secretary{number}", chosen, "branch_secretary", branch,
                               secretary["id"], secretary["name"]))
        logins.append(_account(api, tenant_code, f"member{number}", chosen, "member", branch, member["id"],
                               member["name"]))
    county_org = next(org for org in orgs if org["kind"] == "county" and org["name"] == f"{COUNTIES[0][0]}委")
    county = _Api(gateway_http)
    county.login(tenant_code, f"{COUNTIES[0][2]}_admin", chosen[f"{COUNTIES[0][2]}_admin"])
    demo_content.seed_content(api, county, root, county_org)
    demo_life.seed_life(api, lambda: _Api(gateway_http), tenant_code, chosen, demo_branches, seed)
    members = [login for login in logins if login and login["role"] == "member"]
    logins += demo_volunteer.seed_volunteer(api, lambda: _Api(gateway_http), tenant_code, orgs, chosen, members)
    return [login for login in logins if login]


def _tenant(operator: _Api, tenant_code: str, admin_name: str, password: str) -> dict | None:
    """Create the tenant (answering its root organisation) or, made by an earlier run, make sure its admin
    has ``password`` (answering None)."""
    try:
        return operator.call("POST", "/v1/tenants", {"code": tenant_code, "name": CITY_NAME,
                                                      "admin_username": admin_name,
                                                      "admin_password": password})["root_org"]
    except SeedError as error:
        if error.code != "TENANT_EXISTS":
            raise
    if not _Api(operator.base).logs_in(tenant_code, admin_name, password):
        operator.call("POST", f"/v1/tenants/{tenant_code}/admin:reset-password",
                      {"username": admin_name, "password": password})
    return None


def _account(api: _Api, tenant_code: str, username: str, chosen: _Passwords, role: str, org: dict,
             member_id: str = "", person: str = "") -> dict | None:
    password = chosen[username]
    place = "/".join(org.get("path_names") or [org["name"]])
    login = {"tenant": tenant_code, "username": username, "password": password, "role": role,
             "org": f"{place} {person}".strip()}
    try:
        api.call("POST", "/v1/accounts", {"username": username, "password": password, "role": role,
                                          "org_id": org["id"], "member_id": member_id})
    except SeedError as error:
        if error.code not in ("USERNAME_EXISTS", "REASON_REQUIRED"):     # the latter: the member has its account
            raise
        # made by an interrupted run, with the password kept then; if that was lost, the login is left out
        if not _Api(api.base).logs_in(tenant_code, username, password):
            print(f"演示账号 {username} 已存在但密码未知, 不列出 (exists with a password not kept in {chosen.path})",
                  file=sys.stderr)
            return None
    return login
