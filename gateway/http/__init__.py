"""The HTTP/JSON side: the app generated from the operation table (``app``), its two servers (``server``, the
built-in one, and ``uvicorn``), the pages and their sessions (``pages``), TLS, OpenAPI and /docs."""
