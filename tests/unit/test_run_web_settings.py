"""What `bin/run` (deploy.local.up) gives the processes for the pages: PUBLIC_BASE_URL, and with --tls a
self-signed certificate and the LAN."""
from __future__ import annotations

from deploy.local.up import web_settings
from gateway.http import tls


def test_without_tls_the_codes_open_the_local_gateway(tmp_path):
    assert web_settings({}, tls=False, var=tmp_path) == {"PUBLIC_BASE_URL": "http://127.0.0.1:8080"}
    assert not (tmp_path / "keys").exists()


def test_with_tls_a_certificate_is_made_and_the_codes_name_https(tmp_path):
    settings = web_settings({}, tls=True, var=tmp_path)
    assert settings["GATEWAY_TLS_CERT"] == str(tmp_path / "keys" / tls.CERT_FILE)
    assert settings["GATEWAY_TLS_KEY"] == str(tmp_path / "keys" / tls.KEY_FILE)
    assert settings["GATEWAY_HOST"] == "0.0.0.0"
    assert settings["PUBLIC_BASE_URL"] == f"https://{tls.lan_address() or '127.0.0.1'}:8080"
    names, addresses = tls.certificate_names(settings["GATEWAY_TLS_CERT"])
    assert "localhost" in names and "127.0.0.1" in addresses
    assert (tls.lan_address() or "127.0.0.1") in addresses


def test_what_the_environment_says_wins(tmp_path):
    given = {"GATEWAY_TLS_CERT": "/etc/pb/tls.crt", "GATEWAY_TLS_KEY": "/etc/pb/tls.key",
             "PUBLIC_BASE_URL": "https://dj.example.cn"}
    assert web_settings(given, tls=True, var=tmp_path) == {}
    assert web_settings({"GATEWAY_TLS_CERT": "/etc/pb/tls.crt"}, tls=False, var=tmp_path)["PUBLIC_BASE_URL"] \
        .startswith("https://")
