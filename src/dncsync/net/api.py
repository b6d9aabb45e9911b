"""One logical call to a platform: paced, bounded in concurrency, retried within a budget.

`ApiClient.call` sends a request through the target's OAuth flow and returns an `Exchange`:
the final answer (or the network error that outlasted the budget) and what it cost (attempts,
429s met, seconds waited on rate limits, correlation ids). It never raises for an HTTP status:
the target decides what a status means for its batch (`net.retry.classify`).

Retries use stamina: the wait before each retry is computed purely (`net.retry.retry_delay`:
`Retry-After` for a 429, else full-jitter exponential backoff) and handed to stamina through its
backoff hook, so stamina's loop is the one place that sleeps between attempts, and
`stamina.set_testing()` switches the waiting off in tests.
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
from dncsync.errors import ConfigError, PlatformUnavailable
from dncsync.net.client import certificate_refused
from dncsync.net.pacing import Pacer
from dncsync.net.retry import (
    Outcome,
    RetryPolicy,
    classify,
    parse_retry_after,
    retry_delay,
)

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

    @property
    def status(self) -> int | None:
        """The final HTTP status, None when the network failed on the last attempt."""
        return None if self.response is None else self.response.status_code

    @property
    def outcome(self) -> Outcome:
        """How the final answer is handled (a network failure that outlasted retries is one)."""
        if self.response is None:
            return Outcome.RETRIABLE
        return classify(self.response.status_code)


class _Retry(Exception):
    """An attempt that should be tried again after `delay` seconds."""

    def __init__(self, delay: float) -> None:
        super().__init__(f"retry in {delay:.3f}s")
        self.delay = delay


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
    ) -> Exchange:
        """Send a request until it succeeds, fails for good, or the retry budget is spent.

        With `sink`, the body is streamed into that file (rewritten on each attempt)
        instead of being kept in memory. `Accept` is set on every request, whatever client
        was injected: CXone refuses to answer a request without it.
        """
        exchange = Exchange(method, httpx.URL(url).path)
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
                        )
            except _Retry:
                pass  # the budget is spent: the exchange holds the last answer or error
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
    ) -> None:
        exchange.attempts += 1
        exchange.response, exchange.network_error = None, None
        status: int | None = None
        headers: Mapping[str, str] = {}
        retry_after: str | None = None
        exchange.rate_limit_wait_seconds += await self.pacer.acquire()
        try:
            response = await self._send(request, authenticated, follow_redirects, sink)
        except RETRIABLE_ERRORS as error:
            if (refused := certificate_refused(error, request.url, self.target)) is not None:
                raise refused from None  # no retry can make a certificate verify
            exchange.network_error = type(error).__name__
        except PlatformUnavailable as error:  # the token endpoint: retried like any request
            status, retry_after = error.status, error.retry_after
            exchange.network_error = f"token endpoint HTTP {error.status}"
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
            self.pacer.release(status, headers, asked)
        if status is not None and classify(status) is not Outcome.RETRIABLE:
            return
        delay = retry_delay(
            exchange.attempts, status, retry_after, self.policy, self._rng, self._now()
        )
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
        raise _Retry(delay)

    async def _send(
        self,
        request: httpx.Request,
        authenticated: bool,
        follow_redirects: bool,
        sink: IO[bytes] | None,
    ) -> httpx.Response:
        response = await self.client.send(
            request,
            auth=self.auth if authenticated and self.auth is not None else httpx.USE_CLIENT_DEFAULT,
            follow_redirects=follow_redirects,
            stream=sink is not None,
        )
        if sink is None:
            return response
        try:
            if response.is_success:
                sink.seek(0)
                sink.truncate()
                async for chunk in response.aiter_bytes():
                    sink.write(chunk)
                sink.flush()
            else:
                await response.aread()
        finally:
            await response.aclose()
        return response
