"""Checks on RPC arguments: the shared ones (servicekit.arguments)."""
from servicekit.arguments import choice, integer, text  # noqa: F401
