"""OAuth as an `httpx.Auth` flow; each platform's folder says which grant it sends.

Shared behaviour: one cached token per target; refreshed when less than min(600 s, a tenth of
its lifetime) remains, measured on an injected monotonic clock; fetched under an asyncio.Lock so
that many concurrent requests needing a token cause one token request, not a stampede; a 401
from the API drops that token and retries the request once with a fresh one.

Why not authlib's `AsyncOAuth2Client`: it is a client subclass rather than an `httpx.Auth`
(targets take any `httpx.AsyncClient`, e.g. one over an ASGI transport), it reads `time.time()`
(no injected clock), its refresh margin is a fixed leeway rather than a fraction of the
lifetime, it does not retry a request refused with 401, and it has no fallback from a refused
refresh token to the password grant. The flow below is small and does exactly that.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import AsyncGenerator, Callable, Generator, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from dncsync import logs
from dncsync.errors import AuthError, ConfigError, PlatformUnavailable
from dncsync.net.body import SMALL_BODY_BYTES, AnswerTooLarge, cap_stream

Clock = Callable[[], float]

_log = logs.logger()

REFRESH_MARGIN_MAX_SECONDS = 600.0
REFRESH_MARGIN_FRACTION = 0.1
_DEFAULT_LIFETIME_SECONDS = 300.0  # when a token answer omits expires_in: assume a short life


@dataclass(frozen=True, slots=True)
class Token:
    """An access token and when (on the injected clock) it stops being usable."""

    access_token: str = field(repr=False)
    lifetime: float
    expires_at: float
    refresh_token: str | None = field(default=None, repr=False)

    def needs_refresh(self, now: float) -> bool:
        """True once less than min(600 s, a tenth of the lifetime) remains."""
        margin = min(REFRESH_MARGIN_MAX_SECONDS, self.lifetime * REFRESH_MARGIN_FRACTION)
        return self.expires_at - now < margin


class OAuthFlow(httpx.Auth):
    """A cached bearer token, refreshed before expiry, fetched once however many requests wait."""

    platform = "the platform"  # the platform's title, for messages

    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        target: str,
        credential_env: Sequence[str] = (),
        clock: Clock = time.monotonic,
    ) -> None:
        self.token_url = token_url
        self._basic = "Basic " + base64.b64encode(f"{client_id}:{client_secret}".encode()).decode(
            "ascii"
        )
        self.target = target
        self._credential_env = tuple(credential_env)
        self._clock = clock
        self._lock = asyncio.Lock()
        self._token: Token | None = None
        self.tokens_fetched = 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}(target={self.target!r}, token_url={self.token_url!r})"

    @property
    def token_host(self) -> str:
        """The token endpoint's host (and port), for messages."""
        return httpx.URL(self.token_url).netloc.decode("ascii", "replace")

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        """Not supported: dncsync's clients are asynchronous."""
        raise RuntimeError("OAuthFlow needs an httpx.AsyncClient")

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        """Attach a valid token; on a 401, fetch a fresh one and send the request once more."""
        stale: Token | None = None
        for _ in range(2):
            async with self._lock:
                token = self._token
                if token is None or token is stale or token.needs_refresh(self._clock()):
                    refresh = token.refresh_token if token is not None else None
                    while True:
                        started = self._clock()
                        answer = yield self._token_request(refresh, request)
                        await self._read_token_answer(answer)
                        token = self._accept(answer, started, refreshing=refresh is not None)
                        if token is not None:
                            break
                        refresh = None  # the refresh token was refused: sign in again
                    self._token = token
            request.headers["Authorization"] = f"Bearer {token.access_token}"
            response = yield request
            if response.status_code != 401:
                return
            # httpx reads this refusal itself before the request goes again: within a cap.
            cap_stream(response)
            stale = token
            _log.info("net.token_rejected", target=self.target)

    def _token_request(self, refresh_token: str | None, original: httpx.Request) -> httpx.Request:
        # httpx gives only the request it was asked to send its timeouts: the token request
        # takes the same ones, else it would wait for ever on a login host that never answers.
        return httpx.Request(
            "POST",
            self.token_url,
            data=self._grant(refresh_token),
            headers={"Authorization": self._basic, "Accept": "application/json"},
            extensions={"timeout": original.extensions["timeout"]}
            if "timeout" in original.extensions
            else None,
        )

    async def _read_token_answer(self, answer: httpx.Response) -> None:
        try:
            cap_stream(answer)
            await answer.aread()
        except AnswerTooLarge:
            raise ConfigError(
                f"{self.target}: the token endpoint {self.token_url} answered more than "
                f"{SMALL_BODY_BYTES // 1024} KiB, which no token answer is; check the target's "
                "region or base_url"
            ) from None

    def _grant(self, refresh_token: str | None) -> dict[str, str]:
        raise NotImplementedError

    def _accept(self, answer: httpx.Response, started: float, *, refreshing: bool) -> Token | None:
        status = answer.status_code
        if 200 <= status < 300:
            token = self._parse(answer, started)
            self.tokens_fetched += 1
            _log.info(
                "net.token_fetched",
                target=self.target,
                grant="refresh_token" if refreshing else self._grant(None)["grant_type"],
                lifetime_seconds=token.lifetime,
            )
            return token
        if refreshing and status in (400, 401):
            return None
        if status == 429 or status >= 500:  # any 5xx: a token endpoint that fails may recover
            raise PlatformUnavailable(
                f"{self.target}: the token endpoint {self.token_url} answered HTTP {status}",
                status=status,
                retry_after=answer.headers.get("Retry-After"),
            )
        if status == 404:
            raise ConfigError(
                f"{self.target}: the token endpoint {self.token_url} does not exist (HTTP 404); "
                "check the target's region or base_url"
            )
        code = _oauth_error_code(answer)
        raise AuthError(
            f"{self.target}: {self.platform} refused the credentials (HTTP {status} {code}) at "
            f"{self.token_url}; check {self._env_hint()}"
        )

    def _parse(self, answer: httpx.Response, started: float) -> Token:
        try:
            body: Any = answer.json()
            access_token = body["access_token"]
            lifetime = float(body.get("expires_in") or _DEFAULT_LIFETIME_SECONDS)
        except (ValueError, KeyError, TypeError, AttributeError):
            body, access_token = None, None
        if not isinstance(access_token, str) or not access_token:
            raise AuthError(
                f"{self.target}: {self.platform}'s token endpoint {self.token_url} answered "
                "without an access token"
            )
        refresh = body.get("refresh_token") if isinstance(body, dict) else None
        return Token(
            access_token=access_token,
            lifetime=lifetime,
            expires_at=started + lifetime,
            refresh_token=refresh if isinstance(refresh, str) and refresh else None,
        )

    def _env_hint(self) -> str:
        if not self._credential_env:
            return "the target's credentials"
        return "the environment variables " + ", ".join(self._credential_env)


def _oauth_error_code(answer: httpx.Response) -> str:
    try:
        body: Any = answer.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    for key in ("error", "code"):
        value = body.get(key)
        if isinstance(value, str) and value:
            return value
    return ""
