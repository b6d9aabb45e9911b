"""The NICE CXone target against the emulator, in-process: number forms, per-record counting."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from dncsync.emulator import EmulatorApp, EmulatorSettings, RateLimit, create_app
from dncsync.errors import AuthError, ConfigError, NumberNotSendable
from dncsync.plan import Batch
from dncsync.platforms.cxone import (
    INTERNATIONAL_SKIPPED,
    NOT_E164,
    CxoneTarget,
    cxone_number,
    e164_from_cxone,
)
from dncsync.targets import RemoteRecord, WriteBatch

from .support import asgi_client, cxone_settings, cxone_target

pytestmark = pytest.mark.anyio

TODAY = datetime.now(UTC).date()
SF = "+14155552671"
TORONTO = "+14165550123"
BERLIN = "+4930901820"
LONDON = "+442079460958"


@pytest.mark.parametrize(
    ("phone", "sent"),
    [
        (SF, "4155552671"),  # NANP: the 10 national digits
        (TORONTO, "4165550123"),
        (BERLIN, "0114930901820"),  # elsewhere: 011 + country code + national number
        (LONDON, "011442079460958"),
        ("+390612345678", "011390612345678"),  # Italy keeps its leading 0
    ],
)
def test_numbers_are_sent_in_the_form_a_north_american_dialer_dials(phone: str, sent: str) -> None:
    assert cxone_number(phone) == sent
    assert e164_from_cxone(sent) == phone


def test_bare_country_code_digits_are_never_produced() -> None:
    # 4930901820 would read as a US number: Berlin must carry its 011 prefix.
    assert cxone_number(BERLIN) != "4930901820"
    with pytest.raises(NumberNotSendable) as skipped:
        cxone_number(BERLIN, "skip")
    assert skipped.value.code == INTERNATIONAL_SKIPPED
    assert cxone_number(SF, "skip") == "4155552671"
    for bad in ("4930901820", "+1415555", "+141555526710", "+0123"):
        with pytest.raises(NumberNotSendable) as refused:
            cxone_number(bad)
        assert refused.value.code == NOT_E164


def test_settings_hide_secrets_and_check_international() -> None:
    settings = cxone_settings(base_url=None)
    assert settings.discovery_url == "https://cxone.niceincontact.com"
    assert "dncsync-emulator-access-secret" not in repr(settings)
    assert "dncsync-emulator-secret" not in repr(settings)
    with pytest.raises(ConfigError, match="international"):
        cxone_settings(international="00")


async def test_add_sends_digits_and_expired_date_after_the_last_held_day(
    app: EmulatorApp,
) -> None:
    group = app.emulator.cxone_create_group("dnc")
    expires = TODAY + timedelta(days=30)
    async with cxone_target(app, group) as target:
        result = await target.push(WriteBatch("add", (SF, BERLIN), expires))
        forever = await target.push(WriteBatch("add", (TORONTO,), None))
    assert sorted(result.acknowledged) == sorted([SF, BERLIN])
    assert (result.failed, result.status) == ({}, 200)
    assert forever.ok
    day_after = (expires + timedelta(days=1)).strftime("%m/%d/%Y")
    assert app.emulator.cxone_records(group) == {
        "4155552671": day_after,
        "0114930901820": day_after,
        "4165550123": None,
    }


async def test_skip_mode_reports_numbers_outside_north_america_as_skipped(
    app: EmulatorApp,
) -> None:
    group = app.emulator.cxone_create_group("dnc")
    async with cxone_target(app, group, international="skip") as target:
        result = await target.push(WriteBatch("add", (SF, BERLIN, LONDON), None))
        only_skipped = await target.push(WriteBatch("add", (BERLIN,), None))
    assert result.acknowledged == [SF]
    assert result.failed == {}
    assert set(result.skipped) == {BERLIN, LONDON}
    assert {r.code for r in result.skipped.values()} == {INTERNATIONAL_SKIPPED}
    assert (result.count, result.sent, result.ok) == (3, 1, True)  # nothing silently dropped
    assert result.error_summary() is not None  # the journal says why
    assert app.emulator.cxone_records(group) == {"4155552671": None}
    # A batch of skipped numbers only sends no request at all.
    assert (only_skipped.requests, only_skipped.sent, set(only_skipped.skipped)) == (0, 0, {BERLIN})
    writes = [r for r in app.emulator.requests() if r.method == "POST" and "records" in r.path]
    assert len(writes) == 1


async def test_per_record_failures_are_counted() -> None:
    app = create_app(EmulatorSettings(rate_limit=RateLimit(1_000_000, 60.0), tenant_capacity=3))
    group = app.emulator.cxone_create_group("dnc")
    batch = tuple(f"+1415555{n:04d}" for n in range(5))
    async with cxone_target(app, group) as target:
        result = await target.push(WriteBatch("add", batch, None))
    assert len(result.acknowledged) == 3
    assert len(result.failed) == 2
    assert set(result.failed.values()) == {"MaxRecordsExceeded"}
    assert sorted([*result.acknowledged, *result.failed]) == sorted(batch)


class DropLastResult(httpx.AsyncBaseTransport):
    """A platform whose batch answer lists one result fewer than the records sent."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if not (request.method == "POST" and request.url.path.endswith("/records")):
            return response
        body = json.loads(await response.aread())
        body["resultSet"]["recordResults"].pop()
        return httpx.Response(200, json=body)


