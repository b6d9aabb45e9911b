"""The client's safety defaults: https always verified, http only to loopback, environment
honoured."""

from __future__ import annotations

import ssl

import pytest

from dncsync.errors import ConfigError
from dncsync.net.client import build_client, insecure_url, is_loopback

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:8765", True),
        ("http://localhost:1", True),
        ("http://[::1]:8765", True),
        ("https://127.9.9.9", True),
        ("https://api.mypurecloud.com", False),
        ("https://10.0.0.1", False),
    ],
)
def test_loopback_is_recognised(url: str, loopback: bool) -> None:
    assert is_loopback(url) is loopback


def _verify_mode(client: object) -> ssl.VerifyMode:
    return client._transport._pool._ssl_context.verify_mode  # type: ignore[attr-defined]


async def test_tls_is_verified_for_every_https_host_loopback_included() -> None:
    async with build_client(["https://api.mypurecloud.com", "https://login.mypurecloud.com"]) as c:
        assert _verify_mode(c) is ssl.CERT_REQUIRED
    async with build_client(["http://127.0.0.1:1", "https://api.mypurecloud.com"]) as c:
        assert _verify_mode(c) is ssl.CERT_REQUIRED
    async with build_client(["https://127.0.0.1:8443"]) as c:
        assert _verify_mode(c) is ssl.CERT_REQUIRED  # https means verified, wherever it points


@pytest.mark.parametrize(
    ("url", "refused"),
    [
        ("https://api.mypurecloud.com", None),
        ("https://10.0.0.1:8443/base", None),
        ("http://127.0.0.1:8765", None),
        ("http://localhost:1", None),
        ("http://[::1]:8765", None),
        ("http://api.mypurecloud.com", "https is required for http://api.mypurecloud.com:"),
        ("http://10.0.0.1", "https is required for http://10.0.0.1:"),
        ("http://user:hunter2@127.0.0.1.example.com", "for http://127.0.0.1.example.com:"),
        ("ftp://api.mypurecloud.com", "is not an https:// URL"),
        ("api.mypurecloud.com", "is not an https:// URL"),
    ],
)
def test_http_is_allowed_only_to_loopback(url: str, refused: str | None) -> None:
    problem = insecure_url(url)
    if refused is None:
        assert problem is None
    else:
        assert problem is not None
        assert refused in problem
        assert "hunter2" not in problem


async def test_a_missing_ca_bundle_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", "/nonexistent/ca.pem")
    with pytest.raises(ConfigError, match=r"SSL_CERT_FILE=/nonexistent/ca\.pem"):
        build_client(["https://api.mypurecloud.com"])


async def test_proxies_from_the_environment_are_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example.test:3128")
    async with build_client(["https://api.mypurecloud.com"]) as client:
        proxied = [str(pattern.pattern) for pattern in client._mounts]
    assert "https://" in proxied
    async with build_client(["http://127.0.0.1:8765"]) as client:
        assert not client._mounts  # loopback never goes through a proxy
