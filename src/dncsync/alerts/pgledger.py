"""The alert ledger in a PostgreSQL state: serve replicas share one throttle.

The tables are the state database's (migration `pg_0003`); each call is one short
transaction, serialized between processes by a transaction-scoped advisory lock, so a claim is
check-and-set across replicas as `BEGIN IMMEDIATE` makes it on the SQLite file. It holds no
phone number.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from dncsync.alerts.ledger import AlertLedger
from dncsync.errors import DncsyncError, InputError
from dncsync.state.pgconnection import Shim, connect, shown
from dncsync.state.pgschema import ALERT_LOCK


class PostgresAlertLedger(AlertLedger):
    """The ledger's tables in the state database."""

    _SENT = "alerts_sent"
    _STREAKS = "alert_streaks"

    def __init__(self, url: str, password_env: str) -> None:
        # Not AlertLedger.__init__: there is no file to create, and the tables are migrated
        # with the state's.
        self.url = url
        self.password_env = password_env
        self.path = cast(Any, shown(url))  # messages name the database where they name a file

    @contextmanager
    def _db(self) -> Iterator[Any]:
        import psycopg

        try:
            db = Shim(connect(self.url, self.password_env), self.url)
        except psycopg.Error as error:
            raise InputError(f"{self.path}: cannot open the alert ledger: {error}") from None
        try:
            db.execute("BEGIN")
            db.execute("SELECT pg_advisory_xact_lock(?, 0)", (ALERT_LOCK,))
            yield db
            db.execute("COMMIT")
        except (psycopg.Error, DncsyncError) as error:
            with contextlib.suppress(psycopg.Error, DncsyncError):
                db.execute("ROLLBACK")
            raise InputError(f"{self.path}: cannot write the alert ledger: {error}") from None
        except BaseException:
            with contextlib.suppress(psycopg.Error, DncsyncError):
                db.execute("ROLLBACK")
            raise
        finally:
            db.close()


__all__ = ["PostgresAlertLedger"]
