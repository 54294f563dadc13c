"""HTTPS for the gateway's HTTP edge: a phone's browser gives a page its position (Geolocation API) only in a
secure context, so a try-out on a LAN needs TLS; localhost works without.

* ``context_from_env()``: the server's SSL context when ``GATEWAY_TLS_CERT`` and ``GATEWAY_TLS_KEY`` (PEM paths)
  are set, None when neither is; TLS 1.2 or later, HTTP/1.1 offered by ALPN.
* ``grpc_credentials_from_env()``: the same certificate for the gRPC port (grpc's own TLS, 1.2 or later).
* ``ensure_self_signed(folder)``: a self-signed certificate for this machine's names and addresses (what
  ``bin/run --tls`` uses), made again when the machine's names or addresses changed or it nears its end.
"""
from __future__ import annotations

import datetime
import ipaddress
import os
import socket
import ssl
from pathlib import Path

from servicekit.process.config import ConfigError, env

CERT_FILE = "gateway-tls.crt"
KEY_FILE = "gateway-tls.key"
VALID_DAYS = 365
RENEW_BEFORE_DAYS = 30


def server_context(cert_path: str | os.PathLike, key_path: str | os.PathLike) -> ssl.SSLContext:
    """A server SSL context: TLS 1.2 or later, the certificate chain and key from PEM files."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(str(cert_path), str(key_path))
    except (OSError, ssl.SSLError) as error:
        raise ConfigError(f"GATEWAY_TLS_CERT / GATEWAY_TLS_KEY unusable ({cert_path}, {key_path}): {error}") from None
    context.set_alpn_protocols(["http/1.1"])
    return context


def context_from_env() -> ssl.SSLContext | None:
    """The context of ``GATEWAY_TLS_CERT`` and ``GATEWAY_TLS_KEY``; None when neither is set (plain HTTP)."""
    cert, key = env("GATEWAY_TLS_CERT"), env("GATEWAY_TLS_KEY")
    if not cert and not key:
        return None
    if not (cert and key):
        raise ConfigError("GATEWAY_TLS_CERT and GATEWAY_TLS_KEY go together: set both (PEM paths) or neither")
    return server_context(cert, key)


def grpc_credentials(cert_path: str | os.PathLike, key_path: str | os.PathLike):
    """gRPC server credentials of the certificate chain and key (PEM files); no client certificate asked."""
    import grpc

    server_context(cert_path, key_path)            # the same checks and refusal as HTTPS: a pair that loads
    return grpc.ssl_server_credentials([(Path(key_path).read_bytes(), Path(cert_path).read_bytes())])


def grpc_credentials_from_env():
    """The gRPC credentials of ``GATEWAY_TLS_CERT`` and ``GATEWAY_TLS_KEY``; None when neither is set."""
    cert, key = env("GATEWAY_TLS_CERT"), env("GATEWAY_TLS_KEY")
    if not cert and not key:
        return None
    if not (cert and key):
        raise ConfigError("GATEWAY_TLS_CERT and GATEWAY_TLS_KEY go together: set both (PEM paths) or neither")
    return grpc_credentials(cert, key)


# ---- a self-signed certificate for a LAN try-out -----------------------------------------------

def local_names() -> tuple[list[str], list[str]]:
    """This machine's DNS names and IP addresses, as a phone on the LAN or the machine itself reaches it:
    localhost and the loopback addresses, the host name, and the address of the interface that routes out."""
    names = ["localhost"]
    addresses = ["127.0.0.1", "::1"]
    for name in (socket.gethostname(), socket.getfqdn()):
        if name and name not in names and not _is_address(name):
            names.append(name)
    candidates = []
    try:
        candidates += [info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None)]
    except OSError:
        pass
    for family, probe in ((socket.AF_INET, ("192.0.2.1", 9)), (socket.AF_INET6, ("2001:db8::1", 9))):
        try:
            with socket.socket(family, socket.SOCK_DGRAM) as udp:    # connect() on UDP sends nothing
                udp.connect(probe)
                candidates.append(udp.getsockname()[0])
        except OSError:
            pass
    for address in candidates:
        address = address.split("%", 1)[0]
        if _is_address(address) and not ipaddress.ip_address(address).is_link_local and address not in addresses:
            addresses.append(address)
    return names, addresses


def lan_address() -> str | None:
    """The IPv4 address a phone on the same network would use, if any other than loopback."""
    _, addresses = local_names()
    for address in addresses:
        parsed = ipaddress.ip_address(address)
        if parsed.version == 4 and not parsed.is_loopback:
            return address
    return None


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


def certificate_names(cert_path: str | os.PathLike) -> tuple[list[str], list[str]]:
    """The DNS names and IP addresses in a certificate's subject alternative names."""
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(Path(cert_path).read_bytes())
    alternative = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return (alternative.get_values_for_type(x509.DNSName),
            [str(address) for address in alternative.get_values_for_type(x509.IPAddress)])


def _still_good(cert_path: Path, names: list[str], addresses: list[str]) -> bool:
    from cryptography import x509

    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        have_names, have_addresses = certificate_names(cert_path)
    except (OSError, ValueError, x509.ExtensionNotFound):
        return False
    renew_at = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=RENEW_BEFORE_DAYS)
    return (cert.not_valid_after_utc > renew_at and set(names) <= set(have_names)
            and {ipaddress.ip_address(a) for a in addresses} <= {ipaddress.ip_address(a) for a in have_addresses})


def ensure_self_signed(folder: str | os.PathLike, names: list[str] | None = None,
                       addresses: list[str] | None = None) -> tuple[Path, Path]:
    """(cert path, key path) of a self-signed certificate under ``folder`` for ``names`` and ``addresses``
    (default: ``local_names()``); kept while it covers them and is not near its end, else made anew."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    if names is None or addresses is None:
        found_names, found_addresses = local_names()
        names = found_names if names is None else names
        addresses = found_addresses if addresses is None else addresses
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / CERT_FILE, folder / KEY_FILE
    if key_path.exists() and cert_path.exists() and _still_good(cert_path, names, addresses):
        return cert_path, key_path
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0] if names else "localhost"),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "智慧党建 (self-signed for a try-out)")])
    now = datetime.datetime.now(datetime.timezone.utc)
    alternative = [x509.DNSName(name) for name in names] + [x509.IPAddress(ipaddress.ip_address(a)) for a in addresses]
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
            .add_extension(x509.SubjectAlternativeName(alternative), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(key, hashes.SHA256()))
    descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()))
    key_path.chmod(0o600)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path
