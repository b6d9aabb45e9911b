"""One logical call: retried through faults within the budget, never for a plain 4xx."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import httpx
import pytest
import stamina
from structlog.testing import capture_logs

from dncsync.net.api import ApiClient
from dncsync.net.pacing import Pacer
from dncsync.net.retry import Outcome, RetryPolicy
from dncsync.platforms.genesys.auth import GenesysAuth

from .fakes import ManualClock, ScriptedPlatform

pytestmark = pytest.mark.anyio

URL = "https://api.example.test/api/v2/outbound/dnclists/abc/phonenumbers"
NO_WAIT = RetryPolicy(initial_seconds=0, max_seconds=0)


def api_for(client: httpx.AsyncClient, policy: RetryPolicy = NO_WAIT) -> ApiClient:
    auth = GenesysAuth(
        token_url="https://login.example.test/oauth/token",
        client_id="id",
        client_secret="secret",
        target="genesys-main",
        clock=ManualClock(),
    )
    return ApiClient(
        client, auth=auth, target="genesys-main", pacer=Pacer(60_000), policy=policy, concurrency=4
    )


Answer = httpx.Response | Exception | None


def scripted(*answers: Answer) -> Iterator[Answer]:
    return itertools.chain(answers, itertools.repeat(None))


async def test_faults_are_retried_until_the_call_succeeds(platform: ScriptedPlatform) -> None:
    faults = scripted(
        httpx.Response(503),
        httpx.ReadError("connection cut"),
        httpx.Response(502),
        httpx.RemoteProtocolError("server disconnected"),
        httpx.ReadTimeout("slow"),
        httpx.ConnectError("refused"),
        httpx.Response(500),
        httpx.Response(504),
    )
    platform.script = lambda request: next(faults)
    async with platform.client() as client:
        exchange = await api_for(client).call("PATCH", URL, json={"action": "Add"})
    assert exchange.status == 200
    assert exchange.attempts == 9
    assert exchange.outcome is Outcome.SUCCESS


@pytest.mark.parametrize("status", [400, 403, 404, 409, 413, 422])
async def test_other_4xx_fail_at_once(platform: ScriptedPlatform, status: int) -> None:
    platform.script = lambda request: httpx.Response(status, json={"code": "bad.request"})
    async with platform.client() as client:
        exchange = await api_for(client).call("PATCH", URL, json={})
    assert (exchange.status, exchange.attempts) == (status, 1)


async def test_the_budget_ends_retries_with_the_last_answer(platform: ScriptedPlatform) -> None:
    platform.script = lambda request: httpx.Response(503)
    async with platform.client() as client:
        with stamina.set_testing(True, attempts=4):
            exchange = await api_for(client).call("PATCH", URL, json={})
    assert (exchange.status, exchange.attempts) == (503, 4)
    assert exchange.outcome is Outcome.RETRIABLE


async def test_a_time_budget_bounds_a_dead_network(platform: ScriptedPlatform) -> None:
    platform.script = lambda request: httpx.ConnectError("unreachable")
    # A budget many times the wait, so a slow first attempt (a cold machine) still leaves
    # room for retries; the bound is the budget plus one attempt.
    policy = RetryPolicy(budget_seconds=1.5, initial_seconds=0.02, max_seconds=0.02)
    async with platform.client() as client:
        exchange = await api_for(client, policy).call("GET", URL)
    assert exchange.response is None
    assert exchange.network_error == "ConnectError"
    assert exchange.attempts > 2
    assert exchange.duration_seconds < 3.0


async def test_a_429_waits_retry_after_and_is_counted(platform: ScriptedPlatform) -> None:
    limited = httpx.Response(
        429, headers={"Retry-After": "1"}, json={"code": "too.many.requests.retry.after"}
    )
    faults = scripted(limited)
    platform.script = lambda request: next(faults)
    async with platform.client() as client:
        with stamina.set_testing(True, attempts=5), capture_logs() as logs:
            exchange = await api_for(client).call("PATCH", URL, json={})
    assert exchange.status == 200
    assert exchange.rate_limited == 1
    [retry] = [e for e in logs if e["event"] == "net.retry"]
    assert (retry["status"], retry["wait_seconds"]) == (429, 1.0)
    # The pause holds every request of the target, not just the one that met the 429.
    assert [e["pause_seconds"] for e in logs if e["event"] == "net.rate_limited"] == [1.0]
    assert exchange.rate_limit_wait_seconds >= 1.0


async def test_correlation_ids_are_kept(platform: ScriptedPlatform) -> None:
    ids = itertools.count()
    platform.script = lambda request: httpx.Response(
        503 if len(platform.api_requests) == 1 else 204,
        headers={"ININ-Correlation-Id": f"corr-{next(ids)}"},
    )
    async with platform.client() as client:
        exchange = await api_for(client).call("PATCH", URL, json={})
    assert exchange.correlation_ids == ["corr-0", "corr-1"]


async def test_logs_never_carry_tokens_or_secrets(platform: ScriptedPlatform) -> None:
    faults = scripted(httpx.Response(503))
    platform.script = lambda request: next(faults)
    async with platform.client() as client:
        with capture_logs() as logs:
            await api_for(client).call("PATCH", URL, json={"phoneNumbers": ["+14155552671"]})
    text = repr(logs)
    assert {"net.token_fetched", "net.retry"} <= {e["event"] for e in logs}
    assert "token-0" not in text
    assert "secret" not in text
    assert "4155552671" not in text
