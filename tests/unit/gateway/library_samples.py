"""Contract-shaped requests (by rpc) and answers (by nameko method) of the content service's library operations
(docs/content-rpc.md)."""
from __future__ import annotations

LIBRARY_REQUESTS: dict[str, dict] = {}
LIBRARY_RESULTS: dict[str, dict] = {}
