"""Contract-shaped requests (by rpc) and answers (by nameko method) of the content service's recommendation operations
(docs/content-rpc.md)."""
from __future__ import annotations

RECOMMENDATION_REQUESTS: dict[str, dict] = {}
RECOMMENDATION_RESULTS: dict[str, dict] = {}
