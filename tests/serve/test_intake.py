"""Reading an opt-out, its deadline and its entry (pure), and the intake store on a real file
and on a real PostgreSQL server."""

from __future__ import annotations

import stat
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from dncsync.intake import OptOut, Refused, deadline_for, entry_of, merged, read_optout
from dncsync.model import Entry, ExpirationPolicy, Reason, Strictness
from dncsync.phone import normalize
from dncsync.policy import DEFAULT_POLICY
from dncsync.state.intake import Idempotency, Text, intake_path
from stateopener import StateOpener

NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


def read(body: object, now: datetime = NOW) -> OptOut | Refused:
    return read_optout(body, now=now, zone=NEW_YORK, region="US", policy=DEFAULT_POLICY)


@pytest.mark.parametrize(
    ("received", "deadline"),
    [
        # Friday 20 Nov 2026: ten business days skip Thanksgiving (Thu 26 Nov).
        (datetime(2026, 11, 20, 15, 0, tzinfo=UTC), date(2026, 12, 7)),
        # 03:00 UTC on Saturday is still Friday evening in New York: received Friday.
        (datetime(2026, 11, 21, 3, 0, tzinfo=UTC), date(2026, 12, 7)),
        # Christmas (Fri) and New Year's Day (Fri) are not business days.
        (datetime(2026, 12, 21, 17, 0, tzinfo=UTC), date(2027, 1, 6)),
    ],
)
def test_the_deadline_is_the_tenth_business_day_after_the_day_of_receipt(
    received: datetime, deadline: date
) -> None:
    assert deadline_for(received, NEW_YORK) == deadline


@pytest.mark.parametrize("raw", ["(415) 555-2671", "+1 415 555 2671", "415.555.2671", "12"])
def test_the_phone_is_normalized_exactly_as_validate_does(raw: str) -> None:
    verdict = normalize(raw, "US", Strictness.VALID)
    found = read({"phone": raw})
    if verdict.e164 is None:
        assert verdict.reject is not None
        assert found == Refused("invalid_phone", verdict.reject.value)
    else:
        assert isinstance(found, OptOut)
        assert found.phone == verdict.e164


def test_defaults_and_labels() -> None:
    found = read({"phone": "4155552671", "source": "sms", "scope": "brand-a"})
    assert isinstance(found, OptOut)
    assert (found.reason, found.source, found.scope) == (
        Reason.CUSTOMER_REQUESTED,
        "sms",
        "brand-a",
    )
    assert found.received_at == NOW
    assert found.answer()["status"] == "pending"
    assert found.answer()["deadline"] == "2026-12-07"


def test_bad_metadata_never_drops_the_number_and_never_gives_a_later_deadline() -> None:
    future = read({"phone": "4155552671", "received_at": "2031-01-01T00:00:00Z"})
    assert isinstance(future, OptOut)
    assert future.received_at == NOW
    assert "future_received_at" in future.warnings
    garbled = read({"phone": "4155552671", "received_at": "last tuesday", "reason": "zzz"})
    assert isinstance(garbled, OptOut)
    assert garbled.received_at == NOW
    assert garbled.reason is Reason.UNKNOWN  # unmapped: UNKNOWN, raw text kept
    assert garbled.reason_text == "zzz"
    earlier = read({"phone": "4155552671", "received_at": "2026-11-02T12:00:00-05:00"})
    assert isinstance(earlier, OptOut)
    assert earlier.deadline == date(2026, 11, 17)  # Monday; Veterans Day (11 Nov) skipped


@pytest.mark.parametrize(
    "body", [[], {"phone": 5}, {"phone": ""}, {"reason": "x"}, {"phone": "4155552671" * 30}]
)
def test_a_malformed_opt_out_is_refused_with_a_reason(body: object) -> None:
    found = read(body)
    assert isinstance(found, Refused)
    assert found.error == "invalid_request"


def test_intake_merges_most_protectively_with_the_sources() -> None:
    intake = entry_of("+14155552671", Reason.CUSTOMER_REQUESTED, NOW, DEFAULT_POLICY, NOW.date())
    assert intake.expiration_policy is ExpirationPolicy.RELATIVE
    assert intake.expires_at is not None
    assert intake.expires_at.year == 2031
    national = Entry(
        "+14155552671", Reason.NATIONAL, ExpirationPolicy.NEVER, None, date(2027, 1, 1), "ftc"
    )
    (both,) = merged([national], [intake])
    assert (both.reason, both.expires_at, both.date_collected) == (
        Reason.NATIONAL,
        None,
        NOW.date(),
    )
    assert merged([intake], [national]) == [both]


