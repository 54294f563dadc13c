"""Configuration from environment variables, read once, failing fast when required ones are missing."""
from __future__ import annotations

import os
import ssl
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit

DEFAULT_AMQP_URI = "amqp://guest:guest@127.0.0.1:5672/"
LOCAL_BROKER_HOSTS = ("localhost", "127.0.0.1", "::1")
# TLS settings of the AMQP clients: environment variable -> py-amqp's option (ssl.SSLContext.wrap_socket's names)
AMQP_SSL_FILES = (("AMQP_SSL_CA", "ca_certs"), ("AMQP_SSL_CERT", "certfile"), ("AMQP_SSL_KEY", "keyfile"))
AMQP_SSL_FROM_ENV = object()      # amqp_connection(): take the TLS options of amqp_ssl()


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
    """AMQP_URI; with AMQP_USER (its password in the file AMQP_PASSWORD_FILE, or in AMQP_PASSWORD) and AMQP_VHOST,
    those replace the URI's user, password and virtual host: each process logs in as its own broker user
    (servicekit.messaging.broker_access) without its password in the environment."""
    uri = env("AMQP_URI", DEFAULT_AMQP_URI)
    user, vhost = env("AMQP_USER"), env("AMQP_VHOST")
    if not user and vhost is None:
        return uri
    password = None
    if user:
        path = env("AMQP_PASSWORD_FILE")
        try:
            password = Path(path).read_text(encoding="utf-8").strip() if path else env("AMQP_PASSWORD", "")
        except OSError as error:
            raise ConfigError(f"AMQP_PASSWORD_FILE={path!r} unreadable: {error}") from None
    return ";".join(with_login(url, user, password, vhost) for url in _amqp_urls(uri))


def with_login(url: str, user: str | None, password: str | None, vhost: str | None) -> str:
    """``url`` with its user and password (when ``user``) and its virtual host (when not None) replaced."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if user:
        netloc = f"{quote(user, safe='')}:{quote(password or '', safe='')}@{netloc.rpartition('@')[2]}"
    path = parts.path if vhost is None else "/" + quote(vhost, safe="")
    return urlunsplit((parts.scheme, netloc, path, parts.query, parts.fragment))


def _amqp_urls(uri: str) -> list[str]:
    """The URLs of an AMQP URI (kombu takes several, separated by ``;``, for fail-over)."""
    return [part.strip() for part in uri.split(";") if part.strip()]


def amqp_ssl(uri: str | None = None) -> dict | None:
    """The TLS options of every AMQP client (nameko's ``AMQP_SSL``, kombu's ``ssl``); None for plain AMQP.

    TLS is on for an ``amqps://`` URI (port 5671 unless given) or when any of AMQP_SSL_CA (PEM of the CA that
    signed the broker's certificate; the system's CAs when unset), AMQP_SSL_CERT and AMQP_SSL_KEY (a client
    certificate and its key) is set. The broker's chain and host name are always checked: kombu puts the URI's
    host name in ``server_hostname``, which without it py-amqp would leave unchecked.
    """
    uri = uri or amqp_uri()
    files = {option: env(name) for name, option in AMQP_SSL_FILES if env(name)}
    if not files and not any(urlsplit(url).scheme == "amqps" for url in _amqp_urls(uri)):
        return None
    if "keyfile" in files and "certfile" not in files:
        raise ConfigError("AMQP_SSL_KEY is the key of a client certificate: set AMQP_SSL_CERT (PEM path) too")
    for name, option in AMQP_SSL_FILES:
        if option in files and not os.path.isfile(files[option]):
            raise ConfigError(f"{name}={files[option]!r}: no such file (a PEM file readable by this process)")
    return {**files, "cert_reqs": ssl.CERT_REQUIRED, "server_hostname": None,
            "tls_minimum_version": ssl.TLSVersion.TLSv1_2}


def amqp_connection(uri: str | None = None, ssl_options=AMQP_SSL_FROM_ENV, **options):
    """A kombu Connection to ``uri`` (AMQP_URI) over TLS when ``amqp_ssl()`` says so; a nameko extension passes
    its container's ``AMQP_SSL`` as ``ssl_options``. Every AMQP client outside nameko's own connects here."""
    from kombu import Connection

    uri = uri or amqp_uri()
    chosen = amqp_ssl(uri) if ssl_options is AMQP_SSL_FROM_ENV else ssl_options
    if isinstance(chosen, dict):
        chosen = dict(chosen)       # kombu writes the broker's host name into it
    return Connection(uri, ssl=chosen or False, **options)


def check_amqp_settings(uri: str | None = None) -> None:
    """Refuse at start what must not or cannot work: logging in as ``guest`` to a broker that is not on this
    machine (RabbitMQ refuses it too, later and less clearly), or AMQP TLS files that are missing or do not load."""
    uri = uri or amqp_uri()
    for url in _amqp_urls(uri):
        parts = urlsplit(url)
        user = unquote(parts.username or "") or "guest"         # kombu logs in as guest when the URI names no user
        host = (parts.hostname or "localhost").lower()
        if user == "guest" and host not in LOCAL_BROKER_HOSTS:
            host = f"[{host}]" if ":" in host else host
            raise ConfigError(
                f"AMQP_URI logs in to the broker at {host} as guest, which is allowed only for a broker on this "
                f"machine (a developer's localhost). Create a user for this service on the broker "
                f"(rabbitmqctl add_user <user> <password>, with the permissions docs/security.md#broker-users-and-"
                f"permissions gives it on the platform's vhost) and set AMQP_URI=amqp://<user>:<password>@{host}:5672/"
                f"partybuilding (amqps://<user>:<password>@{host}:5671/partybuilding for TLS)")
    options = amqp_ssl(uri)
    if options:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        try:
            if options.get("ca_certs"):
                context.load_verify_locations(options["ca_certs"])
            if options.get("certfile"):
                context.load_cert_chain(options["certfile"], options.get("keyfile"))
        except (OSError, ssl.SSLError) as error:
            settings = ", ".join(f"{name}={env(name)}" for name, _ in AMQP_SSL_FILES if env(name))
            raise ConfigError(f"AMQP TLS files unusable ({settings}): {error}") from None


def mongo_uri() -> str:
    return env("MONGO_URI", required=True)


def database_name(service: str) -> str:
    """One database per service; DB_PREFIX lets tests and installations keep theirs apart."""
    return f"{env('DB_PREFIX', 'pb')}_{service}"


def nameko_config() -> dict:
    return {
        "AMQP_URI": amqp_uri(),
        "AMQP_SSL": amqp_ssl(),
        "serializer": "json",
        "max_workers": int(env("NAMEKO_MAX_WORKERS", "10")),
        "parent_calls_tracked": 10,
    }
