"""The identity service's use cases, one module per topic (docs/architecture.md)."""
