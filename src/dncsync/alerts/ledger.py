"""What alerting remembers between processes: when each alert was last sent, and each
target's failures in a row.

A small SQLite file beside the state (`<state>.alerts`), so a restarted serve or the next
sync does not send again what was sent within the hour, and a sync and a serve running side
by side share one throttle. With a PostgreSQL state (`[state] url`), the same two tables live
in the state's database (`alerts.pgledger`), so serve replicas share one throttle too; the
SQL here is what both databases read. A file of its own: it holds no phone number, and
alerting never waits on (or adds a migration to) the state's writes. Created owner-read/write
only, as every file dncsync writes beside the state.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from dncsync.errors import InputError

THROTTLE = timedelta(hours=1)  # at most one alert per condition and subject (and channel)

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS sent (channel TEXT NOT NULL, condition TEXT NOT NULL, "
    "subject TEXT NOT NULL, sent_at TEXT NOT NULL, PRIMARY KEY (channel, condition, subject))",
    "CREATE TABLE IF NOT EXISTS streaks (target TEXT PRIMARY KEY, failures INTEGER NOT NULL)",
)


def ledger_path(state_path: Path | str) -> Path:
    """Where the alert ledger lives for a state file."""
    state = Path(state_path)
    return state.with_name(state.name + ".alerts")


class AlertLedger:
    """The ledger file; each call is one short transaction (processes share it)."""

    # The tables' names (in a shared state database they say whose they are).
    _SENT = "sent"
    _STREAKS = "streaks"

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if not self.path.exists():
                os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
            with self._db() as db:
                for statement in _SCHEMA:
                    db.execute(statement)
        except OSError as error:
            raise InputError(f"{self.path}: cannot open the alert ledger: {error}") from None

    @contextmanager
    def _db(self) -> Iterator[Any]:
        try:
            db = sqlite3.connect(self.path, isolation_level=None, timeout=30.0)
        except sqlite3.Error as error:
            raise InputError(f"{self.path}: cannot open the alert ledger: {error}") from None
        try:
            db.execute("BEGIN IMMEDIATE")  # one writer at a time: a claim is check-and-set
            yield db
            db.execute("COMMIT")
        except sqlite3.Error as error:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise InputError(f"{self.path}: cannot write the alert ledger: {error}") from None
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        finally:
            db.close()

    def claim(self, channel: str, condition: str, subject: str, now: datetime) -> str | None:
        """Take the right to send this alert now: the previous sending time ("" for never),
        or None when one was sent within the hour (throttled)."""
        with self._db() as db:
            row = db.execute(
                f"SELECT sent_at FROM {self._SENT} WHERE channel = ? AND condition = ? "  # noqa: S608 - a constant
                "AND subject = ?",
                (channel, condition, subject),
            ).fetchone()
            if row is not None and now - datetime.fromisoformat(row[0]) < THROTTLE:
                return None
            db.execute(
                f"INSERT INTO {self._SENT} VALUES (?, ?, ?, ?) "  # noqa: S608 - a constant
                "ON CONFLICT (channel, condition, subject) "
                "DO UPDATE SET sent_at = excluded.sent_at",
                (channel, condition, subject, now.isoformat()),
            )
            return "" if row is None else str(row[0])

    def release(self, channel: str, condition: str, subject: str, previous: str) -> None:
        """The alert could not be sent: give the claim back, so the next check tries again."""
        with self._db() as db:
            if previous:
                db.execute(
                    f"UPDATE {self._SENT} SET sent_at = ? WHERE channel = ? AND condition = ? "  # noqa: S608 - a constant
                    "AND subject = ?",
                    (previous, channel, condition, subject),
                )
            else:
                db.execute(
                    f"DELETE FROM {self._SENT} WHERE channel = ? AND condition = ? "  # noqa: S608 - a constant
                    "AND subject = ?",
                    (channel, condition, subject),
                )

    def streaks(self) -> dict[str, int]:
        """Each target's failures in a row."""
        with self._db() as db:
            rows = db.execute(f"SELECT target, failures FROM {self._STREAKS}")  # noqa: S608 - a constant
            return {t: int(n) for t, n in rows}

    def set_streaks(self, streaks: Mapping[str, int]) -> None:
        """Record the targets' failures in a row."""
        with self._db() as db:
            db.executemany(
                f"INSERT INTO {self._STREAKS} VALUES (?, ?) "  # noqa: S608 - a constant
                "ON CONFLICT (target) DO UPDATE SET failures = excluded.failures",
                streaks.items(),
            )


__all__ = ["THROTTLE", "AlertLedger", "ledger_path"]
