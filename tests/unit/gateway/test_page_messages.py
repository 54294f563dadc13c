"""The pages speak Chinese for the refusals that overload and faults bring (the server's own messages are English),
and the member's scan page offers to scan again after them: nothing was recorded."""
from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from gateway.batching import Batcher
from servicekit.messaging import peer_calls

WEB = Path(__file__).resolve().parents[3] / "gateway" / "web"
OVERLOAD = ["QUEUE_FULL", "SERVICE_BUSY", "PEER_BUSY", "PEER_TIMEOUT", "PEER_UNAVAILABLE", "BROKER_UNAVAILABLE",
            "STORE_UNAVAILABLE"]


def page_messages() -> dict[str, str]:
    text = (WEB / "common" / "messages.js").read_text(encoding="utf-8")
    return dict(re.findall(r'^\s+([A-Z][A-Z0-9_]+): "([^"]*)"', text, re.M))


def test_the_codes_are_the_ones_the_platform_answers_with():
    still = SimpleNamespace(loop=SimpleNamespace(time=lambda: 0.0))
    assert Batcher(backend=None, loop=still)._shed(("attendance", "record_scans")).code == "QUEUE_FULL"
    assert peer_calls.peer_busy("identity", 5).code == "PEER_BUSY"
    assert peer_calls.peer_timed_out("identity", 10).code == "PEER_TIMEOUT"
    assert peer_calls.peer_unavailable("identity").code == "PEER_UNAVAILABLE"


@pytest.mark.parametrize("code", OVERLOAD)
def test_each_overload_refusal_has_a_chinese_message(code):
    message = page_messages().get(code, "")
    assert re.search(r"[\u4e00-\u9fff]", message), f"{code}: {message!r}"


def test_the_scan_page_offers_to_scan_again_after_each_of_them():
    text = (WEB / "m" / "scan.js").read_text(encoding="utf-8")
    again = re.search(r"const again = \[(.*?)\]\.includes", text, re.S).group(1)
    assert set(OVERLOAD) <= set(re.findall(r'"([A-Z_]+)"', again))
