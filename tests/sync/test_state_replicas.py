"""What several replicas on one PostgreSQL state rely on: list locks that die with their
session, journal writes fenced by them, and intake claims that never overlap (a real
server, two stores as two replicas)."""

from __future__ import annotations

import time
from concurrent.futures import wait
from datetime import UTC, date, datetime

import psycopg
import pytest

from dncsync.errors import AlreadyRunning, ConfigError, InputError, LockLost
from dncsync.intake import OptOut, read_optout
from dncsync.plan import Batch
from dncsync.policy import DEFAULT_POLICY
from dncsync.state.intake import Idempotency
from dncsync.state.postgres import PostgresStore
from dncsync.state.postgres_intake import PostgresIntakeStore
from dncsync.targets.base import BatchResult
from e2e.support import poll

pytestmark = pytest.mark.long
NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


def _optout(number: int) -> OptOut:
    found = read_optout(
        {"phone": f"+1415555{number:04d}"},
        now=NOW,
        zone=UTC,
        region="US",
        policy=DEFAULT_POLICY,
    )
    assert isinstance(found, OptOut)
    return found


def _end_session(url: str, pid: int) -> None:
    """What the server does to a replica it cannot reach any more (keepalives ran out)."""
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))  # waits for its end


def _take_within_seconds(store: PostgresStore, key: str, seconds: float = 5.0) -> None:
    """The lock comes free once the server has ended the dead session: poll, with a deadline."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with store.lock(key):
                return
        except AlreadyRunning:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def test_a_list_lock_is_held_across_replicas_and_dies_with_its_session(pg_url: str) -> None:
    first, second = PostgresStore(pg_url), PostgresStore(pg_url)
    try:
        with first.lock("genesys|list-1", "main"):
            with pytest.raises(AlreadyRunning, match="main"), second.lock("genesys|list-1", "main"):
                pass
            with second.lock("cxone|list-2"):  # other lists are not blocked
                pass
        with second.lock("genesys|list-1"):  # released at the end of the block
            pass
        with first.lock("genesys|list-1"):
            first._locks.close()  # the process died: its session, and the lock, with it
            _take_within_seconds(second, "genesys|list-1")
    finally:
        first.close()
        second.close()


def test_a_replica_whose_session_ended_cannot_journal_as_a_second_owner(pg_url: str) -> None:
    cut_off, other = PostgresStore(pg_url), PostgresStore(pg_url)
    batch = Batch("add", ("+14155550001",), date(2027, 1, 1), (None,))
    try:
        with cut_off.lock("genesys|list-1"):
            batch_id = cut_off.batch_intended("r1", "genesys|list-1", batch)
            _end_session(pg_url, cut_off._lock_pid)
            with other.lock("genesys|list-1"):  # another replica takes over at once
                answer = BatchResult.of(batch, 0.0)
                answer.acknowledged = list(batch.phones)
                with pytest.raises(LockLost, match="lost"):
                    cut_off.batch_settled(batch_id, "genesys|list-1", batch, answer, run_id="r1")
                with pytest.raises(LockLost):
                    cut_off.batch_intended("r1", "genesys|list-1", batch)
        assert other.snapshot("genesys|list-1") == {}  # nothing written by the lost owner
        with cut_off.lock("genesys|list-1"):  # it reconnects, and takes part again
            pass
    finally:
        cut_off.close()
        other.close()


def test_replicas_claim_disjoint_work_and_a_dead_replicas_claims_come_free(pg_url: str) -> None:
    one = PostgresIntakeStore(pg_url, {"a": None})
    two = PostgresIntakeStore(pg_url, {"a": None})
    try:
        wait([one.accept([_optout(i)], "{}", None) for i in range(40)], timeout=30)
        first = one.open_deliveries("a", 25, NOW)
        second = two.open_deliveries("a", 25, NOW)
        assert len(first) == 25
        assert len(second) == 15
        assert not {p.request_id for p in first} & {p.request_id for p in second}
        assert [p.request_id for p in one.open_deliveries("a", 100, NOW)] == [
            p.request_id for p in first
        ]  # a replica sees its own claims again (a flush that failed is retried)
        two.release("a", [p.request_id for p in second])
        assert len(one.open_deliveries("a", 100, NOW)) == 40
        two.close()  # ...and a replica that dies frees what it had claimed
        two = PostgresIntakeStore(pg_url, {"a": None})
        one.close()
        # The server ends a closed session's backend a moment later: its claims come free then.
        poll(
            lambda: len(two.open_deliveries("a", 100, NOW)) == 40,
            deadline_seconds=10,
            what="the closed replica's claims freed",
            interval=0.05,
        )
        held = [p.request_id for p in two.open_deliveries("a", 100, NOW)]
        two.settle("a", held, {}, {}, retry_at=NOW).result(10)
        assert two.open_count("a") == 0
    finally:
        two.close()


def test_a_database_of_another_program_is_refused_and_left_unchanged(pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as theirs:
        theirs.execute("CREATE TABLE customers (id INTEGER)")
    with pytest.raises(ConfigError, match="not a dncsync state database") as refused:
        PostgresStore(pg_url)
    assert "customers" in str(refused.value)
    with psycopg.connect(pg_url) as theirs:
        tables = theirs.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        assert [row[0] for row in tables] == ["customers"]


def test_an_unreachable_database_is_one_line_without_the_password(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DNCSYNC_DATABASE_PASSWORD", "hunter2")
    wrong = pg_url.rsplit(":", 1)[0] + ":1/nothing"  # a closed port
    with pytest.raises(InputError, match="cannot use the state database") as refused:
        PostgresStore(wrong)
    assert "hunter2" not in str(refused.value)
    assert "\n" not in str(refused.value)


def test_one_idempotency_key_on_two_replicas_at_once_is_stored_once(pg_url: str) -> None:
    one, two = PostgresIntakeStore(pg_url, {"a": None}), PostgresIntakeStore(pg_url, {"a": None})
    try:
        for attempt in range(20):  # many races, each on a key of its own
            key = Idempotency("owner", f"key-{attempt}", "digest")
            body = f'{{"attempt": {attempt}}}'
            answers = [
                store.accept([_optout(attempt)], body, key) for store in (one, two)
            ]  # fmt: skip
            results = [answer.result(10) for answer in answers]
            assert [r.status for r in results] == [202, 202]
            assert sorted(r.replayed for r in results) == [False, True]
        assert one.stats(NOW.date()).requests == 20
        assert two.ensure_targets().result(10) == 0
    finally:
        one.close()
        two.close()


def test_replicas_starting_together_give_a_new_target_each_request_once(pg_url: str) -> None:
    before = PostgresIntakeStore(pg_url, {"a": None})
    try:
        wait([before.accept([_optout(i)], "{}", None) for i in range(30)], timeout=30)
    finally:
        before.close()
    one, two = (
        PostgresIntakeStore(pg_url, {"a": None, "b": None}),
        PostgresIntakeStore(pg_url, {"a": None, "b": None}),
    )
    try:
        added = [one.ensure_targets(), two.ensure_targets()]
        assert sum(f.result(10) for f in added) >= 30  # no error, whichever came second
        assert one.open_count("b") == 30
    finally:
        one.close()
        two.close()
