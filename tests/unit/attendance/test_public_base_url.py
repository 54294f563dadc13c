"""PUBLIC_BASE_URL: what the attendance process reads when it starts, refusing one that would print useless codes."""
from __future__ import annotations

import pytest

from servicekit.process.config import ConfigError
from services.attendance.desk import public_base_url


def test_the_default_is_the_gateway_on_this_machine(monkeypatch):
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    assert public_base_url() == "http://127.0.0.1:8080"


def test_a_configured_url_is_used_without_its_trailing_slash(monkeypatch):
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://dangjian.example.cn/")
    assert public_base_url() == "https://dangjian.example.cn"


@pytest.mark.parametrize("value", ["dangjian.example.cn", "https://dangjian.example.cn/?from=qr", "https://x/#m"])
def test_a_bad_url_stops_the_start(monkeypatch, value):
    monkeypatch.setenv("PUBLIC_BASE_URL", value)
    with pytest.raises(ConfigError) as caught:
        public_base_url()
    assert "PUBLIC_BASE_URL" in str(caught.value)
