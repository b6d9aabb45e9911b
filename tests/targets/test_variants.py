"""Each platform variant met by its target in-process: tolerant where safe, strict where it
matters, and the fingerprint says which variant answered."""

from __future__ import annotations

import io

import pytest

from dncsync.emulator import EmulatorSettings, create_app
from dncsync.errors import ConfigError
from dncsync.platforms.cxone import INTERNATIONAL_SKIPPED
from dncsync.platforms.cxone.config import CxoneTargetConfig
from dncsync.platforms.cxone.traits import answer_traits
from dncsync.platforms.genesys import export
from dncsync.targets import WriteBatch
from dncsync.targets.variant import Fingerprint

from .support import cxone_settings, cxone_target, genesys_target

pytestmark = pytest.mark.anyio

SF, NYC, BERLIN = "+14155552671", "+12125550123", "+4930901820"


def _phones(count: int) -> tuple[str, ...]:
    return tuple(f"+1415555{n:04d}" for n in range(count))


@pytest.mark.parametrize(
    ("header", "phone", "expiration", "by_header"),
    [
        (["phone_number", "date_added", "expiration_date_time"], 0, 2, False),
        (["date_added", "expiration_date_time", "phone_number"], 2, 1, True),
        (["DNC Phone", "Added On", "Expires"], 0, 2, False),
        (["Added On", "Expires", "DNC Phone"], 2, 1, True),
        (["a", "b", "c"], 0, 2, False),  # names nothing: by position, as terraform reads it
        (["Number", "x", "ExpirationDateTime"], 0, 2, False),
        ([], 0, 2, False),
    ],
)
def test_an_export_is_read_by_position_unless_its_header_names_the_columns(
    header: list[str], phone: int, expiration: int, by_header: bool
) -> None:
    assert export.columns(header) == export.Columns(phone, expiration, by_header)


def test_a_number_column_holding_something_else_fails_the_read() -> None:
    where = export.columns(["a", "b", "c"])  # a reordered export under unreadable headers
    assert export.phone_of(["+1 (415) 555-2671", "", ""], where, 2) == SF
    with pytest.raises(export.ExportUnreadable, match="not a phone number"):
        export.phone_of(["2026-01-01T00:00:00.000Z", "", SF], where, 2)


async def test_a_reordered_export_is_read_exactly() -> None:
    app = create_app(EmulatorSettings(variants=frozenset({"genesys_export_reordered"})))
    list_id = app.emulator.genesys_create_list("L", [SF, NYC], expiration="2030-01-01T00:00Z")
    async with genesys_target(app, list_id) as target:
        records = await target.read_all()
        assert {r.phone for r in records} == {SF, NYC}
        assert all(r.expires is not None and r.expires.isoformat() == "2029-12-31" for r in records)
        assert target.variant()["export_columns"].startswith("by header: number in column 2")


async def test_a_patch_the_platform_calls_too_large_is_split_and_later_ones_capped() -> None:
    app = create_app(EmulatorSettings(variants=frozenset({"genesys_patch_cap"})))
    list_id = app.emulator.genesys_create_list("L")
    async with genesys_target(app, list_id) as target:
        first = await target.push(WriteBatch("add", _phones(120)))
        second = await target.push(WriteBatch("add", _phones(200)[120:]))
    assert first.ok
    assert len(first.acknowledged) == 120
    assert first.requests == 1 + 2 + 4  # 120 refused, 60 + 60 refused, 4 × 30 taken
    assert second.ok
    assert second.requests == 3
    assert len(app.emulator.genesys_numbers(list_id)) == 200
    assert target.variant()["request_cap"] == "120 numbers refused (400); 60 numbers refused (400)"


async def test_a_refusal_that_is_not_about_size_never_splits() -> None:
    app = create_app(EmulatorSettings(list_capacity=10))
    list_id = app.emulator.genesys_create_list("L")
    async with genesys_target(app, list_id) as target:
        result = await target.push(WriteBatch("add", _phones(20)))
    assert result.requests == 1
    assert {failure.code for failure in result.failed.values()} == {
        "dnc.phone.numbers.per.list.limit.exceeded"
    }


async def test_a_refused_page_size_is_lowered_and_kept() -> None:
    app = create_app(EmulatorSettings(variants=frozenset({"cxone_page_cap"})))
    group = app.emulator.cxone_create_group("G", [f"415555{n:04d}" for n in range(250)])
    async with cxone_target(app, group) as target:
        records = await target.read_all()
    assert len(records) == 250
    tops = [r.query for r in app.emulator.requests() if r.path.endswith("/records")]
    assert [q.split("top=")[1] for q in tops] == ["1000", "100", "100", "100"]
    assert target.variant()["page_size"] == "top=1000 refused (400)"


async def test_every_removal_carries_an_expired_date_and_either_nesting_is_read() -> None:
    app = create_app(
        EmulatorSettings(
            variants=frozenset(
                {"cxone_delete_expiry", "cxone_formatted_results", "cxone_string_types"}
            )
        )
    )
    group = app.emulator.cxone_create_group("G", ["4155552671", "2125550123"])
    async with cxone_target(app, group) as target:
        removed = await target.push(WriteBatch("remove", (SF, NYC)))
    assert removed.ok
    assert sorted(removed.acknowledged) == sorted([NYC, SF])
    assert app.emulator.cxone_held(group) == set()
    seen = target.variant()
    assert seen["results_nesting"] == "top level"
    assert seen["results_name"] == "formattedPhone"
    assert seen["success_type"] == seen["error_count_type"] == "string"


async def test_integer_phone_numbers_are_sent_as_integers_and_never_lose_a_leading_zero() -> None:
    app = create_app(EmulatorSettings(variants=frozenset({"cxone_integer_phone"})))
    group = app.emulator.cxone_create_group("G")
    async with cxone_target(app, group, phone_json_type="integer", international="skip") as target:
        result = await target.push(WriteBatch("add", (SF, BERLIN)))
    assert result.acknowledged == [SF]
    assert result.skipped[BERLIN].code == INTERNATIONAL_SKIPPED  # reported, never sent
    assert app.emulator.cxone_records(group) == {"4155552671": None}
    async with cxone_target(app, group) as strings:  # the default against such a tenant
        refused = await strings.push(WriteBatch("add", (NYC,)))
    assert set(refused.failed) == {NYC}  # the whole request refused, never silently


def test_integer_phone_numbers_need_international_skip() -> None:
    with pytest.raises(ConfigError, match="leading 0 of 011"):
        cxone_settings(phone_json_type="integer")
    with pytest.raises(ValueError, match="leading 0 of 011"):
        CxoneTargetConfig(
            name="c", platform="cxone", tenant_id="t", dnc_group_id=1, phone_json_type="integer"
        )


def test_answer_traits_and_fingerprints() -> None:
    assert answer_traits({"errorCount": 0, "recordResults": [{"success": True}]}) == {
        "results_nesting": "top level",
        "error_count_type": "number",
        "success_type": "boolean",
        "results_name": "no number",
    }
    seen = Fingerprint()
    seen.note("a", "x")
    seen.update({"a": "x; y", "b": "z"})
    assert seen.as_dict() == {"a": "x; y", "b": "z"}


def test_an_unreadable_export_is_refused_whole() -> None:
    rows = export.rows(io.BytesIO(b"when,until,who\n2026-01-01T00:00:00.000Z,,+14155552671\n"))
    where = export.columns(next(rows))
    assert where.by_header is False  # no header names a number: read by position
    (row,) = rows
    with pytest.raises(export.ExportUnreadable):
        export.phone_of(row, where, 2)
