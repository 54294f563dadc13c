"""Contract-shaped requests (by rpc) and answers (by nameko method) of the content service's learning operations
(docs/content-rpc.md)."""
from __future__ import annotations

LEARNING_REQUESTS: dict[str, dict] = {}
LEARNING_RESULTS: dict[str, dict] = {}
