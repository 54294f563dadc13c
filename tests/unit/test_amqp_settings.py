"""The AMQP clients' TLS and login settings (servicekit.process.config): ``amqps://`` or AMQP_SSL_CA / AMQP_SSL_CERT /
AMQP_SSL_KEY reach every client (nameko's proxies through ``AMQP_SSL``, the relay, the batch consumers and the peer
count through ``amqp_connection``), a real TLS handshake checks the broker's chain and name, and a service or the
gateway refuses at start the guest login to a broker elsewhere and TLS files that are missing or do not load."""
from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import threading
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

import kombu
import pytest

from gateway.http import tls
from servicekit.process import config
from servicekit.process.config import ConfigError, amqp_connection, amqp_ssl, check_amqp_settings, nameko_config

REPO = Path(__file__).resolve().parents[2]
SSL_VARIABLES = ("AMQP_SSL_CA", "AMQP_SSL_CERT", "AMQP_SSL_KEY")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in ("AMQP_URI", *SSL_VARIABLES):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def broker_cert(tmp_path_factory):
    """A certificate for the loopback (what a TLS broker on this machine would show) and its key."""
    return tls.ensure_self_signed(tmp_path_factory.mktemp("broker"), ["localhost"], ["127.0.0.1"])


class Refused(Exception):
    pass


class RecordingConnection:
    """Stands for kombu.Connection: keeps what a client built it with, then fails as an unreachable broker does."""
    made: list[dict] = []

    def __init__(self, uri, **options):
        RecordingConnection.made.append({"uri": uri, **options})

    def ensure_connection(self, *args, **kwargs):
        raise Refused()

    def __enter__(self):
        raise Refused()

    def __exit__(self, *exc):
        return False


@pytest.fixture
def recorded(monkeypatch):
    RecordingConnection.made = []
    monkeypatch.setattr(kombu, "Connection", RecordingConnection)
    return RecordingConnection.made


def tls_files(monkeypatch, cert, key, ca=None):
    monkeypatch.setenv("AMQP_SSL_CA", str(ca or cert))
    monkeypatch.setenv("AMQP_SSL_CERT", str(cert))
    monkeypatch.setenv("AMQP_SSL_KEY", str(key))


# ---- the settings ---------------------------------------------------------------------------------------------

def test_plain_amqp_without_settings_has_no_tls():
    assert amqp_ssl("amqp://svc:pw@rabbitmq.example:5672/") is None
    assert nameko_config()["AMQP_SSL"] is None


def test_an_amqps_uri_alone_turns_tls_on_with_the_chain_and_host_name_checked():
    options = amqp_ssl("amqps://svc:pw@rabbitmq.example/")
    assert options == {"cert_reqs": ssl.CERT_REQUIRED, "server_hostname": None,
                       "tls_minimum_version": ssl.TLSVersion.TLSv1_2}


def test_the_files_become_py_amqp_options_and_reach_nameko_config(monkeypatch, broker_cert):
    cert, key = broker_cert
    tls_files(monkeypatch, cert, key)
    monkeypatch.setenv("AMQP_URI", "amqp://svc:pw@rabbitmq.example:5671/")
    options = nameko_config()["AMQP_SSL"]
    assert options["ca_certs"] == str(cert) and options["certfile"] == str(cert) and options["keyfile"] == str(key)
    assert options["cert_reqs"] == ssl.CERT_REQUIRED and "server_hostname" in options


def test_a_missing_file_is_refused_naming_its_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("AMQP_SSL_CA", str(tmp_path / "absent-ca.pem"))
    with pytest.raises(ConfigError, match="AMQP_SSL_CA=.*absent-ca.pem.*no such file"):
        amqp_ssl("amqps://svc:pw@rabbitmq.example/")
    with pytest.raises(ConfigError, match="AMQP_SSL_CA"):
        check_amqp_settings("amqps://svc:pw@rabbitmq.example/")


def test_a_key_without_its_certificate_is_refused(monkeypatch, broker_cert):
    monkeypatch.setenv("AMQP_SSL_KEY", str(broker_cert[1]))
    with pytest.raises(ConfigError, match="AMQP_SSL_KEY .*AMQP_SSL_CERT"):
        amqp_ssl("amqp://svc:pw@rabbitmq.example/")


