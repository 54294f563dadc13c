"""Page sizes and opaque page tokens, the same for every list operation."""
from __future__ import annotations

import base64

from servicekit.errors import InvalidArgument

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
MAX_OFFSET = 2**31 - 1


def page_window(page_size, page_token) -> tuple[int, int]:
    """(skip, limit) for a request; limit is one more than the page to learn if another follows."""
    if page_size in (None, ""):
        page_size = 0
    if isinstance(page_size, bool) or not isinstance(page_size, int) or page_size < 0:
        raise InvalidArgument("page_size 必须是非负整数", code="PAGE_SIZE_INVALID", field="page_size")
    if page_size > MAX_PAGE_SIZE:
        raise InvalidArgument(f"page_size 不能超过 {MAX_PAGE_SIZE}", code="PAGE_SIZE_TOO_LARGE", field="page_size")
    return _offset(page_token), (page_size or DEFAULT_PAGE_SIZE)


def _offset(page_token) -> int:
    if not page_token:
        return 0
    try:
        kind, _, value = base64.urlsafe_b64decode(str(page_token).encode()).decode().partition(":")
        # ASCII digits and a sane offset: a forged "o:9…9" would overflow the store's 64-bit skip (a 500)
        if kind != "o" or not value.isascii() or not value.isdigit() or int(value) > MAX_OFFSET:
            raise ValueError
        return int(value)
    except ValueError:
        raise InvalidArgument("page_token 无效", code="PAGE_TOKEN_INVALID", field="page_token") from None


def page_of(items: list, skip: int, limit: int) -> tuple[list, str]:
    """Trim the one-extra item fetched and give the next page's token ("" on the last page)."""
    if len(items) > limit:
        return items[:limit], base64.urlsafe_b64encode(f"o:{skip + limit}".encode()).decode()
    return items, ""
