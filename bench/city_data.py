"""Generate a city-sized organisation tree and member roll as import files (CSV bytes)."""
from __future__ import annotations

import csv
import io
import random
from datetime import date, timedelta

from services.identity.domain.idcard import make_id_number

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰建国红梅海燕志文晓东春"
FIELDS = ["rural", "community", "school", "enterprise", "government", "social"]
CATEGORIES = ["township", "street", "college", "enterprise"]


def org_rows(counties: int = 10, committees_per_county: int = 20, branches_per_committee: int = 44) -> list[list]:
    rows = []
    for c in range(counties):
        rows.append([f"c{c}", "", f"第{c + 1}区县委", "county", "", ""])
        for k in range(committees_per_county):
            ref = f"c{c}k{k}"
            rows.append([ref, f"c{c}", f"第{c + 1}区第{k + 1}党委", "committee", CATEGORIES[k % 4], FIELDS[k % 6]])
            for b in range(branches_per_committee):
                rows.append([f"{ref}b{b}", ref, f"第{b + 1}党支部", "branch", "", FIELDS[(k + b) % 6]])
    return rows


def branch_paths(counties: int = 10, committees_per_county: int = 20, branches_per_committee: int = 44):
    return [f"第{c + 1}区县委/第{c + 1}区第{k + 1}党委/第{b + 1}党支部"
            for c in range(counties) for k in range(committees_per_county) for b in range(branches_per_committee)]


def member_rows(total: int, paths: list[str], seed: int = 7, mobile_share: float = 0.2) -> list[list]:
    rng = random.Random(seed)
    rows = []
    for index in range(total):
        gender = "male" if index % 3 else "female"
        birth = date(1950, 1, 1) + timedelta(days=index % 14000)
        number = make_id_number("610702", birth, index // 14000 + 1, gender)
        joined = birth + timedelta(days=365 * 25)
        rows.append([paths[index % len(paths)], rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
                     gender, birth.isoformat(), number, f"13{index:09d}", "本科", "full",
                     joined.isoformat(), (joined + timedelta(days=200)).isoformat(),
                     (joined + timedelta(days=600)).isoformat(), (joined + timedelta(days=800)).isoformat(),
                     (joined + timedelta(days=1200)).isoformat(), "none",
                     "true" if rng.random() < mobile_share else "false"])
    return rows


def to_csv(header: list[str], rows: list[list]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode()


ORG_HEADER = ["ref", "parent_ref", "name", "kind", "category", "field"]
MEMBER_HEADER = ["branch_ref", "name", "gender", "birth_date", "id_number", "phone", "education", "status",
                 "applied_on", "activist_on", "development_target_on", "probationary_on", "full_on", "enrolment",
                 "mobile"]
