"""Contract-shaped requests (by rpc) and answers (by nameko method) of the content service's quiz operations
(docs/content-rpc.md)."""
from __future__ import annotations

QUIZ_REQUESTS: dict[str, dict] = {}
QUIZ_RESULTS: dict[str, dict] = {}
