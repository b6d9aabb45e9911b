"""The one `httpx.AsyncClient` a target talks through, built with safe defaults.

TLS certificates are always verified, except when every base URL is a loopback address (the
emulator on this machine). Proxies and CA bundles come from the environment (`HTTPS_PROXY`,
`NO_PROXY`, `SSL_CERT_FILE`, `SSL_CERT_DIR`) through httpx's `trust_env`; a loopback client
ignores them, since a proxy cannot reach this machine's loopback interface.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Sequence

import httpx

import dncsync

_CONNECT_TIMEOUT_SECONDS = 10.0
# The variables httpx reads for proxies (`trust_env`), named in messages about a host that
# does not answer: a proxy set (or missing) is a usual cause.
PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY")


def is_loopback(url: str) -> bool:
    """True when the URL's host is this machine (`localhost`, 127.0.0.0/8, `::1`)."""
    host = httpx.URL(url).host
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def proxy_hint(host: str) -> str:
    """What to check about proxies for a host, naming the variables set (never their values,
    which may hold a password)."""
    names = "the proxy variables HTTPS_PROXY, HTTP_PROXY and NO_PROXY"
    if is_loopback(f"http://{host}"):
        return f"{names} (not used for a loopback host)"
    found = [
        name for name in PROXY_VARIABLES if os.environ.get(name) or os.environ.get(name.lower())
    ]
    return f"{names} ({', '.join(found) + ' set' if found else 'none set'})"


def build_client(
    base_urls: Sequence[str], *, timeout_seconds: float = 30.0, concurrency: int = 4
) -> httpx.AsyncClient:
    """A client for the given hosts: verified TLS (unless all loopback), env proxies and CAs."""
    loopback = bool(base_urls) and all(is_loopback(url) for url in base_urls)
    connections = concurrency + 2  # the requests in flight plus a token or discovery request
    connect = min(timeout_seconds, _CONNECT_TIMEOUT_SECONDS)
    return httpx.AsyncClient(
        verify=not loopback,
        trust_env=not loopback,
        timeout=httpx.Timeout(timeout_seconds, connect=connect),
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        headers={"Accept": "application/json", "User-Agent": f"dncsync/{dncsync.__version__}"},
    )
