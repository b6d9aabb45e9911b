"""Connections to a PostgreSQL state, and the small SQL shim the shared queries run through.

A connection is opened with the password from the environment (never from the URL, never
logged) and with TCP keepalives and `tcp_user_timeout` on both ends: a replica cut off from
the database notices within seconds, and so does the server, which then ends the replica's
session and with it every advisory lock the session held.

`Shim` lets the queries `StateStore` and `IntakeStore` already run (SQLite's `?` placeholders,
`execute`/`executemany`) run unchanged on psycopg: one text for both databases where the SQL
is the same, and only the statements that differ written twice.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

from dncsync.errors import InputError

# Seconds: a dead peer is noticed after IDLE + INTERVAL * COUNT, and unacknowledged data
# after USER_TIMEOUT_MS; both well inside the "another replica takes over within seconds".
KEEPALIVE_IDLE = 5
KEEPALIVE_INTERVAL = 2
KEEPALIVE_COUNT = 3
USER_TIMEOUT_MS = 10_000
STREAM_ROWS = 10_000  # rows per chunk of a streamed result


def shown(url: str) -> str:
    """The URL as messages show it: no password (there should be none), no query."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{parts.username}@{host}" if parts.username else host
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def connect(url: str, password_env: str, *, autocommit: bool = True) -> psycopg.Connection[Any]:
    """A connection to the state database, or one InputError line saying what to fix."""
    try:
        return psycopg.connect(url, autocommit=autocommit, **connection_options(password_env))
    except psycopg.Error as error:
        raise unreachable(url, error) from None


def connection_options(password_env: str) -> dict[str, Any]:
    """What every connection to the state database is opened with (the pool's too)."""
    options: dict[str, Any] = {
        "keepalives": 1,
        "keepalives_idle": KEEPALIVE_IDLE,
        "keepalives_interval": KEEPALIVE_INTERVAL,
        "keepalives_count": KEEPALIVE_COUNT,
        "tcp_user_timeout": USER_TIMEOUT_MS,
        "connect_timeout": 10,
        # The server's side of the same: it ends the session of a replica it cannot reach.
        "options": (
            f"-c tcp_keepalives_idle={KEEPALIVE_IDLE} "
            f"-c tcp_keepalives_interval={KEEPALIVE_INTERVAL} "
            f"-c tcp_keepalives_count={KEEPALIVE_COUNT} "
            f"-c tcp_user_timeout={USER_TIMEOUT_MS}"
        ),
        # Which process a session is (pg_stat_activity, pg_locks): an operator sees which
        # replica holds which list's lock.
        "application_name": f"dncsync-{os.getpid()}",
    }
    password = os.environ.get(password_env)
    if password:
        options["password"] = password
    return options


def unreachable(url: str, error: psycopg.Error) -> InputError:
    """One line for a database that cannot be used: which one, and why (no password)."""
    reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return InputError(
        f"{shown(url)}: cannot use the state database: {reason}; fix that and run again: the "
        "state records only what a platform acknowledged, and the next sync sends the rest"
    )


def placeholders(sql: str) -> str:
    """SQLite's `?` placeholders as psycopg's `%s` (a literal `%` doubled first)."""
    return sql.replace("%", "%%").replace("?", "%s")


class Shim:
    """A psycopg connection answering the `execute`/`executemany` calls written for sqlite3."""

    def __init__(self, connection: psycopg.Connection[Any], url: str) -> None:
        self.connection = connection
        self.url = url

    def execute(self, sql: str, params: Sequence[Any] = ()) -> psycopg.Cursor[Any]:
        """Run one statement; its cursor (iterate it, or fetch)."""
        try:
            return self.connection.execute(placeholders(sql), tuple(params))
        except psycopg.OperationalError as error:
            raise unreachable(self.url, error) from None

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement for each row (pipelined by psycopg)."""
        batch = [tuple(row) for row in rows]
        if not batch:
            return
        try:
            with self.connection.cursor() as cursor:
                cursor.executemany(placeholders(sql), batch)
        except psycopg.OperationalError as error:
            raise unreachable(self.url, error) from None

    def stream(self, sql: str, params: Sequence[Any] = ()) -> Iterator[tuple[Any, ...]]:
        """A large result's rows in chunks as the server sends them (a list of two million
        numbers is never held whole in the driver's memory)."""
        try:
            with self.connection.cursor() as cursor:
                for row in cursor.stream(placeholders(sql), tuple(params), size=STREAM_ROWS):
                    yield tuple(row)
        except psycopg.OperationalError as error:
            raise unreachable(self.url, error) from None

    @property
    def in_transaction(self) -> bool:
        """Inside an open transaction (as sqlite3's attribute)."""
        status = self.connection.info.transaction_status
        return bool(status != psycopg.pq.TransactionStatus.IDLE)

    def close(self) -> None:
        """Close the connection."""
        self.connection.close()


def one(cursor: psycopg.Cursor[Any]) -> tuple[Any, ...]:
    """The one row a statement returns (a statement that returns none is a bug)."""
    row = cursor.fetchone()
    if row is None:
        raise AssertionError("the statement returned no row")
    return tuple(row)
