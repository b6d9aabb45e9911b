"""The client's safety defaults: TLS verified except on loopback, environment honoured."""

from __future__ import annotations

import ssl

import pytest

from dncsync.net.client import build_client, is_loopback

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


async def test_tls_is_verified_for_real_hosts_and_loopback_only_is_exempt() -> None:
    async with build_client(["https://api.mypurecloud.com", "https://login.mypurecloud.com"]) as c:
        assert _verify_mode(c) is ssl.CERT_REQUIRED
    async with build_client(["http://127.0.0.1:1", "https://api.mypurecloud.com"]) as c:
        assert _verify_mode(c) is ssl.CERT_REQUIRED
    async with build_client(["https://127.0.0.1:8443"]) as c:
        assert _verify_mode(c) is ssl.CERT_NONE


async def test_proxies_from_the_environment_are_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example.test:3128")
    async with build_client(["https://api.mypurecloud.com"]) as client:
        proxied = [str(pattern.pattern) for pattern in client._mounts]
    assert "https://" in proxied
    async with build_client(["http://127.0.0.1:8765"]) as client:
        assert not client._mounts  # loopback never goes through a proxy
