"""Contract-shaped requests (by rpc) and answers (by nameko method) of the content service's community operations
(docs/content-rpc.md)."""
from __future__ import annotations

COMMUNITY_REQUESTS: dict[str, dict] = {}
COMMUNITY_RESULTS: dict[str, dict] = {}
