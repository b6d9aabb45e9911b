"""TLS is verified wherever https points, loopback included: a certificate that does not
verify ends the target with exit 3 and a line naming the host and SSL_CERT_FILE, without a
retry; with SSL_CERT_FILE naming the CA that signed it, the same server is synced.

The emulator serves https on 127.0.0.1 with a certificate signed by a CA made here.
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from .support import (
    Platforms,
    cxone_target,
    emulator_settings,
    genesys_target,
    nanp_numbers,
    run_sync,
    serve,
    write_config,
    write_source,
)

pytestmark = pytest.mark.slow

CONFIG_OR_AUTH = 3


def _name(text: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])


def _certificate(
    subject: str, key: ec.EllipticCurvePrivateKey, issuer: str, signer: ec.EllipticCurvePrivateKey
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
    )


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A private CA and a certificate it signed for 127.0.0.1: the files, as PEM."""
    folder = tmp_path_factory.mktemp("tls")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        _certificate("dncsync test CA", ca_key, "dncsync test CA", ca_key)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    key = ec.generate_private_key(ec.SECP256R1())
    server = (
        _certificate("127.0.0.1", key, "dncsync test CA", ca_key)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    files = {"ca": folder / "ca.pem", "cert": folder / "server.pem", "key": folder / "server.key"}
    files["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files["cert"].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    files["key"].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return {name: str(path) for name, path in files.items()}


@pytest.fixture
def https_platforms(
    credentials: dict[str, str], tls_files: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Platforms]:
    """The emulator over https on 127.0.0.1; no CA named in this process's environment."""
    for name in ("SSL_CERT_FILE", "SSL_CERT_DIR"):
        monkeypatch.delenv(name, raising=False)
    with serve(emulator_settings(), (tls_files["cert"], tls_files["key"])) as platforms:
        assert platforms.base_url.startswith("https://127.0.0.1:")
        yield platforms


def test_a_certificate_that_does_not_verify_exits_3_naming_host_and_ssl_cert_file(
    https_platforms: Platforms, tmp_path: Path
) -> None:
    write_source(tmp_path / "source.csv", nanp_numbers(10, 1))
    config = write_config(tmp_path, [genesys_target(https_platforms)])

    finished = run_sync(config, log_level="info")

    assert finished.code == CONFIG_OR_AUTH
    assert "Traceback" not in finished.stderr
    line = finished.stderr.strip().splitlines()[-1]
    host = https_platforms.base_url.removeprefix("https://")
    assert line.startswith("dncsync: error: ")
    assert f"the TLS certificate of {host} could not be verified" in line
    assert "point SSL_CERT_FILE at that CA's certificate" in line
    assert "net.retry" not in finished.stderr  # not retried: no attempt could succeed
    assert https_platforms.requests() == []  # nothing, not even the secret, was sent


def test_with_ssl_cert_file_naming_the_ca_https_on_loopback_is_synced(
    https_platforms: Platforms,
    tls_files: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", tls_files["ca"])
    write_source(tmp_path / "source.csv", nanp_numbers(10, 2))
    config = write_config(
        tmp_path, [genesys_target(https_platforms), cxone_target(https_platforms)]
    )

    finished = run_sync(config)

    assert finished.code == 0, finished.stderr
    assert len(https_platforms.held("genesys")) == 10
    assert len(https_platforms.held("cxone")) == 10