def test_a_file_that_is_not_pem_is_refused_at_the_start_check(monkeypatch, tmp_path):
    garbage = tmp_path / "ca.pem"
    garbage.write_text("not a certificate\n")
    monkeypatch.setenv("AMQP_SSL_CA", str(garbage))
    assert amqp_ssl("amqps://svc:pw@rabbitmq.example/")["ca_certs"] == str(garbage)
    with pytest.raises(ConfigError, match="AMQP TLS files unusable .*AMQP_SSL_CA="):
        check_amqp_settings("amqps://svc:pw@rabbitmq.example/")


def test_a_certificate_with_the_wrong_key_is_refused_at_the_start_check(monkeypatch, broker_cert, tmp_path):
    other_key = tls.ensure_self_signed(tmp_path, ["other.example"], ["10.0.0.9"])[1]
    tls_files(monkeypatch, broker_cert[0], other_key)
    with pytest.raises(ConfigError, match="AMQP TLS files unusable"):
        check_amqp_settings("amqps://svc:pw@rabbitmq.example/")


def test_loadable_files_pass_the_start_check(monkeypatch, broker_cert):
    tls_files(monkeypatch, *broker_cert)
    check_amqp_settings("amqps://svc:pw@rabbitmq.example/")


# ---- guest only on this machine ------------------------------------------------------------------------------

@pytest.mark.parametrize("uri", [
    "amqp://guest:guest@rabbitmq.example:5672/",
    "amqp://rabbitmq.example/",                                  # no user: kombu logs in as guest
    "amqps://guest:other@10.1.2.3:5671/",
    "amqp://svc:pw@127.0.0.1:5672/;amqp://guest:guest@rabbitmq.example:5672/",
    "amqp://guest:guest@[2001:db8::5]:5672/",
])
def test_guest_to_a_broker_elsewhere_is_refused_with_how_to_set_a_user(uri):
    with pytest.raises(ConfigError) as refused:
        check_amqp_settings(uri)
    message = str(refused.value)
    assert "as guest" in message and "rabbitmqctl add_user" in message
    assert "AMQP_URI=amqp://<user>:<password>@" in message


@pytest.mark.parametrize("uri", [
    "amqp://guest:guest@127.0.0.1:5672/", "amqp://guest:guest@localhost:5672/", "amqp://guest:guest@[::1]:5672/",
    "amqp://localhost//", "amqp://svc:pw@rabbitmq.example:5672/", "amqps://svc:pw@rabbitmq.example/",
])
def test_guest_on_this_machine_and_named_users_anywhere_pass(uri):
    check_amqp_settings(uri)


def test_an_unset_amqp_uri_means_guest_on_this_machine_and_passes():
    assert config.amqp_uri() == config.DEFAULT_AMQP_URI
    check_amqp_settings()


def test_a_remote_guest_from_the_environment_is_refused(monkeypatch):
    monkeypatch.setenv("AMQP_URI", "amqp://guest:guest@rabbitmq.partybuilding.svc:5672/")
    with pytest.raises(ConfigError, match="rabbitmq.partybuilding.svc as guest"):
        check_amqp_settings()


def start_refusal(module_args: list[str], **variables) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if key not in ("AMQP_URI", *SSL_VARIABLES)}
    return subprocess.run([sys.executable, "-m", *module_args], cwd=REPO, capture_output=True, text=True, timeout=120,
                          env={**environment, **variables})


@pytest.mark.parametrize("command", [["servicekit.process.runner", "services.identity.service:IdentityService"],
                                     ["gateway"]], ids=["service", "gateway"])
def test_a_service_and_the_gateway_refuse_to_start_as_guest_on_a_remote_broker(command):
    done = start_refusal(command, AMQP_URI="amqp://guest:guest@rabbitmq.example:5672/")
    assert done.returncode == 2, done.stderr
    assert "rabbitmq.example as guest" in done.stderr and "rabbitmqctl add_user" in done.stderr


