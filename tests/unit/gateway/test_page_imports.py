"""Every module a page imports, and every script and stylesheet it loads, is a file the gateway serves: a wrong
path is a 404 that leaves the page at "正在加载…" with no error shown."""
from __future__ import annotations

import re

import pytest

from gateway.http.pages import MOUNTS, WEB_ROOT

IMPORTS = re.compile(r"""(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["'](/[^"']+)["']""")
LOADS = re.compile(r"""<(?:script|link)\b[^>]*\b(?:src|href)=["'](/[^"'?#]+)["']""")


def served_file(url: str):
    for prefix, directory in MOUNTS.items():
        if url.startswith(prefix):
            return WEB_ROOT / directory / url[len(prefix):]
    return None


def page_files():
    return sorted(path for path in WEB_ROOT.rglob("*") if path.suffix in (".js", ".html")
                  and "node_modules" not in path.parts)


def references(path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    return IMPORTS.findall(text) + (LOADS.findall(text) if path.suffix == ".html" else [])


@pytest.mark.parametrize("path", page_files(), ids=lambda path: str(path.relative_to(WEB_ROOT)))
def test_what_a_page_loads_is_served(path):
    missing = [url for url in references(path)
               if not url.startswith("/v1/") and not (served_file(url) and served_file(url).is_file())]
    assert missing == []


def test_the_check_sees_imports():
    assert "/web/common/api.js" in references(WEB_ROOT / "m" / "feed.js")
    assert served_file("/web/m/session.js") is None
