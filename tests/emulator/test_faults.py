"""Injected faults: each kind strikes as configured, reproducibly from the seed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from dncsync.emulator import (
    DEFAULT_ACCESS_KEY_ID,
    DEFAULT_ACCESS_KEY_SECRET,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    EmulatorSettings,
    FaultSettings,
    RunningEmulator,
    create_app,
    run_in_thread,
)
from dncsync.emulator.faults import FaultKind, decide, request_key

NUMBERS = "/api/v2/outbound/dnclists/*/phonenumbers"


@contextmanager
def serving(
    faults: FaultSettings, seed: int = 0
) -> Iterator[tuple[RunningEmulator, httpx.Client, str]]:
    """An emulator with these faults, a client holding a Genesys token, and one rds list."""
    with run_in_thread(EmulatorSettings(faults=faults, seed=seed)) as emulator:
        list_id = emulator.state.genesys_create_list("Compliance")
        with httpx.Client(base_url=emulator.base_url, timeout=10) as client:
            token = client.post(
                "/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET),
            )
            assert token.status_code == 200
            client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
            yield emulator, client, list_id


def add(client: httpx.Client, list_id: str, *numbers: str) -> httpx.Response:
    return client.patch(
        f"/api/v2/outbound/dnclists/{list_id}/phonenumbers",
        json={"action": "Add", "phoneNumbers": list(numbers)},
    )


def test_error_faults_answer_5xx_in_the_platform_error_shape() -> None:
    with serving(FaultSettings(error_rate=1.0, paths=(NUMBERS,))) as (emulator, client, list_id):
        answers = [add(client, list_id, f"+1415555{n:04d}") for n in range(12)]
        assert {answer.status_code for answer in answers} == {500, 502, 503}
        assert all(answer.json()["status"] == answer.status_code for answer in answers)
        assert emulator.state.genesys_numbers(list_id) == {}  # nothing was applied
        log = [entry for entry in emulator.state.requests() if entry.method == "PATCH"]
        assert [entry.fault for entry in log] == [f"error_{a.status_code}" for a in answers]
        assert all(entry.numbers == 1 for entry in log)


def test_cut_faults_drop_the_connection_without_an_answer() -> None:
    with serving(FaultSettings(cut_rate=1.0, paths=(NUMBERS,))) as (emulator, client, list_id):
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            add(client, list_id, "+14155550001")
        # The server is fine: the next request (on a new connection) is answered.
        assert client.get(f"/api/v2/outbound/dnclists/{list_id}").status_code == 200
        cut = emulator.state.requests()[-2]
        assert (cut.method, cut.status, cut.fault) == ("PATCH", 0, "cut")
        assert emulator.state.genesys_numbers(list_id) == {}


def test_delay_faults_answer_late_but_normally() -> None:
    faults = FaultSettings(delay_rate=1.0, delay_ms=150, paths=(NUMBERS,))
    with serving(faults) as (emulator, client, list_id):
        started = time.monotonic()
        assert add(client, list_id, "+14155550001").status_code == 204
        assert time.monotonic() - started >= 0.15
        assert emulator.state.requests()[-1].fault == "delay_150ms"


def test_storms_answer_429_for_consecutive_attempts_then_pass() -> None:
    faults = FaultSettings(storm_rate=1.0, storm_length=2, paths=(NUMBERS,))
    with serving(faults) as (emulator, client, list_id):
        statuses = [add(client, list_id, "+14155550001") for _ in range(3)]
        assert [answer.status_code for answer in statuses] == [429, 429, 204]
        assert statuses[0].headers["Retry-After"] == "1"
        assert statuses[0].json()["code"] == "too.many.requests.retry.after"
        assert [entry.attempt for entry in emulator.state.requests()[-3:]] == [1, 2, 3]


def test_after_write_faults_apply_the_write_then_fail() -> None:
    faults = FaultSettings(after_write_rate=1.0, paths=(NUMBERS,))
    with serving(faults) as (emulator, client, list_id):
        numbers = [f"+1415555{n:04d}" for n in range(10)]
        seen: set[str] = set()
        for number in numbers:
            try:
                seen.add(f"status {add(client, list_id, number).status_code}")
            except (httpx.RemoteProtocolError, httpx.ReadError):
                seen.add("cut")
        assert "cut" in seen
        assert seen - {"cut"} <= {"status 500", "status 502", "status 503"}
        assert len(seen) > 1
        # The client saw only failures, yet the platform holds every number.
        assert set(emulator.state.genesys_numbers(list_id)) == set(numbers)
        labels = {entry.fault for entry in emulator.state.requests() if entry.method == "PATCH"}
        assert "after_write_cut" in labels
        assert any(label and label.startswith("after_write_error_5") for label in labels)


def test_after_write_faults_pass_refusals_through_untouched() -> None:
    faults = FaultSettings(after_write_rate=1.0, paths=(NUMBERS,))
    with serving(faults) as (emulator, client, list_id):
        refused = client.patch(
            f"/api/v2/outbound/dnclists/{list_id}/phonenumbers",
            json={"action": "Add", "phoneNumbers": ["+14155550001"], "expirationDateTime": "x"},
        )
        assert refused.json()["code"] == "invalid.date"
        assert emulator.state.requests()[-1].fault is None


def test_exempt_paths_are_never_faulted() -> None:
    faults = FaultSettings(error_rate=1.0, exempt_paths=("/oauth/token",))
    with serving(faults) as (_, client, list_id):  # the token call inside succeeded
        assert client.get(f"/api/v2/outbound/dnclists/{list_id}").status_code >= 500


def test_cxone_faults_use_the_same_machinery() -> None:
    faults = FaultSettings(storm_rate=1.0, storm_length=1, paths=("/inContactAPI/*",))
    settings = EmulatorSettings(faults=faults, cxone_retry_after_header=False)
    with run_in_thread(settings) as emulator, httpx.Client(base_url=emulator.base_url) as http:
        token = http.post(
            "/auth/token",
            data={
                "grant_type": "password",
                "username": DEFAULT_ACCESS_KEY_ID,
                "password": DEFAULT_ACCESS_KEY_SECRET,
            },
            auth=(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET),
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        first = http.get("/inContactAPI/services/v31.0/dnc-groups", headers=headers)
        assert first.status_code == 429
        assert "Retry-After" not in first.headers
        assert (
            http.get("/inContactAPI/services/v31.0/dnc-groups", headers=headers).status_code == 200
        )


def fates(seed: int) -> list[str]:
    """The statuses a fixed sequence of requests meets (cuts shown as 'cut')."""
    faults = FaultSettings.uniform(0.5, ("error", "cut", "storm"), paths=(NUMBERS,))
    shown: list[str] = []
    with serving(faults, seed=seed) as (_, client, list_id):
        for n in range(16):
            try:
                shown.append(str(add(client, list_id, f"+1415555{n % 8:04d}").status_code))
            except (httpx.RemoteProtocolError, httpx.ReadError):
                shown.append("cut")
    return shown


def test_the_same_seed_replays_the_same_faults() -> None:
    first = fates(seed=42)
    assert first == fates(seed=42)
    assert len(set(first)) > 2
    assert first != fates(seed=43)


def test_fates_do_not_depend_on_arrival_order() -> None:
    faults = FaultSettings.uniform(0.6)
    keys = [request_key("PATCH", "/api/v2/x", "", str(n)) for n in range(50)]

    def fate(key: str, attempt: int) -> FaultKind | None:
        found = decide(faults, 7, key, "PATCH", "/api/v2/x", attempt)
        return found.kind if found else None

    forward = {(key, a): fate(key, a) for key in keys for a in (1, 2)}
    backward = {(key, a): fate(key, a) for key in reversed(keys) for a in (2, 1)}
    assert forward == backward
    assert len(set(forward.values())) == len(FaultKind) + 1  # every kind, and no fault


def test_in_process_cuts_raise_the_error_a_client_would_get() -> None:
    app = create_app(EmulatorSettings(faults=FaultSettings(cut_rate=1.0)))

    async def call() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as client:
            await client.post("/oauth/token", data={"grant_type": "client_credentials"})

    with pytest.raises(httpx.ReadError):
        asyncio.run(call())


def test_latency_is_added_to_every_platform_request() -> None:
    with run_in_thread(EmulatorSettings(latency_ms=100)) as emulator:
        started = time.monotonic()
        answer = httpx.post(f"{emulator.base_url}/oauth/token", data={"grant_type": "x"})
        assert answer.status_code == 400
        assert time.monotonic() - started >= 0.1
