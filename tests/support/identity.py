"""Helpers for tests that drive the identity service over RPC: logins, scopes, a small city."""
from __future__ import annotations

import uuid
from datetime import date

from servicekit.security.tokens import TokenVerifier

from services.identity.domain.idcard import make_id_number

PASSWORD = "Passw0rd!demo"
_sequence = iter(range(1, 10_000_000))


def scope_of(login_answer: dict) -> dict:
    return TokenVerifier().verify(login_answer["access_token"])


def login(rpc, tenant_code: str, username: str, password: str = PASSWORD) -> dict:
    return scope_of(rpc.identity.login(tenant_code=tenant_code, username=username, password=password))


def member_fields(branch_id: str, name: str = "张三", **overrides) -> dict:
    birth = overrides.pop("birth", date(1990, 5, 17))
    number = new_unique_id_number(birth)
    # the number may carry a later day than asked for (kept unique); the birth date must agree with it
    born = f"{number[6:10]}-{number[10:12]}-{number[12:14]}"
    fields = {"branch_id": branch_id, "name": name, "gender": "male", "birth_date": born,
              "id_number": number, "phone": "13800138000", "education": "本科", "status": "full",
              "status_dates": {"applicant": "2015-03-01", "activist": "2015-09-01",
                               "development_target": "2016-10-01", "probationary": "2017-07-01",
                               "full": "2018-07-01"},
              "enrolment": "none", "mobile": False}
    fields.update(overrides)
    return fields


_used_numbers: set[str] = set()


def new_unique_id_number(birth: date) -> str:
    """A valid ID number not used before in this test session (birth date varied to stay unique)."""
    while True:
        sequence = next(_sequence)
        day = date.fromordinal(birth.toordinal() + sequence // 499)
        number = make_id_number("610702", day, sequence % 499 + 1, "male")
        if number not in _used_numbers:
            _used_numbers.add(number)
            return number


class City:
    """A tenant with two counties, each with a township committee and two branches, and their admins."""

    def __init__(self, rpc, operator_scope: dict):
        self.rpc = rpc
        self.code = f"city-{uuid.uuid4().hex[:8]}"
        created = rpc.identity.create_tenant(scope=operator_scope, code=self.code, name="测试市",
                                             admin_username="city-admin", admin_password=PASSWORD)
        self.tenant_id = created["tenant"]["id"]
        self.root = created["root_org"]
        self.admin = login(rpc, self.code, "city-admin")
        self.counties, self.committees, self.branches = [], [], []
        for number in (1, 2):
            county = rpc.identity.create_org(scope=self.admin, parent_id=self.root["id"], name=f"第{number}县",
                                             kind="county")
            committee = rpc.identity.create_org(scope=self.admin, parent_id=county["id"], name=f"第{number}镇党委",
                                                kind="committee", category="township", field="rural")
            branches = [rpc.identity.create_org(scope=self.admin, parent_id=committee["id"],
                                                name=f"第{number}镇第{index}支部", kind="branch", field="rural")
                        for index in (1, 2)]
            self.counties.append(county)
            self.committees.append(committee)
            self.branches.append(branches)
            rpc.identity.create_account(scope=self.admin, username=f"county{number}", password=PASSWORD,
                                        role="org_admin", org_id=county["id"])
        self.county_admins = [login(rpc, self.code, f"county{number}") for number in (1, 2)]

    def add_member(self, branch: dict, name: str = "张三", **overrides) -> dict:
        return self.rpc.identity.create_member(scope=self.admin, **member_fields(branch["id"], name, **overrides))

    def member_login(self, member: dict, username: str) -> dict:
        self.rpc.identity.create_account(scope=self.admin, username=username, password=PASSWORD, role="member",
                                         member_id=member["id"])
        return login(self.rpc, self.code, username)
