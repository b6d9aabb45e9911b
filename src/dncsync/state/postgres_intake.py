"""The intake store on PostgreSQL: replicas share the opt-outs they answered 202 for.

`IntakeStore`'s tables, queries and group commit (one writer thread per replica, many
requests per transaction, a 202 only after the commit), in the state's database.

Replicas share the work by claiming deliveries: `open_deliveries` takes the oldest open rows
`FOR UPDATE SKIP LOCKED` and marks them with this process's claim, the identity of a session
of its own (backend pid and start), so two replicas never take the same rows, and the rows a
dead replica had claimed are free again the moment its session ends: a claim whose session
is gone from `pg_stat_activity` counts as none. `settle` clears the claims it settles;
`release` gives back the ones a pusher could not push (another replica holds the list).

Reads go through a psycopg-pool pool (the API's threads read at once, not one at a time).

Why claims on the intake's own rows and not a job queue (procrastinate): the work is not a
job per request but "what is open for this target now", sent as one micro-batch under the
list's lock, and settled in the same tables the API, reports and `sync` read. A queue would
duplicate that state in its own tables, add its worker model (and its schema) beside the
pusher, and still need the list lock. `FOR UPDATE SKIP LOCKED` on the rows already there is
the part of a queue this needs.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

import psycopg
from psycopg_pool import ConnectionPool

from dncsync.errors import DncsyncError, InputError
from dncsync.intake import OptOut, rfc3339
from dncsync.state.intake import Accepted, Idempotency, IntakeStore, Pending, pending_of
from dncsync.state.pgconnection import Shim, connect, connection_options, one, shown
from dncsync.state.pgschema import prepare

# SQLite sums booleans; PostgreSQL counts with FILTER.
_STATS = (
    "SELECT r.id, r.received_at, r.deadline, r.withdrawn_at, "
    "COUNT(*) FILTER (WHERE d.status IN ('pending', 'failed') AND {configured}), "
    "COUNT(*) FILTER (WHERE d.status = 'failed' AND {configured}) "
    "FROM requests r LEFT JOIN deliveries d ON d.request_id = r.id "
    "WHERE r.accepted_at >= ? GROUP BY r.id"
)
# A session's identity, the same text whichever session computes it (no time zone in it).
_SESSION = "pid || ':' || extract(epoch FROM backend_start)::text"
_CLAIM = """
WITH picked AS (
    SELECT d.request_id, d.target FROM deliveries d JOIN requests r ON r.id = d.request_id
    WHERE d.target = ?
      AND (d.status = 'pending' OR (d.status = 'failed' AND d.next_try <= ?))
      AND r.withdrawn_at IS NULL
      AND (d.claimed_by IS NULL OR d.claimed_by = ? OR NOT EXISTS (
          SELECT 1 FROM pg_stat_activity WHERE {session} = d.claimed_by))
    ORDER BY r.accepted_at LIMIT ?
    FOR UPDATE OF d SKIP LOCKED
)
UPDATE deliveries d SET claimed_by = ?
FROM picked p JOIN requests r ON r.id = p.request_id
WHERE d.request_id = p.request_id AND d.target = p.target
RETURNING r.id, r.phone, r.reason, r.received_at, r.deadline, r.accepted_at
""".replace("{session}", _SESSION)


class PostgresIntakeStore(IntakeStore):
    """The intake tables in the PostgreSQL state; one instance per replica."""

    _FAILURES = (psycopg.Error, DncsyncError)
    _REFUSED = (psycopg.IntegrityError, ValueError)
    _BEGIN = "BEGIN"
    _ALWAYS = "TRUE"
    _STATS = _STATS

    def __init__(
        self,
        url: str,
        targets: Mapping[str, Sequence[str] | None],
        password_env: str = "DNCSYNC_DATABASE_PASSWORD",  # noqa: S107 - a variable's name
    ) -> None:
        # Not IntakeStore.__init__: there is no file to create.
        self.url = url
        self.password_env = password_env
        self.path = cast(Any, shown(url))  # messages name the database where they name a file
        self.targets = dict(targets)
        self._read_lock = threading.Lock()
        self._claimer = Shim(connect(url, password_env), url)
        self.claim = str(
            one(
                self._claimer.execute(
                    f"SELECT {_SESSION} FROM pg_stat_activity WHERE pid = pg_backend_pid()"  # noqa: S608 - a constant
                )
            )[0]
        )
        self._claim_lock = threading.Lock()
        with contextlib.ExitStack() as undo:
            undo.callback(self._claimer.close)
            prepare(self._claimer, str(self.path))  # the state's migrations hold the tables
            self._pool: ConnectionPool[Any] = ConnectionPool(
                url,
                min_size=1,
                max_size=4,
                kwargs={"autocommit": True, **connection_options(password_env)},
                open=True,
                name="dncsync-intake",
            )
            undo.pop_all()
        self._reader = cast(Any, None)
        self._queue = queue.SimpleQueue()
        self._writer = None
        self.commits = 0

    def _connect(self) -> Any:
        return Shim(connect(self.url, self.password_env), self.url)

    def close(self) -> None:
        """Finish queued writes, stop the writer, close every connection."""
        if self._writer is not None:
            self._queue.put(None)
            self._writer.join()
            self._writer = None
        self._pool.close()
        self._claimer.close()

    @contextlib.contextmanager
    def _reading(self) -> Iterator[Any]:
        try:
            with self._pool.connection() as connection:
                yield Shim(connection, self.url)
        except self._FAILURES as error:
            raise InputError(f"{self.path}: cannot read the intake store: {error}") from None

    def open_deliveries(self, target: str, limit: int, now: datetime) -> list[Pending]:
        """Claim open deliveries of `target` no live replica has claimed, oldest first."""
        with self._claim_lock:
            try:
                rows = self._claimer.execute(
                    _CLAIM, (target, rfc3339(now), self.claim, limit, self.claim)
                ).fetchall()
            except self._FAILURES as error:
                raise InputError(f"{self.path}: cannot claim intake work: {error}") from None
        found = pending_of(rows)
        found.sort(key=lambda pending: (pending.accepted_at, pending.request_id))
        return found

    def release(self, target: str, request_ids: Sequence[str]) -> None:
        """Give back claims this replica could not push (another holds the list now)."""
        with self._claim_lock:
            self._claimer.execute(
                "UPDATE deliveries SET claimed_by = NULL "
                "WHERE target = ? AND request_id = ANY(?) AND claimed_by = ?",
                (target, list(request_ids), self.claim),
            )

    def _do_accept(
        self,
        db: Any,
        optouts: tuple[OptOut, ...],
        body: str,
        idempotency: Idempotency | None,
    ) -> Accepted:
        # Another replica may take the same Idempotency-Key at the same moment (a client's
        # retry through the load balancer): the key's row is inserted first, and an insert
        # that meets another transaction's waits for it, then finds its answer to replay.
        if idempotency is not None:
            taken = db.execute(
                "INSERT INTO idempotency VALUES (?, ?, ?, 202, ?) ON CONFLICT DO NOTHING "
                "RETURNING 1",
                (idempotency.owner, idempotency.key, idempotency.digest, body),
            ).fetchone()
            if taken is None:
                digest, status, first = one(
                    db.execute(
                        "SELECT digest, status, body FROM idempotency WHERE owner = ? AND key = ?",
                        (idempotency.owner, idempotency.key),
                    )
                )
                if digest != idempotency.digest:
                    return Accepted(409, "", conflict=True)
                return Accepted(int(status), str(first), replayed=True)
        self._insert(db, optouts)
        return Accepted(202, body)

    def _do_settle(
        self,
        db: Any,
        target: str,
        held: tuple[str, ...],
        failed: dict[str, str],
        skipped: dict[str, str],
        retry_at: datetime,
    ) -> None:
        super()._do_settle(db, target, held, failed, skipped, retry_at)
        db.execute(
            "UPDATE deliveries SET claimed_by = NULL WHERE target = ? AND request_id = ANY(?)",
            (target, [*held, *failed, *skipped]),
        )


__all__ = ["PostgresIntakeStore"]
