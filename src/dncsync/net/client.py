"""The one `httpx.AsyncClient` a target talks through, built with safe defaults.

TLS: every https URL is verified, loopback included, against the CA bundle `SSL_CERT_FILE`
(or `SSL_CERT_DIR`) names, else certifi's. Plain http is allowed only to a loopback address
(the emulator on this machine): anywhere else the client secret, tokens and phone numbers
would cross the network in clear, so `insecure_url` says why such a URL is refused. A
certificate that does not verify is a configuration problem (`certificate_refused`): no
retry can fix it. Proxies come from the environment (`HTTPS_PROXY`, `NO_PROXY`) through
httpx's `trust_env`; a loopback client ignores them, since a proxy cannot reach this
machine's loopback interface.
"""

from __future__ import annotations

import ipaddress
import os
import ssl
from collections.abc import Sequence

import httpx

import dncsync
from dncsync.errors import ConfigError

_CONNECT_TIMEOUT_SECONDS = 10.0
_CA_VARIABLES = ("SSL_CERT_FILE", "SSL_CERT_DIR")
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


def insecure_url(url: str) -> str | None:
    """Why dncsync refuses to send credentials and numbers to `url`; None when it may.

    https anywhere; http only to a loopback address.
    """
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        return f"{url!r} is not a URL (use https://host[:port])"
    if parsed.scheme not in ("https", "http") or not parsed.host:
        return f"{url!r} is not an https:// URL"
    if parsed.scheme == "http" and not is_loopback(url):
        shown = "http://" + parsed.netloc.decode("ascii", "replace")  # never a user:password
        return (
            f"https is required for {shown}: over http the client secret, tokens and phone "
            "numbers would cross the network in clear (http is allowed only to a loopback "
            "address, such as the emulator: localhost, 127.0.0.1, [::1])"
        )
    return None


def tls_context() -> ssl.SSLContext:
    """A verifying TLS context: the CAs `SSL_CERT_FILE` or `SSL_CERT_DIR` name, else certifi's."""
    try:
        return httpx.create_ssl_context(verify=True, trust_env=True)
    except (OSError, ssl.SSLError) as error:
        named = ", ".join(f"{n}={os.environ[n]}" for n in _CA_VARIABLES if os.environ.get(n))
        reason = getattr(error, "strerror", None) or str(error)
        raise ConfigError(
            f"cannot load the CA certificates {named or 'of certifi'} ({reason}); point "
            "SSL_CERT_FILE at a PEM file of CA certificates"
        ) from None


def certificate_refused(error: BaseException, url: httpx.URL, target: str) -> ConfigError | None:
    """The ConfigError for a TLS certificate that did not verify; None for other failures.

    Every attempt would fail alike, so it is not retried.
    """
    cause: BaseException | None = error
    seen = 0
    while cause is not None and seen < 10:  # the ssl error sits below httpx's and httpcore's
        if isinstance(cause, ssl.SSLCertVerificationError):
            host = url.netloc.decode("ascii", "replace")
            reason = cause.verify_message or cause.reason or str(cause)
            return ConfigError(
                f"{target}: the TLS certificate of {host} could not be verified ({reason}); "
                "if a private CA signs it, point SSL_CERT_FILE at that CA's certificate (PEM)"
            )
        cause = cause.__cause__ or cause.__context__
        seen += 1
    return None


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
    """A client for the given hosts: verified TLS, env proxies (unless all loopback) and CAs."""
    loopback = bool(base_urls) and all(is_loopback(url) for url in base_urls)
    connections = concurrency + 2  # the requests in flight plus a token or discovery request
    connect = min(timeout_seconds, _CONNECT_TIMEOUT_SECONDS)
    return httpx.AsyncClient(
        verify=tls_context(),
        trust_env=not loopback,
        timeout=httpx.Timeout(timeout_seconds, connect=connect),
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        headers={"Accept": "application/json", "User-Agent": f"dncsync/{dncsync.__version__}"},
    )
