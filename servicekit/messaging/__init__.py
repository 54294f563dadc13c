"""Messaging: the transactional outbox and its relay, batched event consumers, the broker topology, RPC."""
