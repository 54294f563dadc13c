"""The pages' Content-Security-Policy allows style sheets from the gateway only (style-src 'self'): an inline style
attribute is silently ignored by the browser, so the pages style through classes in common/style.css. (Setting
``element.style.x`` from a script is CSSOM, which the policy allows.)"""
from __future__ import annotations

import re

import pytest

from gateway.http.pages import CONTENT_SECURITY_POLICY, WEB_ROOT

SOURCES = sorted(path for folder in ("m", "console", "common", "v") for path in (WEB_ROOT / folder).rglob("*")
                 if path.suffix in (".js", ".html"))
INLINE_STYLE = re.compile(r"""\bstyle\s*:\s*["'`]|\bstyle\s*=\s*["']|setAttribute\(\s*["']style["']""")


def test_the_policy_refuses_inline_styles():
    assert "style-src 'self';" in CONTENT_SECURITY_POLICY and "unsafe-inline" not in CONTENT_SECURITY_POLICY


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: str(path.relative_to(WEB_ROOT)))
def test_no_page_sets_an_inline_style_attribute(path):
    found = [f"{number}: {line.strip()}" for number, line in enumerate(path.read_text().splitlines(), 1)
             if INLINE_STYLE.search(line)]
    assert found == []
