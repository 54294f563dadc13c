"""Configuration from environment variables, read once, failing fast when required ones are missing."""
from __future__ import annotations

import os

DEFAULT_AMQP_URI = "amqp://guest:guest@127.0.0.1:5672/"


class ConfigError(RuntimeError):
    pass


def env(name: str, default: str | None = None, required: bool = False) -> str | None:
    value = os.environ.get(name, default)
    if required and not value:
        raise ConfigError(f"environment variable {name} is required")
    return value


def switched_off(name: str) -> bool:
    """Whether the on/off setting ``name`` (on unless set) is off: ``off``, ``0``, ``false`` or ``no``."""
    return (env(name, "on") or "on").lower() in ("off", "0", "false", "no")


def amqp_uri() -> str:
    return env("AMQP_URI", DEFAULT_AMQP_URI)


def mongo_uri() -> str:
    return env("MONGO_URI", required=True)


def database_name(service: str) -> str:
    """One database per service; DB_PREFIX lets tests and installations keep theirs apart."""
    return f"{env('DB_PREFIX', 'pb')}_{service}"


def nameko_config() -> dict:
    return {
        "AMQP_URI": amqp_uri(),
        "serializer": "json",
        "max_workers": int(env("NAMEKO_MAX_WORKERS", "10")),
        "parent_calls_tracked": 10,
    }
