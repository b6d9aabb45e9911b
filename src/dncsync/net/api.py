"""One logical call to a platform: paced, bounded in concurrency, retried within a budget.

`ApiClient.call` sends a request through the target's OAuth flow and returns an `Exchange`:
the final answer (or the network error that outlasted the budget) and what it cost (attempts,
429s met, seconds waited on rate limits, correlation ids). It never raises for an HTTP status:
the target decides what a status means for its batch (`net.retry.classify`).

Retries use stamina: the wait before each retry is computed purely (`net.retry.retry_delay`:
`Retry-After` for a 429, else full-jitter exponential backoff) and handed to stamina through its
backoff hook, so stamina's loop is the one place that sleeps between attempts, and
`stamina.set_testing()` switches the waiting off in tests.

Every attempt has a deadline (`RetryPolicy.request_timeout_seconds`) over the whole exchange:
connecting, sending, any token request it needs, and reading the whole answer, however slowly
the answer trickles in (httpx's own timeouts count per read). No retry starts that the budget
(`RetryPolicy.budget_seconds`) would not cover, so a call ends within about one budget plus one
timeout. Answers are read within a cap (`net.body`): 16 MiB, or what the caller allows for a
body streamed to a file; a larger one is refused unread (`Exchange.refused`). While a call
waits to try again, it says so on the process's board of waits (`net.waiting`).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any

import httpx
import stamina

from dncsync import logs
from dncsync.errors import ConfigError, PlatformUnavailable, PlatformUnreachable
from dncsync.net.auth import OAuthFlow
from dncsync.net.body import MAX_BODY_BYTES, AnswerTooLarge, read_capped, read_into, with_body
from dncsync.net.client import certificate_refused, proxy_hint
from dncsync.net.pacing import Pacer
from dncsync.net.retry import (
    Outcome,
    RetryPolicy,
    classify,
    parse_retry_after,
    retry_delay,
)
from dncsync.net.waiting import WAITS, Wait
from dncsync.privacy import mask_text, redact_text

_log = logs.logger()

# dncsync logs each retry itself (`net.retry`, with the target, path and status); stamina's
# default hook would add a second, less informative warning for the same retry. Only this
# module uses stamina.
stamina.instrumentation.set_on_retry_hooks([])

# Network failures worth another attempt: the request may or may not have reached the platform,
# and every write dncsync sends is idempotent.
RETRIABLE_ERRORS: tuple[type[Exception], ...] = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
    httpx.ProxyError,
)

CORRELATION_HEADER = "ININ-Correlation-Id"


def utc_now() -> datetime:
    """The wall clock, in UTC (what `Retry-After` dates are read against)."""
    return datetime.now(UTC)


@dataclass(slots=True)
class Exchange:
    """The outcome of one logical call after retries, and what it cost."""

    method: str
    path: str
    response: httpx.Response | None = None
    network_error: str | None = None  # the exception's class name when no answer came
    attempts: int = 0
    rate_limited: int = 0  # 429 answers met
    rate_limit_wait_seconds: float = 0.0  # pacing waits plus Retry-After waits
    duration_seconds: float = 0.0
    correlation_ids: list[str] = field(default_factory=list)
    host: str = ""  # the host (and port) the last attempt was waiting on
    network_detail: str | None = None  # what the network error said, for messages
    refused: str | None = None  # an answer dncsync would not read (too large), and why
    refused_limit: int | None = None  # the cap it passed, in bytes
    waiting_since: float | None = None  # monotonic: when the call first had to try again
    status_of_token: int | None = None  # the token endpoint's failing status, when it failed

    @property
    def status(self) -> int | None:
        """The final HTTP status, None when the network failed on the last attempt."""
        return None if self.response is None else self.response.status_code

    @property
    def outcome(self) -> Outcome:
        """How the final answer is handled (a network failure that outlasted retries is one)."""
        if self.refused is not None:
            return Outcome.SKIPPABLE
        if self.response is None:
            return Outcome.RETRIABLE
        return classify(self.response.status_code)

    @property
    def unanswered(self) -> bool:
        """No answer at all came for the whole retry budget (refused, dropped or stalled
        connections, or a token endpoint that never gave a token)."""
        return self.response is None and self.refused is None and self.network_error is not None


def unreachable(
    exchange: Exchange, target: str, keys: str, budget_seconds: float
) -> PlatformUnreachable:
    """The error that stops a target whose call got no answer for its whole retry budget:
    the host, what the network said, and the keys to check."""
    host = exchange.host or "the platform"
    # A token endpoint that only fails (5xx, 429) leaves every request without a token.
    what = "no token" if exchange.status_of_token is not None else "no answer"
    detail = redact_text(mask_text(exchange.network_detail or str(exchange.network_error)))
    attempts = f"{exchange.attempts} attempt{'s' if exchange.attempts != 1 else ''}"
    return PlatformUnreachable(
        f"{target}: {what} from {host} ({detail}) in {attempts} over "
        f"{exchange.duration_seconds:.0f} s (retry_budget_seconds = {budget_seconds:g}); "
        f"nothing more is sent to this target. Check the target's {keys}, that {host} is "
        f"reachable from this machine, and {proxy_hint(host)}"
    )


class _Retry(Exception):
    """An attempt that should be tried again after `delay` seconds."""

    def __init__(self, delay: float) -> None:
        super().__init__(f"retry in {delay:.3f}s")
        self.delay = delay


class _GiveUp(Exception):
    """The next attempt would start after the retry budget ends: the call ends now."""


def _backoff_hook(error: Exception) -> bool | float:
    return error.delay if isinstance(error, _Retry) else False


class ApiClient:
    """Sends one target's requests: OAuth, pacing, a concurrency bound, retries."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        auth: httpx.Auth | None,
        target: str,
        pacer: Pacer,
        policy: RetryPolicy,
        concurrency: int,
        now: Callable[[], datetime] = utc_now,
        rng: random.Random | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.client = client
        self.auth = auth
        self.target = target
        self.pacer = pacer
        self.policy = policy
        self._slots = asyncio.Semaphore(concurrency)
        self._now = now
        self._rng = rng or random.Random()
        # 429 answers with and without a usable `Retry-After`: evidence of the platform's variant.
        self.timed_429s = 0
        self.bare_429s = 0

    async def call(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        params: Mapping[str, str | int] | None = None,
        authenticated: bool = True,
        follow_redirects: bool = False,
        sink: IO[bytes] | None = None,
        accept: str = "application/json",
        sink_max_bytes: int = MAX_BODY_BYTES,
    ) -> Exchange:
        """Send a request until it succeeds, fails for good, or the retry budget is spent.

        With `sink`, a successful answer's body is streamed into that file (rewritten on each
        attempt) instead of being kept in memory, up to `sink_max_bytes`; any other body is
        read up to `MAX_BODY_BYTES`. A larger body is refused unread (`Exchange.refused`) and
        not asked for again. `Accept` is set on every request, whatever client was injected:
        CXone refuses to answer a request without it.
        """
        exchange = Exchange(method, httpx.URL(url).path)
        waits = WAITS.key()
        # The slot is held across retries, so the budget counts from when the call starts
        # being sent, not from when it was queued behind other calls.
        async with self._slots:
            started = time.monotonic()
            try:
                async for attempt in stamina.retry_context(
                    on=_backoff_hook,
                    attempts=self.policy.max_attempts,
                    timeout=self.policy.budget_seconds,
                ):
                    with attempt:
                        await self._attempt(
                            exchange,
                            self.client.build_request(
                                method, url, json=json, params=params, headers={"Accept": accept}
                            ),
                            authenticated=authenticated,
                            follow_redirects=follow_redirects,
                            sink=sink,
                            sink_max_bytes=sink_max_bytes,
                            started=started,
                            waits=waits,
                        )
            except (_Retry, _GiveUp):
                pass  # the budget is spent: the exchange holds the last answer or error
            finally:
                WAITS.clear(waits)
                exchange.duration_seconds = time.monotonic() - started
        return exchange

    async def _attempt(
        self,
        exchange: Exchange,
        request: httpx.Request,
        *,
        authenticated: bool,
        follow_redirects: bool,
        sink: IO[bytes] | None,
        sink_max_bytes: int,
        started: float,
        waits: int,
    ) -> None:
        if exchange.attempts and self._paused_past(started):
            raise _GiveUp  # a 429's pause outlasts the budget: the last answer stands
        exchange.attempts += 1
        exchange.response, exchange.network_error, exchange.network_detail = None, None, None
        exchange.status_of_token = None
        exchange.host = _host(request.url)
        status: int | None = None
        headers: Mapping[str, str] = {}
        retry_after: str | None = None
        exchange.rate_limit_wait_seconds += await self.pacer.acquire()
        if exchange.waiting_since is None:  # a first attempt: on the board once it is slow
            WAITS.note(
                waits,
                Wait(
                    target=self.target,
                    host=exchange.host,
                    reason="waiting for an answer",
                    since=time.monotonic(),
                    retrying=False,
                ),
            )
        try:
            async with asyncio.timeout(self.policy.request_timeout_seconds):
                response = await self._send(
                    request, authenticated, follow_redirects, sink, sink_max_bytes
                )
        except TimeoutError:
            # The whole exchange outlasted its deadline (a stalled or trickling answer).
            exchange.network_error = "Timeout"
            exchange.network_detail = self._timeout_detail()
            exchange.host = self._stuck_host(request, authenticated)
        except RETRIABLE_ERRORS as error:
            if (refused := certificate_refused(error, request.url, self.target)) is not None:
                raise refused from None  # no retry can make a certificate verify
            exchange.network_error = type(error).__name__
            exchange.network_detail = _detail(error)
            exchange.host = self._stuck_host(request, authenticated, error)
        except PlatformUnavailable as error:  # the token endpoint: retried like any request
            status, retry_after = error.status, error.retry_after
            exchange.network_error = f"token endpoint HTTP {error.status}"
            exchange.network_detail = f"the token endpoint answered HTTP {error.status}"
            exchange.status_of_token = error.status
            exchange.host = self._stuck_host(request, authenticated)
        except AnswerTooLarge as error:
            # Not asked again: the same request would bring the same answer.
            exchange.refused, exchange.refused_limit = str(error), error.limit
            _log.warning(
                "net.answer_refused", target=self.target, path=exchange.path, why=str(error)
            )
            return
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as error:
            raise ConfigError(f"{self.target}: cannot reach {request.url}: {error}") from None
        else:
            exchange.response = response
            status, headers = response.status_code, response.headers
            retry_after = response.headers.get("Retry-After")
            if correlation := response.headers.get(CORRELATION_HEADER):
                exchange.correlation_ids.append(correlation)
        finally:
            asked = parse_retry_after(retry_after, self._now()) if status == 429 else None
            if status == 429 and exchange.status_of_token is None:
                if asked is None:
                    self.bare_429s += 1
                else:
                    self.timed_429s += 1
            self.pacer.release(status, headers, asked)
        if status is not None and classify(status) is not Outcome.RETRIABLE:
            return
        delay = retry_delay(
            exchange.attempts, status, retry_after, self.policy, self._rng, self._now()
        )
        now = time.monotonic()
        gives_up_at = started + self.policy.budget_seconds
        if now >= gives_up_at:
            raise _GiveUp  # the budget is spent
        # The last retry goes when the budget ends, not after it: a call ends within its
        # budget plus one attempt (itself within request_timeout_seconds).
        delay = min(delay, gives_up_at - now)
        if status == 429:
            exchange.rate_limited += 1
            exchange.rate_limit_wait_seconds += delay
        _log.info(
            "net.retry",
            target=self.target,
            method=request.method,
            path=exchange.path,
            status=status,
            error=exchange.network_error,
            attempt=exchange.attempts,
            wait_seconds=round(delay, 3),
        )
        if exchange.waiting_since is None:
            exchange.waiting_since = now
        WAITS.note(
            waits,
            Wait(
                target=self.target,
                host=exchange.host,
                reason=_waiting_reason(status, exchange),
                since=exchange.waiting_since,
                attempts=exchange.attempts,
                retry_at=now + delay,
                gives_up_at=gives_up_at,
            ),
        )
        raise _Retry(delay)

    async def _send(
        self,
        request: httpx.Request,
        authenticated: bool,
        follow_redirects: bool,
        sink: IO[bytes] | None,
        sink_max_bytes: int,
    ) -> httpx.Response:
        response = await self.client.send(
            request,
            auth=self.auth if authenticated and self.auth is not None else httpx.USE_CLIENT_DEFAULT,
            follow_redirects=follow_redirects,
            stream=True,
        )
        try:
            if sink is not None and response.is_success:
                await read_into(response, sink, sink_max_bytes)
                return with_body(response, b"")
            return with_body(response, await read_capped(response, MAX_BODY_BYTES))
        finally:
            await response.aclose()

    def _paused_past(self, started: float) -> bool:
        """Whether the target's pacing holds requests past this call's budget."""
        loop = asyncio.get_running_loop()
        remaining = started + self.policy.budget_seconds - time.monotonic()
        return self.pacer.wait_needed(loop.time()) > remaining

    def _stuck_host(
        self, request: httpx.Request, authenticated: bool, error: Exception | None = None
    ) -> str:
        """The host an attempt that got no answer was waiting on."""
        if isinstance(error, httpx.RequestError):
            try:
                return _host(error.request.url)
            except RuntimeError:  # an error raised without its request
                pass
        # The OAuth flow sets the request's token only once it has one: a request still
        # without one was waiting on the token endpoint.
        if (
            authenticated
            and isinstance(self.auth, OAuthFlow)
            and "Authorization" not in request.headers
        ):
            return self.auth.token_host
        return _host(request.url)

    def _timeout_detail(self) -> str:
        limit = self.policy.request_timeout_seconds
        if limit is None:  # a timeout of the system's own (socket.timeout is a TimeoutError)
            return "the connection timed out"
        return f"no complete answer within request_timeout_seconds = {limit:g} s"


def _host(url: httpx.URL) -> str:
    return url.netloc.decode("ascii", "replace")


def _detail(error: Exception) -> str:
    text = str(error).strip()
    name = type(error).__name__
    return f"{name}: {text}" if text else name


def _waiting_reason(status: int | None, exchange: Exchange) -> str:
    if status == 429:
        return "rate limited (HTTP 429)"
    if status is not None:
        return f"HTTP {status}"
    return f"no answer ({exchange.network_error})"