@pytest.mark.parametrize("command", [["servicekit.process.runner", "services.identity.service:IdentityService"],
                                     ["gateway"]], ids=["service", "gateway"])
def test_a_service_and_the_gateway_refuse_to_start_with_a_missing_tls_file(command, tmp_path):
    done = start_refusal(command, AMQP_URI="amqps://svc:pw@rabbitmq.example/", AMQP_SSL_CA=str(tmp_path / "ca.pem"))
    assert done.returncode == 2, done.stderr
    assert "AMQP_SSL_CA=" in done.stderr and "no such file" in done.stderr


# ---- every client gets them ----------------------------------------------------------------------------------

def test_amqp_connection_gives_kombu_the_environment_s_options_or_the_given_ones(recorded, monkeypatch, broker_cert):
    tls_files(monkeypatch, *broker_cert)
    amqp_connection("amqp://svc:pw@rabbitmq.example:5671/", connect_timeout=2)
    given = {"cert_reqs": ssl.CERT_REQUIRED, "server_hostname": None}
    amqp_connection("amqp://svc:pw@rabbitmq.example:5671/", given)
    amqp_connection("amqp://svc:pw@rabbitmq.example:5672/", None)
    first, second, third = recorded
    assert first["ssl"]["ca_certs"] == str(broker_cert[0]) and first["connect_timeout"] == 2
    assert second["ssl"] == given and second["ssl"] is not given         # kombu writes into its own copy
    assert third["ssl"] is False


def test_the_outbox_relay_connects_with_the_container_s_options(recorded, monkeypatch):
    from servicekit.messaging import outbox

    options = {"cert_reqs": ssl.CERT_REQUIRED, "server_hostname": None, "ca_certs": "/etc/pb/ca.pem"}
    made = []

    def relay(*args, **kwargs):
        made.append(kwargs)
        raise Refused()

    monkeypatch.setattr(outbox, "Relay", relay)
    provider = outbox.OutboxRelay()
    provider.container = SimpleNamespace(service_name="attendance",
                                         config={"AMQP_URI": "amqps://svc:pw@rabbitmq.example/", "AMQP_SSL": options})
    with pytest.raises(Refused):
        provider.start()
    assert made == [{"uri": "amqps://svc:pw@rabbitmq.example/", "ssl_options": options}]


def test_the_relay_s_channel_is_opened_with_its_options_or_the_environment_s(recorded, monkeypatch, broker_cert):
    from servicekit.messaging.outbox import Relay

    options = {"cert_reqs": ssl.CERT_REQUIRED, "server_hostname": None}
    with pytest.raises(Refused):
        Relay("attendance", db=mock.MagicMock(), uri="amqps://svc:pw@rabbitmq.example/", ssl_options=options)._channel()
    tls_files(monkeypatch, *broker_cert)
    with pytest.raises(Refused):
        Relay("attendance", db=mock.MagicMock(), uri="amqp://svc:pw@rabbitmq.example:5671/")._channel()
    assert recorded[0]["ssl"] == options and recorded[0]["uri"] == "amqps://svc:pw@rabbitmq.example/"
    assert recorded[1]["ssl"]["certfile"] == str(broker_cert[0])


def test_the_batch_consumer_connects_with_the_container_s_options(recorded):
    from servicekit.messaging.consumers import BatchEventConsumer

    options = {"cert_reqs": ssl.CERT_REQUIRED, "server_hostname": None, "ca_certs": "/etc/pb/ca.pem"}
    consumer = BatchEventConsumer("score", [("attendance", "checkin_recorded")], make_applier=lambda container: None)
    consumer.container = SimpleNamespace(service_name="scoring",
                                         config={"AMQP_URI": "amqps://svc:pw@rabbitmq.example/", "AMQP_SSL": options})
    with pytest.raises(Refused):
        consumer.setup()
    consumer._running = True
    with pytest.raises(Refused):
        consumer._consume()
    assert [made["ssl"] for made in recorded] == [options, options]


