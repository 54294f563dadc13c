"""Benchmark: import a city (9,000 organisations, 208,000 members) through the identity service.

    .venv/bin/python -m bench.import_city [--members 208000] [--xlsx]

Starts its own embedded store (unless MONGO_URI is set), a RabbitMQ vhost of its own and
the identity service process, then times the two imports as an admin would run them.
Target (issue 2): the members import under 2 minutes on a 2-core machine.
"""
from __future__ import annotations

import argparse
import base64
import io
import os
import secrets
import tempfile
import time
from pathlib import Path

from nameko.standalone.rpc import ClusterRpcProxy

from bench.city_data import MEMBER_HEADER, ORG_HEADER, branch_paths, member_rows, org_rows, to_csv
from servicekit.process.config import nameko_config
from servicekit.storage.embedded_mongo import EmbeddedMongo
from servicekit.messaging.signed_calls import act_as
from servicekit.security.keys import ensure_keys
from tests.support.broker import TestVhost
from tests.support.identity import scope_of
from tests.support.processes import ChildProcess, free_port


def to_xlsx(header, rows) -> bytes:
    from openpyxl import Workbook
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def load_of() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=208_000)
    parser.add_argument("--xlsx", action="store_true", help="import the members as XLSX instead of CSV")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-import-"))
    os.environ.update(ensure_keys(work / "keys"), DB_PREFIX="bench" + secrets.token_hex(3),
                      OPERATOR_PASSWORD="Bench-" + secrets.token_hex(6), PASSWORD_HASH_PROFILE="fast")
    act_as("gateway")      # the bench calls services as the gateway does
    orgs = org_rows()
    paths = branch_paths()
    started = time.perf_counter()
    members = member_rows(args.members, paths)
    member_file = to_xlsx(MEMBER_HEADER, members) if args.xlsx else to_csv(MEMBER_HEADER, members)
    print(f"generated {len(orgs) + 1} organisations and {len(members)} members "
          f"({len(member_file) / 1e6:.1f} MB {'XLSX' if args.xlsx else 'CSV'}) in {time.perf_counter() - started:.1f}s")
    mongo = None if os.environ.get("MONGO_URI") else EmbeddedMongo(work / "mongo").start()
    uri = os.environ.get("MONGO_URI") or mongo.uri
    with TestVhost() as bus:
        child = ChildProcess("identity", ["-m", "servicekit.process.runner", "services.identity.service:IdentityService"],
                             {"AMQP_URI": bus, "MONGO_URI": uri, "METRICS_PORT": str(free_port())}, work)
        proxy = ClusterRpcProxy({**nameko_config(), "AMQP_URI": bus}, timeout=600)
        rpc = proxy.start()
        try:
            child.wait_until(lambda: rpc.identity.login(tenant_code="", username="operator",
                                                        password=os.environ["OPERATOR_PASSWORD"]))
            operator = scope_of(rpc.identity.login(tenant_code="", username="operator",
                                                   password=os.environ["OPERATOR_PASSWORD"]))
            created = rpc.identity.create_tenant(scope=operator, code="benchcity", name="基准市",
                                                 admin_username="admin", admin_password="Bench-pass-1")
            admin = scope_of(rpc.identity.login(tenant_code="benchcity", username="admin", password="Bench-pass-1"))
            root = created["root_org"]["id"]
            started = time.perf_counter()
            answer = rpc.identity.import_orgs(scope=admin, parent_id=root, format="csv",
                                              content=base64.b64encode(to_csv(ORG_HEADER, orgs)).decode())
            org_seconds = time.perf_counter() - started
            print(f"organisations: {answer['imported']} imported in {org_seconds:.1f}s")
            load_before = load_of()
            started = time.perf_counter()
            answer = rpc.identity.import_members(scope=admin, org_id=root, format="xlsx" if args.xlsx else "csv",
                                                 content=base64.b64encode(member_file).decode())
            member_seconds = time.perf_counter() - started
            print(f"members: {answer['imported']} imported in {member_seconds:.1f}s "
                  f"({answer['imported'] / member_seconds:,.0f} rows/s) — target < 120 s: "
                  f"{'MET' if member_seconds < 120 else 'MISSED'} "
                  f"(load average before {load_before}, after {load_of()}, {os.cpu_count()} CPUs)")
            page = rpc.identity.list_members(scope=admin, org_id=root, page_size=500)
            print(f"check: first page of the city's members has {len(page['members'])} rows")
        finally:
            proxy.stop()
            child.stop()
            if mongo:
                mongo.stop()


if __name__ == "__main__":
    main()
