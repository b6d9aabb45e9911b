"""The Genesys Cloud target against the emulator, in-process."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from structlog.testing import capture_logs

from dncsync.emulator import (
    EmulatorApp,
    EmulatorSettings,
    FaultSettings,
    ManualClock,
    RateLimit,
    create_app,
)
from dncsync.errors import AuthError, ConfigError
from dncsync.plan import Batch
from dncsync.platforms.genesys import GenesysTarget, expiration_instant
from dncsync.targets import RemoteRecord, WriteBatch

from .support import asgi_client, genesys_settings, genesys_target

pytestmark = pytest.mark.anyio

TODAY = datetime.now(UTC).date()


def numbers(count: int, start: int = 0) -> tuple[str, ...]:
    return tuple(f"+1415555{n:04d}" for n in range(start, start + count))


def test_the_expiration_sent_is_the_instant_the_hold_ends() -> None:
    assert expiration_instant(date(2026, 3, 31)) == "2026-04-01T00:00Z"
    assert expiration_instant(date(2026, 12, 31)) == "2027-01-01T00:00Z"


def test_settings_pick_hosts_by_region_and_hide_the_secret() -> None:
    settings = genesys_settings(base_url=None, region="eu_west_1")
    assert settings.api_url == "https://api.mypurecloud.ie"
    assert settings.login_url == "https://login.mypurecloud.ie"
    assert genesys_settings(base_url=None).api_url == "https://api.mypurecloud.com"
    assert "dncsync-emulator-secret" not in repr(settings)
    with pytest.raises(ConfigError, match="region 'mars_1'"):
        genesys_settings(base_url=None, region="mars_1")


def test_a_batch_body_respects_the_byte_cap_contract(app: EmulatorApp) -> None:
    target = genesys_target(app, "list")
    batch = WriteBatch("add", numbers(3), date(2026, 3, 31))
    body = {
        "action": "Add",
        "phoneNumbers": list(numbers(3)),
        "expirationDateTime": "2026-04-01T00:00Z",
    }
    assert target.body_bytes(batch) == len(json.dumps(body, separators=(",", ":")))
    assert (target.max_body_bytes, target.max_expiry_days) == (512_000, 180)
    now = datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert target.accepts_expiry(date(2026, 6, 28), now)  # ends 06-29 00:00, within 180 days
    assert not target.accepts_expiry(date(2026, 6, 30), now)


async def test_add_and_remove_with_expiration(app: EmulatorApp) -> None:
    list_id = app.emulator.genesys_create_list("dnc")
    expires = TODAY + timedelta(days=30)
    async with genesys_target(app, list_id) as target:
        added = await target.push(WriteBatch("add", numbers(5), expires))
        forever = await target.push(WriteBatch("add", numbers(2, start=100), None))
        removed = await target.push(WriteBatch("remove", numbers(2), None))
    assert sorted(added.acknowledged) == sorted(numbers(5))
    assert (added.failed, added.status, added.requests) == ({}, 204, 1)
    assert len(added.correlation_ids) == 1
    assert forever.ok
    assert removed.ok
    assert sorted(removed.acknowledged) == sorted(numbers(2))
    held = app.emulator.genesys_numbers(list_id)
    instant = expiration_instant(expires)
    assert held == {
        **dict.fromkeys(numbers(3, start=2), instant),
        **dict.fromkeys(numbers(2, start=100)),
    }


async def test_a_413_splits_the_batch_until_it_fits() -> None:
    settings = EmulatorSettings(rate_limit=RateLimit(1_000_000, 60.0), max_body_bytes=2_000)
    app = create_app(settings)
    list_id = app.emulator.genesys_create_list("dnc")
    batch = numbers(300)  # ~4,800 bytes: two splits deep
    async with genesys_target(app, list_id) as target:
        with capture_logs() as logs:
            result = await target.push(WriteBatch("add", batch, None))
    assert sorted(result.acknowledged) == sorted(batch)
    assert result.failed == {}
    statuses = [r.status for r in app.emulator.requests() if r.method == "PATCH"]
    assert statuses.count(413) == 3  # 300 -> 150 + 150 -> 4 x 75
    assert statuses.count(204) == 4
    assert result.requests == 7
    assert len([e for e in logs if e["event"] == "dnc.batch_split"]) == 3
    assert set(app.emulator.genesys_numbers(list_id)) == set(batch)


async def test_a_refused_batch_fails_every_number_with_the_platform_code(
    app: EmulatorApp,
) -> None:
    list_id = app.emulator.genesys_create_list("dnc")
    async with genesys_target(app, list_id) as target:
        result = await target.push(WriteBatch("add", numbers(3), TODAY + timedelta(days=400)))
    assert result.acknowledged == []
    assert set(result.failed) == set(numbers(3))
    assert all(reason.startswith("invalid.date") for reason in result.failed.values())
    assert (result.status, result.attempts) == (400, 1)
    assert app.emulator.genesys_numbers(list_id) == {}


async def test_fatal_answers_stop_the_run_with_a_clear_error(app: EmulatorApp) -> None:
    batch = WriteBatch("add", numbers(1), None)
    async with genesys_target(app, "no-such-list") as target:
        with pytest.raises(ConfigError, match="dnc_list_id"):
            await target.push(batch)
    external = app.emulator.genesys_create_list("external", source_type="rds_custom")
    async with genesys_target(app, external) as target:
        with pytest.raises(ConfigError, match=r"dnc\.source\.operation\.not\.supported"):
            await target.push(batch)
    async with genesys_target(app, external, client_secret="wrong-secret-value") as target:
        with pytest.raises(AuthError) as refused:
            await target.push(batch)
    message = str(refused.value)
    assert "genesys-test" in message
    assert "GENESYS_CLIENT_SECRET" in message
    assert "wrong-secret-value" not in message


async def test_read_all_reads_the_export(app: EmulatorApp) -> None:
    expires = TODAY + timedelta(days=10)
    list_id = app.emulator.genesys_create_list(
        "dnc", numbers(3), expiration=expiration_instant(expires)
    )
    app.emulator.genesys_edit(list_id, add=numbers(1, start=50))  # no expiration
    app.emulator.genesys_edit(
        list_id, add=numbers(1, start=60), expiration=expiration_instant(TODAY - timedelta(days=2))
    )
    async with genesys_target(app, list_id) as target:
        records = await target.read_all()
        again = await target.read_all()  # a second export is told apart from the first
    assert sorted(records, key=lambda r: r.phone) == [
        *(RemoteRecord(phone, expires, True) for phone in numbers(3)),
        RemoteRecord(numbers(1, start=50)[0], None, True),
        RemoteRecord(numbers(1, start=60)[0], TODAY - timedelta(days=2), False),
    ]
    assert sorted(again, key=lambda r: r.phone) == sorted(records, key=lambda r: r.phone)


async def test_faults_are_survived_and_the_list_is_exact(no_backoff: None) -> None:
    faults = FaultSettings(
        error_rate=0.15, cut_rate=0.1, after_write_rate=0.15, storm_rate=0.1, storm_length=2
    )
    settings = EmulatorSettings(
        rate_limit=RateLimit(1_000_000, 60.0),
        faults=faults,
        seed=13,
        retry_after=0,
        token_ttl=2,
        export_delay_seconds=0.05,
    )
    app = create_app(settings)
    list_id = app.emulator.genesys_create_list("dnc")
    # Without an expiration the bodies, and so the faults the seed draws for them, are the
    # same whatever day the test runs.
    batches = [WriteBatch("add", numbers(20, start=20 * n), None) for n in range(12)]
    async with GenesysTarget(genesys_settings(dnc_list_id=list_id), asgi_client(app)) as target:
        results = [await target.push(batch) for batch in batches]
        removed = await target.push(WriteBatch("remove", numbers(20), None))
        records = await target.read_all()
    assert all(result.ok for result in [*results, removed])
    met = {r.fault.split("_")[0] for r in app.emulator.requests() if r.fault}
    assert {"error", "cut", "after", "storm"} <= met
    assert sum(result.attempts for result in results) > len(batches)
    assert {r.phone for r in records} == set(numbers(220, start=20))


async def test_create_list_makes_an_internal_list(app: EmulatorApp) -> None:
    async with genesys_target(app, "") as target:
        list_id = await target.create_list("dncsync demo")
        result = await target.push(WriteBatch("add", numbers(2), None))
    assert result.ok
    assert set(app.emulator.genesys_numbers(list_id)) == set(numbers(2))


async def test_tokens_refresh_before_expiry_and_once_after_a_401() -> None:
    clock = ManualClock()
    app = create_app(
        EmulatorSettings(rate_limit=RateLimit(1_000_000, 60.0), token_ttl=60, clock=clock)
    )
    list_id = app.emulator.genesys_create_list("dnc")
    settings = genesys_settings(dnc_list_id=list_id)
    # The target reads the same clock as the emulator, so both agree when a token ends.
    async with GenesysTarget(settings, asgi_client(app), clock=clock) as target:
        assert (await target.push(WriteBatch("add", numbers(1), None))).ok
        clock.advance(55)  # 5 s left, under a tenth of 60 s: refreshed before use
        assert (await target.push(WriteBatch("add", numbers(1, start=1), None))).ok
        tokens = [r for r in app.emulator.requests() if r.path == "/oauth/token"]
        assert len(tokens) == 2
        assert all(r.status != 401 for r in app.emulator.requests())

    # A token the platform ends early (a clock the target does not share): one 401, one retry.
    async with GenesysTarget(settings, asgi_client(app)) as target:
        assert (await target.push(WriteBatch("add", numbers(1, start=2), None))).ok
        clock.advance(61)
        result = await target.push(WriteBatch("add", numbers(1, start=3), None))
    assert result.ok
    statuses = [r.status for r in app.emulator.requests() if r.method == "PATCH"]
    assert statuses[-2:] == [401, 204]


async def test_per_number_expirations_go_in_one_request_each(app: EmulatorApp) -> None:
    list_id = app.emulator.genesys_create_list("dnc")
    soon, later = TODAY + timedelta(days=3), TODAY + timedelta(days=90)
    # The planner's own batch type is accepted as it is.
    batch = Batch("add", numbers(3), None, expires_each=(soon, later, soon))
    async with genesys_target(app, list_id) as target:
        result = await target.push(batch)
    assert sorted(result.acknowledged) == sorted(numbers(3))
    assert result.requests == 2
    assert app.emulator.genesys_numbers(list_id) == {
        numbers(3)[0]: expiration_instant(soon),
        numbers(3)[1]: expiration_instant(later),
        numbers(3)[2]: expiration_instant(soon),
    }


class QuotingRefusal(httpx.AsyncBaseTransport):
    """A platform whose refusal quotes the numbers it refused."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method != "PATCH":
            return await self.inner.handle_async_request(request)
        message = "Phone number +14155550001 is not valid for this list"
        return httpx.Response(400, json={"code": "invalid.value", "message": message})


async def test_platform_messages_kept_with_failures_are_masked(app: EmulatorApp) -> None:
    list_id = app.emulator.genesys_create_list("dnc")
    client = httpx.AsyncClient(transport=QuotingRefusal(httpx.ASGITransport(app=app)))
    async with GenesysTarget(genesys_settings(dnc_list_id=list_id), client) as target:
        with capture_logs() as logs:
            result = await target.push(WriteBatch("add", numbers(2), None))
        await client.aclose()
    assert set(result.failed.values()) == {
        "invalid.value: Phone number +1415555**** is not valid for this list"
    }
    assert "4155550001" not in repr(logs)
