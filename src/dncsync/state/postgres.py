"""The PostgreSQL state store: one database shared by several `dncsync serve` replicas.

The second implementation of `state.protocol.Store`, for deployments that outgrow one
machine (docs/deploy.md). The tables and the rules are SQLite's (`state.sqlite`): the queries
that are the same SQL run through `pgconnection.Shim` unchanged, and only what differs is
written here: the schema and its migrations, transactions, `INSERT OR ...`, and the locks.

Locks are session advisory locks, held on a connection of their own (TCP keepalives and
`tcp_user_timeout` on both ends), keyed by a digest of the list's identity, so:
- one process at a time pushes a list, on any replica;
- a process that dies (SIGKILL, power, a cut cable) loses its session, and with it its locks,
  within seconds: another replica takes the list over at its next flush;
- every journal write for a locked list is fenced: in its own transaction it checks that the
  lock's session still holds the lock (`pg_locks`), and raises `LockLost` when not, so a
  replica the database gave up on cannot write as a second owner;
- each run's own lock works the same, so a run whose process died reads as `interrupted`.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from typing import Any, cast

import psycopg

from dncsync.errors import AlreadyRunning, DncsyncError, LockLost
from dncsync.plan import Batch
from dncsync.snapshot import Held
from dncsync.state.pgconnection import Shim, connect, one, shown
from dncsync.state.pgschema import LIST_LOCKS, RUN_LOCKS, prepare
from dncsync.state.sqlite import StateStore, _iso, _now
from dncsync.targets.base import BatchResult


def lock_key(name: str) -> int:
    """A non-negative int4 for a name (a list's identity, a run id)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big") & 0x7FFFFFFF


class PostgresStore(StateStore):
    """A PostgreSQL state; one instance per process (a replica may open several)."""

    def __init__(
        self,
        url: str,
        password_env: str = "DNCSYNC_DATABASE_PASSWORD",  # noqa: S107 - a variable's name
    ) -> None:
        # Not StateStore.__init__: there is no file. Its methods run on `self._db`, a `Shim`
        # answering the subset of sqlite3.Connection they call.
        self.url = url
        self._password_env = password_env
        self.path = cast(Any, shown(url))  # messages name the database where they name a file
        self._depth = 0
        self._run_locks: dict[str, contextlib.ExitStack] = {}
        self._held: dict[str, int] = {}  # list key -> its lock's int4, while held here
        with contextlib.ExitStack() as undo:
            self._work = Shim(connect(url, password_env), url)
            undo.callback(self._work.close)
            # Locks live on their own session: a long query on the working connection never
            # delays noticing that it was lost, and closing it releases them all.
            self._locks = Shim(connect(url, password_env), url)
            undo.callback(self._locks.close)
            self._lock_pid = int(one(self._locks.execute("SELECT pg_backend_pid()"))[0])
            self._db = cast(Any, self._work)
            prepare(self._work, str(self.path))
            undo.pop_all()

    def close(self) -> None:
        """Close both sessions (which releases every lock this store held)."""
        for held in self._run_locks.values():
            held.close()
        self._run_locks.clear()
        self._work.close()
        self._locks.close()

    def __enter__(self) -> PostgresStore:
        return self

    # -- transactions ---------------------------------------------------------------------

    @contextlib.contextmanager
    def atomic(self) -> Iterator[Any]:
        """A transaction; nested calls become savepoints."""
        name = f"sp{self._depth}"
        outer = self._depth == 0
        self._work.execute("BEGIN" if outer else f"SAVEPOINT {name}")
        self._depth += 1
        try:
            yield self._work
        except BaseException:
            self._depth -= 1
            with contextlib.suppress(psycopg.Error, DncsyncError):
                self._work.execute("ROLLBACK" if outer else f"ROLLBACK TO SAVEPOINT {name}")
                if not outer:
                    self._work.execute(f"RELEASE SAVEPOINT {name}")
            raise
        self._depth -= 1
        self._work.execute("COMMIT" if outer else f"RELEASE SAVEPOINT {name}")

    # -- locking --------------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self, key: str, label: str | None = None) -> Iterator[None]:
        """Hold a list's lock on any replica, or raise `AlreadyRunning` at once."""
        number = lock_key(key)
        self._reconnect_if_lost()
        with self._advisory(LIST_LOCKS, number) as held:
            if not held:
                raise AlreadyRunning(
                    f"another dncsync process is syncing target {label or key!r} right now "
                    f"(list {key}); this target stopped before doing anything"
                )
            self._held[key] = number
            try:
                yield
            finally:
                self._held.pop(key, None)

    def _reconnect_if_lost(self) -> None:
        """A session the database ended (a cut network, a restart) is opened anew between
        pushes, so a replica that lost its locks takes part again once it can reach the
        database; the locks themselves are never carried over."""
        if self._held or self._depth:
            return
        for name in ("_work", "_locks"):
            shim: Shim = getattr(self, name)
            if shim.connection.broken or shim.connection.closed:
                shim.close()
                setattr(self, name, Shim(connect(self.url, self._password_env), self.url))
                if name == "_locks":
                    self._lock_pid = int(one(self._locks.execute("SELECT pg_backend_pid()"))[0])
        self._db = cast(Any, self._work)

    @contextlib.contextmanager
    def _advisory(self, space: int, number: int) -> Iterator[bool]:
        row = one(self._locks.execute("SELECT pg_try_advisory_lock(?, ?)", (space, number)))
        if not row[0]:
            yield False
            return
        try:
            yield True
        finally:
            # A lost session released it already; the unlock then fails, and that is fine.
            with contextlib.suppress(psycopg.Error, DncsyncError):
                self._locks.execute("SELECT pg_advisory_unlock(?, ?)", (space, number))

    def _fence(self, db: Any, key: str) -> None:
        """Inside a write's transaction: the lock on `key` is still this process's."""
        number = self._held.get(key)
        if number is None:
            return  # not pushing under a list lock (a reconcile's own write, a test)
        row = one(
            db.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND pid = ? AND classid = ? AND objid = ? AND objsubid = 2",
                (self._lock_pid, LIST_LOCKS, number),
            )
        )
        if not row[0]:
            raise LockLost(
                f"the lock on list {key} was lost (the database ended this process's session); "
                "another process may push it now: this one stopped writing for it"
            )

    # -- what differs from SQLite's SQL ---------------------------------------------------

    @staticmethod
    def _first_seen_chunk(
        db: Any, phones: list[str], today: date, result: dict[str, date], record: bool
    ) -> None:
        for phone in phones:
            result[phone] = today
        if record:
            db.executemany(
                "INSERT INTO first_seen VALUES (?, ?) ON CONFLICT DO NOTHING",
                ((phone, today.isoformat()) for phone in phones),
            )
        for phone, seen_on in db.execute(
            "SELECT phone, seen_on FROM first_seen WHERE phone = ANY(?)", (phones,)
        ):
            result[phone] = date.fromisoformat(seen_on)

    def _stream(self, sql: str, params: tuple[Any, ...]) -> Iterable[tuple[Any, ...]]:
        return self._work.stream(sql, params)

    def holding(self, key: str, phones: Sequence[str]) -> set[str]:
        """The numbers among `phones` the list's snapshot holds (one query: `= ANY`)."""
        rows = self._work.execute(
            "SELECT phone FROM snapshot WHERE target = ? AND phone = ANY(?)", (key, list(phones))
        )
        return {row[0] for row in rows}

    def replace_snapshot(self, key: str, held: Iterable[tuple[str, Held]], run_id: str) -> None:
        """Replace a list's snapshot with what the platform was read to hold (fenced)."""
        with self.atomic() as db:
            self._fence(db, key)
            super().replace_snapshot(key, held, run_id)

    def batch_intended(self, run_id: str, key: str, batch: Batch) -> int:
        """Journal a batch about to be sent (fenced by the list's lock); its journal id."""
        with self.atomic() as db:
            self._fence(db, key)
            row = one(
                db.execute(
                    "INSERT INTO batches (run_id, target, key, action, expires, count, state, "
                    "intended_at) VALUES (?, ?, ?, ?, ?, ?, 'intended', ?) RETURNING id",
                    (
                        run_id,
                        key,
                        batch.key,
                        batch.action,
                        _iso(batch.expires),
                        len(batch.phones),
                        _now(),
                    ),
                )
            )
            return int(row[0])

    def batch_settled(
        self, batch_id: int, key: str, batch: Batch, result: BatchResult, *, run_id: str
    ) -> None:
        """Journal the answer and apply it to the snapshot (fenced by the list's lock)."""
        with self.atomic() as db:
            self._fence(db, key)
            super().batch_settled(batch_id, key, batch, result, run_id=run_id)

    # -- runs -----------------------------------------------------------------------------

    def _run_lock(self, run_id: str) -> contextlib.AbstractContextManager[bool]:
        """A run's own lock: a session advisory lock, released when its session ends (a
        SIGKILLed replica's runs read `interrupted` once the database notices)."""
        return self._advisory(RUN_LOCKS, lock_key(run_id))


__all__ = ["PostgresStore", "lock_key"]
