"""Checks on RPC arguments: the shared ones (servicekit.arguments)."""
from servicekit.arguments import boolean, text  # noqa: F401
