"""The chaos suite: a themed day under kill -9 of every component, checked like Jepsen's RabbitMQ checker
(``python -m chaos --mode small|long``; docs/operations.md#chaos-suite)."""