async def test_an_answer_that_does_not_account_for_every_record_fails_the_batch(
    app: EmulatorApp,
) -> None:
    group = app.emulator.cxone_create_group("dnc")
    client = httpx.AsyncClient(transport=DropLastResult(httpx.ASGITransport(app=app)))
    async with CxoneTarget(cxone_settings(dnc_group_id=group), client) as target:
        result = await target.push(WriteBatch("add", (SF, TORONTO), None))
        await client.aclose()
    assert result.acknowledged == []
    assert set(result.failed) == {SF, TORONTO}
    assert all(r.startswith("cxone.results_mismatch") for r in result.failed.values())


async def test_remove_expires_records_and_read_all_tells_held_from_expired(
    app: EmulatorApp,
) -> None:
    expires = TODAY + timedelta(days=5)
    group = app.emulator.cxone_create_group("dnc")
    async with cxone_target(app, group, page_size=2) as target:
        await target.push(WriteBatch("add", (SF, TORONTO, BERLIN), expires))
        await target.push(WriteBatch("add", (LONDON,), None))
        removed = await target.push(WriteBatch("remove", (TORONTO, "+12125550199"), None))
        records = await target.read_all()
    # A number the group never held is already "removed": acknowledged, not failed.
    assert sorted(removed.acknowledged) == sorted([TORONTO, "+12125550199"])
    by_phone = {record.phone: record for record in records}
    assert by_phone == {
        SF: RemoteRecord(SF, expires, True),
        BERLIN: RemoteRecord(BERLIN, expires, True),
        LONDON: RemoteRecord(LONDON, None, True),
        TORONTO: RemoteRecord(TORONTO, TODAY - timedelta(days=1), False),
    }
    pages = [r for r in app.emulator.requests() if r.method == "GET" and "records" in r.path]
    assert len(pages) == 2  # 4 records, 2 a page


async def test_wrong_tenant_group_or_credentials_stop_with_a_clear_error(
    app: EmulatorApp,
) -> None:
    batch = WriteBatch("add", (SF,), None)
    async with cxone_target(app, 1, tenant_id="00000000-0000-4000-8000-000000000000") as target:
        with pytest.raises(ConfigError, match="tenant_id"):
            await target.push(batch)
    async with cxone_target(app, 999_999) as target:
        with pytest.raises(ConfigError, match="dnc_group_id"):
            await target.push(batch)
    group = app.emulator.cxone_create_group("dnc")
    async with cxone_target(app, group, access_key_secret="not-the-key") as target:
        with pytest.raises(AuthError) as refused:
            await target.push(batch)
    message = str(refused.value)
    assert "cxone-test" in message
    assert "CXONE_ACCESS_KEY_SECRET" in message
    assert "not-the-key" not in message


async def test_create_group(app: EmulatorApp) -> None:
    async with CxoneTarget(cxone_settings(), asgi_client(app)) as target:
        group = await target.create_group("dncsync demo")
        result = await target.push(WriteBatch("add", (SF,), None))
    assert result.ok
    assert app.emulator.cxone_held(group) == {"4155552671"}


async def test_each_record_carries_its_own_expired_date(app: EmulatorApp) -> None:
    group = app.emulator.cxone_create_group("dnc")
    soon = TODAY + timedelta(days=3)
    batch = Batch("add", (SF, BERLIN, TORONTO), None, expires_each=(soon, None, soon))
    async with cxone_target(app, group) as target:
        result = await target.push(batch)
    assert result.ok
    assert result.requests == 1
    day_after = (soon + timedelta(days=1)).strftime("%m/%d/%Y")
    assert app.emulator.cxone_records(group) == {
        "4155552671": day_after,
        "0114930901820": None,
        "4165550123": day_after,
    }


async def test_discovery_over_https_never_downgrades_the_api_to_http() -> None:
    def platform(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/.well-known/cxone-configuration"
        return httpx.Response(200, json={"api_endpoint": "http://api.cxone.example"})

    client = httpx.AsyncClient(transport=httpx.MockTransport(platform))
    target = CxoneTarget(cxone_settings("https://cxone.example", dnc_group_id=1), client)
    async with target:
        with pytest.raises(ConfigError, match="https is required") as refused:
            await target.admin_api()
    assert "pointed at http://api.cxone.example" in str(refused.value)
