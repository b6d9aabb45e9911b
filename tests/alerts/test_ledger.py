"""The alert ledger shared by every process on one state: a serve and a sync on a file, or
serve replicas on one PostgreSQL database. A claim is check-and-set, so of processes racing
for one alert exactly one sends it, and nobody again within the hour."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from dncsync.alerts.ledger import AlertLedger, ledger_path
from dncsync.alerts.pgledger import PostgresAlertLedger
from stateopener import StateOpener

NOW = datetime(2026, 12, 5, 5, 0, tzinfo=UTC)


def _ledger(state: StateOpener) -> AlertLedger:
    if state.kind == "postgresql":
        return PostgresAlertLedger(state.where, "DNCSYNC_DATABASE_PASSWORD")
    return AlertLedger(ledger_path(state.where))


def test_one_process_of_many_sends_an_alert_and_none_again_within_the_hour(
    state: StateOpener,
) -> None:
    state.open().close()  # the state's migrations make a database's tables
    ledgers = [_ledger(state) for _ in range(2)]
    with ThreadPoolExecutor(6) as pool:
        claims = list(
            pool.map(lambda i: ledgers[i % 2].claim("hook", "run_failed", "t", NOW), range(6))
        )
    assert claims.count("") == 1  # one won the first sending; the rest were throttled
    assert claims.count(None) == 5
    later = NOW + timedelta(minutes=59)
    assert ledgers[1].claim("hook", "run_failed", "t", later) is None
    assert ledgers[1].claim("mail", "run_failed", "t", later) == ""  # another channel's own
    # A sending that failed gives its claim back: the next check tries again.
    ledgers[1].release("mail", "run_failed", "t", "")
    assert ledgers[0].claim("mail", "run_failed", "t", later) == ""
    # An hour on, the alert may go again, and the previous sending is reported.
    assert ledgers[0].claim("hook", "run_failed", "t", NOW + timedelta(hours=1)) == NOW.isoformat()
    ledgers[0].set_streaks({"a": 2, "b": 0})
    ledgers[1].set_streaks({"a": 3})
    assert _ledger(state).streaks() == {"a": 3, "b": 0}