def test_the_gateway_s_rpc_proxy_connects_with_the_options(monkeypatch, broker_cert):
    import nameko.standalone.rpc as standalone
    from gateway.backend import NamekoBackend
    from gateway.errors import GatewayError

    tls_files(monkeypatch, *broker_cert)
    monkeypatch.setenv("AMQP_URI", "amqps://svc:pw@rabbitmq.example/")
    made = []

    def refusing_connection(uri, **options):
        made.append({"uri": uri, **options})
        raise OSError("unreachable")

    monkeypatch.setattr(standalone, "Connection", refusing_connection)
    with pytest.raises(GatewayError):
        NamekoBackend(timeout=1).call("identity", "ping")
    assert made and made[0]["uri"] == "amqps://svc:pw@rabbitmq.example/"
    assert made[0]["ssl"]["ca_certs"] == str(broker_cert[0]) and made[0]["ssl"]["keyfile"] == str(broker_cert[1])


# ---- a real TLS handshake ------------------------------------------------------------------------------------

class TlsListener:
    """One TLS accept on the loopback with ``cert``: records whether the handshake succeeded and the bytes the
    client then sent (an AMQP client starts with its protocol header)."""

    def __init__(self, cert, key):
        self.context = tls.server_context(cert, key)
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(10)
        self.port = self.sock.getsockname()[1]
        self.received, self.handshake = b"", None
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        try:
            raw, _ = self.sock.accept()
            raw.settimeout(10)
            with self.context.wrap_socket(raw, server_side=True) as conn:
                self.handshake = True
                self.received = conn.recv(8)
        except (OSError, ssl.SSLError):
            self.handshake = False
        finally:
            self.sock.close()

    def connect(self, uri_host: str = "127.0.0.1") -> None:
        connection = amqp_connection(f"amqps://svc:pw@{uri_host}:{self.port}/", connect_timeout=5)
        try:
            connection.connect()
        except Exception:  # noqa: BLE001  the listener is no broker: only the handshake matters
            pass
        finally:
            connection.release()
        self.thread.join(10)


def test_the_client_speaks_amqp_over_tls_to_a_broker_whose_certificate_it_trusts(monkeypatch, broker_cert):
    monkeypatch.setenv("AMQP_SSL_CA", str(broker_cert[0]))
    listener = TlsListener(*broker_cert)
    listener.connect()
    assert listener.handshake is True and listener.received.startswith(b"AMQP")


def test_the_client_refuses_a_broker_certificate_signed_by_another_ca(monkeypatch, broker_cert, tmp_path):
    stranger = tls.ensure_self_signed(tmp_path, ["localhost"], ["127.0.0.1"])
    monkeypatch.setenv("AMQP_SSL_CA", str(broker_cert[0]))
    listener = TlsListener(*stranger)
    listener.connect()
    assert listener.handshake is False and listener.received == b""


def test_the_client_refuses_a_trusted_certificate_for_another_host_name(monkeypatch, tmp_path):
    elsewhere = tls.ensure_self_signed(tmp_path, ["rabbitmq.example"], ["10.0.0.9"])
    monkeypatch.setenv("AMQP_SSL_CA", str(elsewhere[0]))
    listener = TlsListener(*elsewhere)
    listener.connect()
    assert listener.handshake is False and listener.received == b""


# ---- MongoDB: TLS is the URI's ----------------------------------------------------------------------------------

def test_the_shared_mongo_client_keeps_the_uri_s_tls(broker_cert):
    from servicekit.storage import mongo

    uri = f"mongodb://svc:pw@db.example:27017/?tls=true&tlsCAFile={broker_cert[0]}"
    client = mongo.shared_client(uri)
    try:
        context = client.options.pool_options._ssl_context
        assert context is not None and context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
        assert context.cert_store_stats()["x509"] == 1                          # the CA file, loaded
    finally:
        mongo._clients.pop(uri, None)
        client.close()


def test_a_mongo_uri_naming_a_missing_ca_file_is_refused(tmp_path):
    from servicekit.storage import mongo

    with pytest.raises(FileNotFoundError):
        mongo.shared_client(f"mongodb://svc:pw@db.example:27017/?tls=true&tlsCAFile={tmp_path / 'absent.pem'}")
