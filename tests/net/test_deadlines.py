"""Every request has a deadline, every answer a size: stalls, trickles and giants are bounded.

A scripted platform (MockTransport) stands for the hostile one here, so these run in
milliseconds; `tests/hostile/` drives the same cases over real sockets.
"""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from dncsync.errors import ConfigError, PlatformUnreachable
from dncsync.net.api import ApiClient, unreachable
from dncsync.net.body import MAX_BODY_BYTES
from dncsync.net.pacing import Pacer
from dncsync.net.retry import Outcome, RetryPolicy
from dncsync.net.waiting import WAITS
from dncsync.platforms.genesys.auth import GenesysAuth

from .fakes import ManualClock, ScriptedPlatform

pytestmark = pytest.mark.anyio

URL = "https://api.example.test/api/v2/outbound/dnclists/abc"
TOKEN_URL = "https://login.example.test/oauth/token"
BOUNDED = RetryPolicy(
    budget_seconds=0.8, initial_seconds=0.05, max_seconds=0.05, request_timeout_seconds=0.15
)


def api_for(client: httpx.AsyncClient, policy: RetryPolicy = BOUNDED) -> ApiClient:
    auth = GenesysAuth(
        token_url=TOKEN_URL,
        client_id="id",
        client_secret="secret",
        target="genesys-main",
        clock=ManualClock(),
    )
    return ApiClient(
        client, auth=auth, target="genesys-main", pacer=Pacer(60_000), policy=policy, concurrency=4
    )


class Trickle(httpx.AsyncByteStream):
    """An answer that comes one byte at a time, for ever (until the client gives up)."""

    def __init__(self) -> None:
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            await asyncio.sleep(0.01)
            self.sent += 1
            yield b" "


class Giant(httpx.AsyncByteStream):
    """A body of `size` bytes, made as it is read; counts what was read."""

    def __init__(self, size: int, chunk: int = 1 << 20) -> None:
        self.size, self.chunk, self.sent = size, chunk, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        block = b"x" * self.chunk
        while self.sent < self.size:
            self.sent += self.chunk
            yield block


async def test_a_trickling_answer_is_cut_at_the_request_deadline(
    platform: ScriptedPlatform,
) -> None:
    streams: list[Trickle] = []

    def trickle(request: httpx.Request) -> httpx.Response:
        streams.append(Trickle())
        return httpx.Response(200, stream=streams[-1])

    platform.script = trickle
    started = time.monotonic()
    async with platform.client() as client:
        exchange = await api_for(client).call("GET", URL)
    elapsed = time.monotonic() - started
    assert exchange.unanswered
    assert exchange.network_error == "Timeout"
    assert "request_timeout_seconds = 0.15 s" in (exchange.network_detail or "")
    assert exchange.host == "api.example.test"
    # Budget plus one attempt, however long the answer would have gone on.
    assert elapsed < BOUNDED.budget_seconds + 0.15 + 2.0
    assert exchange.attempts >= 2


async def test_a_token_endpoint_that_never_answers_is_bounded_and_named() -> None:
    async def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            await asyncio.sleep(3600)  # accepts, never answers
        return httpx.Response(200, json={})

    started = time.monotonic()
    async with httpx.AsyncClient(transport=httpx.MockTransport(handle)) as client:
        exchange = await api_for(client).call("GET", URL)
    assert time.monotonic() - started < BOUNDED.budget_seconds + 0.15 + 2.0
    assert exchange.unanswered
    assert exchange.host == "login.example.test"  # the token endpoint, not the API host


async def test_the_token_request_carries_the_requests_timeouts() -> None:
    seen: list[object] = []

    async def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions.get("timeout"))
        if request.url.path.endswith("/token"):
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        return httpx.Response(200, json={})

    client = httpx.AsyncClient(transport=httpx.MockTransport(handle), timeout=7.0)
    async with client:
        await api_for(client).call("GET", URL)
    assert seen[0] == seen[1] == httpx.Timeout(7.0).as_dict()


@pytest.mark.parametrize("declared", [True, False])
async def test_a_giant_answer_is_refused_without_being_read(
    platform: ScriptedPlatform, declared: bool
) -> None:
    giant = Giant(1_500_000_000)
    headers = {"Content-Length": str(giant.size)} if declared else {}
    platform.script = lambda request: httpx.Response(200, headers=headers, stream=giant)
    async with platform.client() as client:
        exchange = await api_for(client).call("GET", URL)
    assert exchange.outcome is Outcome.SKIPPABLE
    assert exchange.response is None
    assert exchange.attempts == 1  # the same request would bring the same answer
    assert "16 MiB" in (exchange.refused or "")
    # Declared: not a byte read; streamed: read only up to the cap.
    assert giant.sent == 0 if declared else giant.sent <= MAX_BODY_BYTES + giant.chunk


async def test_a_body_streamed_to_a_file_has_the_callers_cap(platform: ScriptedPlatform) -> None:
    platform.script = lambda request: httpx.Response(200, stream=Giant(10_000, chunk=1000))
    sink = io.BytesIO()
    async with platform.client() as client:
        api = api_for(client)
        refused = await api.call("GET", URL, sink=sink, sink_max_bytes=5_000)
        taken = await api.call("GET", URL, sink=sink, sink_max_bytes=10_000)
    assert refused.refused is not None
    assert refused.refused_limit == 5_000
    assert taken.outcome is Outcome.SUCCESS
    assert sink.getvalue() == b"x" * 10_000


async def test_a_giant_token_answer_fails_the_target_as_misconfigured() -> None:
    async def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            return httpx.Response(200, stream=Giant(50_000_000, chunk=8192))
        return httpx.Response(200, json={})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handle)) as client:
        with pytest.raises(ConfigError, match=r"token endpoint .* answered more than 64 KiB"):
            await api_for(client).call("GET", URL)


async def test_a_call_waiting_to_retry_says_so_on_the_board(platform: ScriptedPlatform) -> None:
    seen: list[str] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        seen.extend(w.describe(time.monotonic()) for w in WAITS.current() if w.retrying)
        raise httpx.ConnectError("refused", request=request)

    platform.script = refuse
    async with platform.client() as client:
        exchange = await api_for(client).call("GET", URL)
    assert seen
    assert all(line.startswith("genesys-main: no answer (ConnectError)") for line in seen)
    assert "from api.example.test" in seen[-1]
    assert not [w for w in WAITS.current() if w.target == "genesys-main"]  # cleared at the end
    error = unreachable(exchange, "genesys-main", "region", BOUNDED.budget_seconds)
    assert isinstance(error, PlatformUnreachable)
    assert error.fatal
    assert error.exit_code == 4
    message = str(error)
    for part in ("genesys-main", "api.example.test", "ConnectError", "region", "HTTPS_PROXY"):
        assert part in message


async def test_a_token_endpoint_that_only_fails_stops_the_target_naming_it(
    platform: ScriptedPlatform,
) -> None:
    platform.token_status = iter(lambda: 503, None)
    async with platform.client() as client:
        exchange = await api_for(client).call("GET", URL)
    assert exchange.unanswered
    message = str(unreachable(exchange, "genesys-main", "region", BOUNDED.budget_seconds))
    assert message.startswith(
        "genesys-main: no token from login.example.test (the token endpoint answered HTTP 503)"
    )
    assert platform.api_requests == []
