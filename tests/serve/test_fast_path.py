"""`POST /v1/optouts` is served without the framework in front of it (`serve.fast`): every
answer a caller can get must be the one the framework route gives, byte for byte where the
answer holds no fresh id or time."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from starlette.types import ASGIApp

from dncsync.policy import DEFAULT_POLICY
from dncsync.serve.app import ApiSettings, build_app, build_asgi
from dncsync.serve.metrics import ServeMetrics
from dncsync.serve.process import Serving
from dncsync.state.intake import IntakeStore

KEY = "fast-path-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
ZONE = ZoneInfo("America/New_York")

# (headers, body bytes): what callers send, good and bad.
CASES: list[tuple[dict[str, str], bytes]] = [
    (AUTH, b'{"phone": "(415) 555-2671", "source": "ivr"}'),
    (AUTH, b'{"phone": "+1 212 555 0143", "reason": "litigator", "scope": "brand-a"}'),
    (AUTH, b'{"phone": "12"}'),
    (AUTH, b'{"phone": 4155552671}'),
    (AUTH, b"{}"),
    (AUTH, b"[]"),
    (AUTH, b"not json"),
    (AUTH, b"\xff\xfe"),
    (AUTH, b'{"optouts": [{"phone": "4155550100"}, {"phone": "nope"}]}'),
    (AUTH, b'{"optouts": [{"phone": "nope"}, {"phone": "12"}]}'),
    (AUTH, b'{"optouts": []}'),
    (AUTH, b'{"optouts": "4155550100"}'),
    ({}, b'{"phone": "4155552671"}'),
    ({"Authorization": "Bearer wrong"}, b'{"phone": "4155552671"}'),
    ({"Authorization": f"Basic {KEY}"}, b'{"phone": "4155552671"}'),
    ({**AUTH, "Idempotency-Key": ""}, b'{"phone": "4155552671"}'),
    ({**AUTH, "Idempotency-Key": "k" * 201}, b'{"phone": "4155552671"}'),
]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[IntakeStore]:
    intake = IntakeStore(tmp_path / "intake.db", {"a": None, "b": ["brand-a"]})
    intake.start()
    try:
        yield intake
    finally:
        intake.close()


def _apps(intake: IntakeStore) -> tuple[ASGIApp, ASGIApp]:
    """The framework's app alone, and what serve runs: the fast path in front of it."""
    settings = ApiSettings((KEY.encode(),), ZONE, "US", DEFAULT_POLICY, 1 << 20, 10_000.0)
    made = []
    for build in (build_app, build_asgi):
        serving = Serving(intake, ZONE)
        metrics = ServeMetrics(lambda s=serving: intake.stats(s.today()), serving.today)
        made.append(build(settings, intake, serving, metrics))
    return made[0], made[1]


def _comparable(answer: httpx.Response) -> tuple[int, str, str | None, str | None, Any]:
    body: Any = answer.content
    if answer.status_code == 202:  # fresh ids and times: compare what is not fresh
        document = json.loads(answer.content)
        answers = document.get("accepted", [document])
        body = (
            [{k: v for k, v in a.items() if k not in ("id", "received_at")} for a in answers],
            document.get("rejected"),
        )
    return (
        answer.status_code,
        answer.headers["content-type"],
        answer.headers.get("www-authenticate"),
        answer.headers.get("retry-after"),
        body,
    )


async def _post(app: ASGIApp, headers: dict[str, str], body: bytes) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://serve") as client:
        return await client.post("/v1/optouts", content=body, headers=headers)


@pytest.mark.parametrize(("headers", "body"), CASES)
def test_the_fast_path_answers_as_the_framework_route_does(
    store: IntakeStore, headers: dict[str, str], body: bytes
) -> None:
    framework, fast = _apps(store)
    slow_answer = asyncio.run(_post(framework, headers, body))
    fast_answer = asyncio.run(_post(fast, headers, body))
    assert _comparable(fast_answer) == _comparable(slow_answer)
    assert int(fast_answer.headers["content-length"]) == len(fast_answer.content)


def test_idempotency_replays_and_conflicts_alike_on_both_paths(store: IntakeStore) -> None:
    framework, fast = _apps(store)
    first = asyncio.run(_post(fast, {**AUTH, "Idempotency-Key": "k-1"}, b'{"phone": "4155550177"}'))
    assert first.status_code == 202
    for app in (framework, fast):
        again = asyncio.run(
            _post(app, {**AUTH, "Idempotency-Key": "k-1"}, b'{"phone": "4155550177"}')
        )
        assert (again.status_code, again.content) == (202, first.content)
        other = asyncio.run(
            _post(app, {**AUTH, "Idempotency-Key": "k-1"}, b'{"phone": "4155550178"}')
        )
        assert other.status_code == 409
        assert other.json()["error"] == "idempotency_conflict"


def test_every_accepted_request_is_stored_once_with_a_delivery_per_target(
    store: IntakeStore,
) -> None:
    _, fast = _apps(store)
    ids = []
    for index in range(20):
        answer = asyncio.run(
            _post(fast, AUTH, json.dumps({"phone": f"41555501{index:02d}"}).encode())
        )
        assert answer.status_code == 202
        ids.append(answer.json()["id"])
    for request_id in ids:
        found = store.request(request_id)
        assert found is not None
        assert {name: t["status"] for name, t in found["targets"].items()} == {
            "a": "pending",
            "b": "skipped",  # scope "" is not brand-a
        }


def test_other_methods_and_paths_reach_the_framework(store: IntakeStore) -> None:
    _, fast = _apps(store)

    async def ask() -> tuple[int, int, int]:
        transport = httpx.ASGITransport(app=fast)
        async with httpx.AsyncClient(transport=transport, base_url="http://serve") as client:
            put = await client.put("/v1/optouts", headers=AUTH, content=b"{}")
            slash = await client.post("/v1/optouts/", headers=AUTH, content=b"{}")
            health = await client.get("/healthz")
        return put.status_code, slash.status_code, health.status_code

    put, slash, health = asyncio.run(ask())
    assert put == 405
    assert slash in (307, 404, 405)  # the framework's answer, never taken as an opt-out
    assert health == 200
