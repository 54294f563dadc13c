"""While an import file is read and checked, the identity service goes on answering other calls.

The file is allowed but slow: 120,000 member rows (seconds of reading and validation), every row naming
a branch that does not exist, so the import ends in IMPORT_REJECTED and writes nothing. Read on the
service's event loop, it held every other call until it was done.
"""
from __future__ import annotations

import base64
import time

import pytest

from servicekit.errors import InvalidArgument
from tests.support.identity import PASSWORD, login
from tests.support.xlsx import xlsx_of

ROWS = 120_000


def test_logins_and_get_me_are_answered_while_an_import_file_is_read(rpc, city):
    rows = [["所在支部", "姓名", "身份证号", "手机号", "政治面貌"]] + [
        ["不存在的支部", f"成员{number}", "61070219900101001X", "13800138000", "正式党员"] for number in range(ROWS)]
    content = base64.b64encode(xlsx_of(rows)).decode()
    started = time.monotonic()
    reply = rpc.identity.import_members.call_async(scope=city.admin, org_id=city.root["id"], format="xlsx",
                                                   content=content)
    time.sleep(0.5)                              # the service has the file and is reading it
    latencies = []
    for _ in range(5):
        before = time.monotonic()
        assert rpc.identity.get_me(scope=city.admin)["account"]["username"] == "city-admin"
        latencies.append(time.monotonic() - before)
    before = time.monotonic()
    assert login(rpc, city.code, "city-admin", PASSWORD)["account_id"]
    latencies.append(time.monotonic() - before)
    answered = time.monotonic()
    with pytest.raises(InvalidArgument) as rejected:
        reply.result()
    finished = time.monotonic()
    assert rejected.value.code == "IMPORT_REJECTED"
    assert rpc.identity.list_members(scope=city.admin, org_id=city.root["id"])["members"] == []
    # every call was answered while the import was still being read, each in a small part of its time
    assert finished - answered > 0.5, (latencies, finished - started)
    assert max(latencies) < (finished - started) / 5, (latencies, finished - started)
