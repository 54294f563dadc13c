"""The scoring service's use cases: one module per topic, built per call from the service's dependencies."""