def _optout(number: int) -> OptOut:
    found = read({"phone": f"+1415555{number:04d}"})
    assert isinstance(found, OptOut)
    return found


def test_the_store_commits_many_requests_together_and_is_private(state: StateOpener) -> None:
    store = state.intake({"a": None, "b": ["brand-a"]})
    try:
        futures = [store.accept([_optout(i)], "{}", None) for i in range(300)]
        wait(futures, timeout=30)
        assert all(f.result().status == 202 for f in futures)
        assert store.commits < 300  # group commit: requests shared fsyncs
        if state.kind == "sqlite":
            assert stat.S_IMODE(intake_path(state.where).stat().st_mode) == 0o600
        assert store.open_count("a") == 300
        assert store.open_count("b") == 0  # scope "" is not one b takes: skipped
        stats = store.stats(NOW.date())
        assert stats.by_status == {"pending": 300}
    finally:
        store.close()


def test_idempotency_replays_the_first_answer_and_refuses_another_body(
    state: StateOpener,
) -> None:
    store = state.intake({"a": None})
    try:
        first = store.accept([_optout(1)], '{"id": "first"}', Idempotency("k", "1", "d1"))
        assert first.result(10).status == 202
        again = store.accept([_optout(1)], '{"id": "second"}', Idempotency("k", "1", "d1"))
        assert (again.result(10).replayed, again.result(10).body) == (True, '{"id": "first"}')
        other = store.accept([_optout(2)], "{}", Idempotency("k", "1", "d2")).result(10)
        assert other.conflict
        assert store.stats(NOW.date()).requests == 1  # neither retry stored a request
    finally:
        store.close()


def test_a_target_taken_out_of_the_configuration_no_longer_counts_as_pending(
    state: StateOpener,
) -> None:
    before = state.intake({"a": None, "gone": None})
    try:
        assert before.accept([_optout(1)], "{}", None).result(10).status == 202
        assert before.open_count() == 2
    finally:
        before.close()
    after = state.intake({"a": None})
    try:
        assert after.open_count() == 1
        assert after.stats(NOW.date()).by_status == {"pending": 1}
    finally:
        after.close()


def test_each_fire_of_a_timed_job_is_taken_once_by_the_processes_sharing_the_state(
    state: StateOpener,
) -> None:
    # Two stores on one state: serve replicas (PostgreSQL) or a serve and its restart (SQLite).
    stores = [state.intake({"a": None}) for _ in range(2)]
    try:
        fires = [datetime(2026, 12, 5, 4, minute, tzinfo=UTC) for minute in (0, 15, 30)]
        for fire in fires:
            with ThreadPoolExecutor(8) as pool:
                taken = list(
                    pool.map(
                        lambda i, at=fire: stores[i % 2].claim_fire("source:a", at).result(10),
                        range(8),
                    )
                )
            assert taken.count(True) == 1, fire
        # An earlier fire, or one taken already, is not taken again; another job's is its own.
        assert not stores[0].claim_fire("source:a", fires[1]).result(10)
        assert not stores[1].claim_fire("source:a", fires[2]).result(10)
        assert stores[1].claim_fire("collect:a", fires[0]).result(10)
        # What a complete run read is seen by every process, and after a restart.
        assert stores[0].remembered("source:a") is None
        stores[0].remember("source:a", "digest fingerprint-1").result(10)
        assert stores[1].remembered("source:a") == "digest fingerprint-1"
        stores[1].remember("source:a", "digest fingerprint-2").result(10)
    finally:
        for store in stores:
            store.close()
    again = state.intake({"a": None})
    try:
        assert again.remembered("source:a") == "digest fingerprint-2"
        assert not again.claim_fire("source:a", fires[2]).result(10)
    finally:
        again.close()


def test_texts_are_kept_once_per_message_id_on_either_store(state: StateOpener) -> None:
    store = state.intake({"a": None})
    try:
        text = Text("SM1", "review", "+14155552671", "+12125550100", "please stop", NOW)
        assert store.record_text(text).result(10)
        assert not store.record_text(text).result(10)  # the provider's retry: kept once
        assert [t["sid"] for t in store.texts("review")] == ["SM1"]
        assert store.text_counts() == {"review": 1}
    finally:
        store.close()
