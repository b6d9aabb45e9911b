"""The SQLite state store: one file (WAL) holding what dncsync knows between runs.

The embedded implementation of `state.protocol.Store`, the one the run lifecycle talks to.

- `snapshot`: per target, the numbers the platform holds (as far as acknowledged writes and
  reconciles show) with their retention end and platform expiration. It changes only when the
  platform acknowledged a write, in the same transaction that marks the batch acknowledged, so a
  crash at any point leaves it true (at worst it lags the platform by the batches in flight).
- `batches`: the journal. A batch is recorded as intended before it is sent and as acknowledged
  (or failed) after; batches are identified by a digest of their content, never a file offset.
- `first_seen`: the first run that saw a number with no collection date, so a RELATIVE
  retention counted from it does not slide from run to run (DOMAIN.md principle 5).
- `runs`: history and evidence pointers (report and audit paths, the audit chain's seal).
- `targets`: per-target facts, such as whether a mirror target's snapshot was seeded.

Migrations are named functions applied in the transaction that records them. The file holds
phone numbers, so it is created owner-read/write only.

Storage failures are the operator's to fix, so each is one line naming the file and what to
do (`StateStore.storage_error`): a full disk or a folder that cannot be written is exit 2; a
file that is not a dncsync state (damaged, another program's database) or one written by a
newer dncsync (a migration this version does not know) is exit 3, and is never written to. A
write that fails leaves the transaction rolled back, so the snapshot never holds a number the
platform did not acknowledge.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import json
import os
import sqlite3
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, Concatenate, NoReturn, ParamSpec, TypeVar

import numpy as np

import dncsync
from dncsync.columnar.index import Keys
from dncsync.errors import AlreadyRunning, ConfigError, DncsyncError, InputError
from dncsync.files import storage_error
from dncsync.plan import Batch
from dncsync.snapshot import Held, HeldColumns
from dncsync.state.protocol import RunRecord
from dncsync.targets.base import BatchResult


def _run_script(db: sqlite3.Connection, script: str) -> None:
    # Not executescript(): it commits first, which would break the migration's transaction.
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def _migration_1(db: sqlite3.Connection) -> None:
    _run_script(
        db,
        """
        CREATE TABLE targets (
            name TEXT PRIMARY KEY,
            seeded_at TEXT
        );
        CREATE TABLE snapshot (
            target TEXT NOT NULL,
            phone TEXT NOT NULL,
            retention_end TEXT,
            platform_expires TEXT,
            updated_run TEXT,
            PRIMARY KEY (target, phone)
        ) WITHOUT ROWID;
        CREATE TABLE first_seen (
            phone TEXT PRIMARY KEY,
            seen_on TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE runs (
            id TEXT PRIMARY KEY,
            command TEXT NOT NULL,
            started_at TEXT NOT NULL,
            ended_at TEXT,
            status TEXT NOT NULL,
            config_digest TEXT,
            targets TEXT NOT NULL DEFAULT '[]',
            summary TEXT NOT NULL DEFAULT '{}',
            report_path TEXT,
            html_report_path TEXT,
            audit_path TEXT,
            audit_hash TEXT,
            audit_lines INTEGER
        );
        CREATE TABLE batches (
            id INTEGER PRIMARY KEY,
            run_id TEXT NOT NULL,
            target TEXT NOT NULL,
            key TEXT NOT NULL,
            action TEXT NOT NULL,
            expires TEXT,
            count INTEGER NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('intended', 'acknowledged', 'failed')),
            intended_at TEXT NOT NULL,
            settled_at TEXT,
            acknowledged INTEGER NOT NULL DEFAULT 0,
            failed INTEGER NOT NULL DEFAULT 0,
            attempts INTEGER NOT NULL DEFAULT 0,
            correlation_id TEXT,
            error TEXT
        );
        CREATE INDEX batches_by_target ON batches (target, state);
        """,
    )


def _migration_2(db: sqlite3.Connection) -> None:
    """State bound to lists, not target names; numbers marked by who put them on the list.

    The `target` columns hold a list's identity from now on (`Platform.list_identity`). The
    names written before are kept in `legacy_names` until a run maps each to the identity the
    configuration gives it (`adopt`): never reset, never guessed. Rows a read of the platform
    wrote (a seeded or corrected snapshot) may hold numbers someone else added, so they are
    marked as found on the platform: the protective reading, which no plan removes.
    """
    _run_script(
        db,
        """
        ALTER TABLE snapshot ADD COLUMN origin TEXT NOT NULL DEFAULT 'ours';
        ALTER TABLE targets ADD COLUMN read_at TEXT;
        ALTER TABLE targets ADD COLUMN label TEXT;
        CREATE TABLE legacy_names (name TEXT PRIMARY KEY) WITHOUT ROWID;
        INSERT OR IGNORE INTO legacy_names SELECT DISTINCT target FROM snapshot;
        INSERT OR IGNORE INTO legacy_names SELECT name FROM targets;
        INSERT OR IGNORE INTO legacy_names SELECT DISTINCT target FROM batches;
        UPDATE snapshot SET origin = 'platform'
            WHERE target IN (SELECT name FROM targets WHERE seeded_at IS NOT NULL);
        UPDATE targets SET read_at = seeded_at, label = name
        """,
    )


def _migration_3(db: sqlite3.Connection) -> None:
    """The objects read from sources of many objects, each with the numbers it held.

    A mirror target keeps the numbers of an object that has since vanished (an S3 lifecycle
    rule expiring old drops): they were opt-outs when read, and an object's absence is not a
    revocation. `numbers`: the object's accepted numbers, E.164 digits as little-endian uint64,
    sorted and zlib-compressed (a million numbers in a few MB).
    """
    _run_script(
        db,
        """
        CREATE TABLE source_objects (
            source TEXT NOT NULL,
            object TEXT NOT NULL,
            numbers BLOB NOT NULL,
            count INTEGER NOT NULL,
            read_at TEXT NOT NULL,
            PRIMARY KEY (source, object)
        ) WITHOUT ROWID
        """,
    )


MIGRATIONS: Sequence[tuple[str, Callable[[sqlite3.Connection], None]]] = (
    ("0001_initial", _migration_1),
    ("0002_list_identity", _migration_2),
    ("0003_source_objects", _migration_3),
)


# SQLite's primary result codes (https://sqlite.org/rescode.html) that mean the storage, not
# dncsync: the disk or folder (the operator frees space or fixes permissions), or the file.
_SQLITE_STORAGE = {
    3: "permission denied",  # SQLITE_PERM
    5: "locked by another process",  # SQLITE_BUSY
    6: "locked by another process",  # SQLITE_LOCKED
    8: "the file or its folder is read-only",  # SQLITE_READONLY
    10: "the disk reported an I/O error",  # SQLITE_IOERR
    13: "the disk is full",  # SQLITE_FULL
    14: "cannot open it (its folder missing or not writable?)",  # SQLITE_CANTOPEN
}
_SQLITE_DAMAGED = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB

P = ParamSpec("P")
R = TypeVar("R")


def _guarded(
    method: Callable[Concatenate[StateStore, P], R],
) -> Callable[Concatenate[StateStore, P], R]:
    """A store method whose SQLite storage failures become one clear DncsyncError."""

    @functools.wraps(method)
    def guarded(store: StateStore, /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(store, *args, **kwargs)
        except sqlite3.Error as error:
            store.raise_storage_error(error)

    return guarded


def _iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _date(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="milliseconds")


class StateStore:
    """The SQLite state file; one instance per process."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._depth = 0
        self._run_locks: dict[str, contextlib.ExitStack] = {}
        if self.path.is_dir():
            raise InputError(f"{self.path}: the state file is a folder: give a file name")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if not self.path.exists():
                # Holds phone numbers: owner-only from the first byte.
                os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
        except OSError as error:
            raise storage_error(self.path, error, "cannot create the state file") from None
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, timeout=30.0)
        except sqlite3.Error as error:
            self.raise_storage_error(error)
        try:
            self._check_ours()  # before anything is written to the file
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except BaseException as error:
            self._db.close()
            if isinstance(error, sqlite3.Error):
                self.raise_storage_error(error)
            raise

    def raise_storage_error(self, error: sqlite3.Error) -> NoReturn:
        """Raise what a failed SQLite call means for the operator: one line naming the file
        for a storage failure; any other SQLite error is a bug, raised as it is."""
        translated = self.storage_error(error)
        if translated is None:
            raise error
        raise translated from None

    def storage_error(self, error: sqlite3.Error) -> DncsyncError | None:
        """The one-line error a storage failure of SQLite means; None for anything else."""
        code = (getattr(error, "sqlite_errorcode", 0) or 0) & 0xFF
        if code in _SQLITE_DAMAGED:
            return self._not_ours(f"{error}")
        problem = _SQLITE_STORAGE.get(code)
        if problem is None:
            return None
        return InputError(
            f"{self.path}: cannot use the state file: {problem} ({error}); fix that and run "
            "again: the state records only what a platform acknowledged, and the next sync "
            "sends the rest"
        )

    def _not_ours(self, why: str) -> ConfigError:
        return ConfigError(
            f"{self.path}: not a dncsync state file, or a damaged one ({why}); restore it from "
            "a backup, or move it aside to start a new state (the next sync then reads or "
            "sends each list again)"
        )

    def close(self) -> None:
        """Close the connection (and release the lock of any run still open here)."""
        for held in self._run_locks.values():
            held.close()
        self._run_locks.clear()
        self._db.close()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transactions ---------------------------------------------------------------------

    @contextlib.contextmanager
    def atomic(self) -> Iterator[sqlite3.Connection]:
        """A transaction; nested calls become savepoints. A storage failure inside (or at
        the commit) rolls it back and raises `storage_error`'s one line."""
        name = f"sp{self._depth}"
        outer = self._depth == 0
        try:
            self._db.execute("BEGIN IMMEDIATE" if outer else f"SAVEPOINT {name}")
        except sqlite3.Error as error:
            self.raise_storage_error(error)
        self._depth += 1
        try:
            yield self._db
        except BaseException as error:
            self._depth -= 1
            self._undo(outer, name)
            if isinstance(error, sqlite3.Error):
                self.raise_storage_error(error)
            raise
        self._depth -= 1
        try:
            self._db.execute("COMMIT" if outer else f"RELEASE {name}")
        except sqlite3.Error as error:
            self._undo(outer, name)
            self.raise_storage_error(error)

    def _undo(self, outer: bool, name: str) -> None:
        """Roll back what the failed block did; SQLite may have rolled back already (a full
        disk ends the transaction), and a failing rollback must not hide why."""
        with contextlib.suppress(sqlite3.Error):
            if outer:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
            elif self._db.in_transaction:
                self._db.execute(f"ROLLBACK TO {name}")
                self._db.execute(f"RELEASE {name}")

    def _check_ours(self) -> None:
        """Refuse a file that is not a dncsync state, or is one from a newer dncsync."""
        tables = {
            row[0] for row in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
        if not tables:
            return  # a new state
        if "migrations" not in tables:
            shown = ", ".join(sorted(tables)[:5])
            raise self._not_ours(f"it holds tables dncsync does not know: {shown}")
        done = {row[0] for row in self._db.execute("SELECT name FROM migrations")}
        unknown = sorted(done - {name for name, _ in MIGRATIONS})
        if unknown:
            raise ConfigError(
                f"{self.path}: written by a newer dncsync (it has migration {unknown[-1]}, "
                f"which dncsync {dncsync.__version__} does not know); upgrade dncsync, or give "
                "this configuration a state file of its own; the file was not changed"
            )

    def _migrate(self) -> None:
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT)"
        )
        done = {row[0] for row in self._db.execute("SELECT name FROM migrations")}
        for name, apply in MIGRATIONS:
            if name in done:
                continue
            with self.atomic() as db:
                apply(db)
                db.execute("INSERT INTO migrations VALUES (?, ?)", (name, _now()))

    # -- locking --------------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self, key: str, label: str | None = None) -> Iterator[None]:
        """Hold a list's run lock, or fail at once if another process holds it.

        An OS file lock beside the database, so a process killed with SIGKILL releases it.
        `label` names the list in the message (the target's name).
        """
        with self._file_lock(f"list-{_safe_name(key)}") as held:
            if not held:
                raise AlreadyRunning(
                    f"another dncsync run is syncing target {label or key!r} right now "
                    f"(list {key}); this target stopped before doing anything"
                )
            yield

    @contextlib.contextmanager
    def _file_lock(self, name: str) -> Iterator[bool]:
        lock_dir = self.path.with_name(self.path.name + ".locks")
        try:
            lock_dir.mkdir(mode=0o700, exist_ok=True)
            handle = os.open(lock_dir / f"{name}.lock", os.O_CREAT | os.O_RDWR, 0o600)
        except OSError as error:
            raise storage_error(lock_dir, error, "cannot create the run lock") from None
        try:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            yield True
        finally:
            os.close(handle)

    # -- lists and the names they had -----------------------------------------------------

    @_guarded
    def adopt(self, name: str, key: str) -> bool:
        """Move what a state file written before list identities kept under a target's name
        to the list's identity; True when there was something to move.

        Only a name recorded as legacy moves, and only onto an identity that holds nothing
        yet: a state is migrated in place, never reset and never merged into another list.
        """
        with self.atomic() as db:
            if not self._is_legacy(name) or name == key:
                return False
            db.execute("DELETE FROM legacy_names WHERE name = ?", (name,))
            if self._known(key):
                return False
            db.execute("UPDATE snapshot SET target = ? WHERE target = ?", (key, name))
            db.execute("UPDATE batches SET target = ? WHERE target = ?", (key, name))
            db.execute("UPDATE targets SET name = ? WHERE name = ?", (key, name))
            return True

    @_guarded
    def resolve(self, name: str, key: str) -> str:
        """The key a read-only run reads a list's state under: its identity, or the legacy
        name an unmigrated state still keeps it under."""
        if self._known(key) or not self._is_legacy(name):
            return key
        return name

    def _is_legacy(self, name: str) -> bool:
        row = self._db.execute("SELECT 1 FROM legacy_names WHERE name = ?", (name,)).fetchone()
        return row is not None

    def _known(self, key: str) -> bool:
        for table, column in (("snapshot", "target"), ("targets", "name"), ("batches", "target")):
            row = self._db.execute(
                f"SELECT 1 FROM {table} WHERE {column} = ? LIMIT 1",  # noqa: S608 - fixed names
                (key,),
            ).fetchone()
            if row is not None:
                return True
        return False

    # -- snapshot -------------------------------------------------------------------------

    @_guarded
    def snapshot(self, key: str) -> HeldColumns:
        """What the platform holds for a list, as far as dncsync knows (as columns: a list
        of two million numbers is 24 MB, not a 200 MB dict)."""
        interned: dict[tuple[str | None, str | None, str], Held] = {}

        def held(retention_end: str | None, platform_expires: str | None, origin: str) -> Held:
            cache = (retention_end, platform_expires, origin)
            value = interned.get(cache)
            if value is None:
                value = interned[cache] = Held(
                    _date(retention_end), _date(platform_expires), origin == "ours"
                )
            return value

        rows = self._stream(
            "SELECT phone, retention_end, platform_expires, origin FROM snapshot WHERE target = ?",
            (key,),
        )
        return HeldColumns.of((phone, held(*rest)) for phone, *rest in rows)

    def _stream(self, sql: str, params: tuple[Any, ...]) -> Iterable[tuple[Any, ...]]:
        """A large result's rows as they are read (SQLite's cursor already reads lazily)."""
        return self._db.execute(sql, params)

    @_guarded
    @_guarded
    def holding(self, key: str, phones: Sequence[str]) -> set[str]:
        """The numbers among `phones` the list's snapshot holds (acknowledged there)."""
        held: set[str] = set()
        for start in range(0, len(phones), 500):  # within SQLite's bound on parameters
            chunk = list(phones[start : start + 500])
            marks = ",".join("?" * len(chunk))
            held.update(
                row[0]
                for row in self._db.execute(
                    f"SELECT phone FROM snapshot WHERE target = ? AND phone IN ({marks})",  # noqa: S608 - placeholders only
                    (key, *chunk),
                )
            )
        return held

    def snapshot_size(self, key: str) -> int:
        """How many numbers the snapshot holds for a list."""
        row = self._db.execute("SELECT count(*) FROM snapshot WHERE target = ?", (key,)).fetchone()
        return int(row[0])

    @_guarded
    def is_seeded(self, key: str) -> bool:
        """True once a list's snapshot was read from the platform's own list."""
        return self.last_read(key) is not None

    @_guarded
    def last_read(self, key: str) -> datetime | None:
        """When the platform's whole list was last read (None: never)."""
        row = self._db.execute("SELECT read_at FROM targets WHERE name = ?", (key,)).fetchone()
        if row is None or row[0] is None:
            return None
        return datetime.fromisoformat(row[0])

    @_guarded
    def mark_read(self, key: str, label: str | None = None) -> None:
        """Record that the platform's whole list was read now and the snapshot agrees."""
        with self.atomic() as db:
            db.execute(
                "INSERT INTO targets (name, seeded_at, read_at, label) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET read_at = excluded.read_at, "
                "label = coalesce(excluded.label, targets.label)",
                (key, _now(), _now(), label),
            )

    @_guarded
    def replace_snapshot(self, key: str, held: Iterable[tuple[str, Held]], run_id: str) -> None:
        """Replace a list's snapshot with what the platform was read to hold."""
        with self.atomic() as db:
            db.execute("DELETE FROM snapshot WHERE target = ?", (key,))
            db.executemany(
                "INSERT INTO snapshot (target, phone, retention_end, platform_expires, "
                "updated_run, origin) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    (
                        key,
                        phone,
                        _iso(h.retention_end),
                        _iso(h.platform_expires),
                        run_id,
                        "ours" if h.ours else "platform",
                    )
                    for phone, h in held
                ),
            )
            self.mark_read(key)

    # -- first seen -----------------------------------------------------------------------

    @_guarded
    def first_seen(
        self, phones: Iterable[str], today: date, *, record: bool = True
    ) -> dict[str, date]:
        """The day each number was first seen; numbers seen for the first time get today.

        With `record=False` (a dry run) nothing is written: new numbers get today all the same.
        """
        result: dict[str, date] = {}
        pending: list[str] = []
        with self.atomic() as db:
            for phone in phones:
                pending.append(phone)
                if len(pending) >= 500:
                    self._first_seen_chunk(db, pending, today, result, record)
                    pending = []
            if pending:
                self._first_seen_chunk(db, pending, today, result, record)
        return result

    @staticmethod
    def _first_seen_chunk(
        db: sqlite3.Connection,
        phones: list[str],
        today: date,
        result: dict[str, date],
        record: bool,
    ) -> None:
        for phone in phones:
            result[phone] = today
        if record:
            db.executemany(
                "INSERT OR IGNORE INTO first_seen VALUES (?, ?)",
                ((phone, today.isoformat()) for phone in phones),
            )
        marks = ",".join("?" * len(phones))
        for phone, seen_on in db.execute(
            f"SELECT phone, seen_on FROM first_seen WHERE phone IN ({marks})",  # noqa: S608
            phones,
        ):
            result[phone] = date.fromisoformat(seen_on)

    # -- objects of sources of many objects -----------------------------------------------

    @_guarded
    def source_objects(self, source: str) -> dict[str, Keys]:
        """Each object an earlier sync read from a source of many objects, with its numbers."""
        found: dict[str, Keys] = {}
        for uri, blob in self._db.execute(
            "SELECT object, numbers FROM source_objects WHERE source = ? ORDER BY object",
            (source,),
        ):
            found[uri] = np.frombuffer(zlib.decompress(blob), "<u8").astype(np.uint64)
        return found

    @_guarded
    def record_source_objects(
        self, source: str, read: Mapping[str, Keys], forget: Iterable[str] = ()
    ) -> None:
        """Remember the numbers of the objects just read; drop the `forget` ones."""
        now = _now()
        with self.atomic() as db:
            db.executemany(
                # The upsert both SQLite and PostgreSQL read (`state.postgres` inherits this).
                "INSERT INTO source_objects VALUES (?, ?, ?, ?, ?) ON CONFLICT (source, object) "
                "DO UPDATE SET numbers = excluded.numbers, count = excluded.count, "
                "read_at = excluded.read_at",
                (
                    (source, uri, zlib.compress(np.asarray(keys, "<u8").tobytes()), keys.size, now)
                    for uri, keys in read.items()
                ),
            )
            db.executemany(
                "DELETE FROM source_objects WHERE source = ? AND object = ?",
                ((source, uri) for uri in forget),
            )

    # -- journal --------------------------------------------------------------------------

    @_guarded
    def batch_intended(self, run_id: str, key: str, batch: Batch) -> int:
        """Record a batch as about to be sent; returns its journal id."""
        with self.atomic() as db:
            cursor = db.execute(
                "INSERT INTO batches (run_id, target, key, action, expires, count, state, "
                "intended_at) VALUES (?, ?, ?, ?, ?, ?, 'intended', ?)",
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
            return int(cursor.lastrowid or 0)

    @_guarded
    def batch_settled(
        self, batch_id: int, key: str, batch: Batch, result: BatchResult, *, run_id: str
    ) -> None:
        """Record the platform's answer and, in the same transaction, apply it to the snapshot."""
        acked = set(result.acknowledged)
        with self.atomic() as db:
            if batch.action == "add":
                # A number found on the platform before keeps that mark: re-sending it does
                # not make it dncsync's to remove.
                db.executemany(
                    "INSERT INTO snapshot (target, phone, retention_end, platform_expires, "
                    "updated_run) VALUES (?, ?, ?, ?, ?) ON CONFLICT (target, phone) "
                    "DO UPDATE SET retention_end = excluded.retention_end, "
                    "platform_expires = excluded.platform_expires, "
                    "updated_run = excluded.updated_run",
                    (
                        (
                            key,
                            phone,
                            _iso(batch.retention_ends[index] if batch.retention_ends else None),
                            _iso(batch.platform_expiry_of(index)),
                            run_id,
                        )
                        for index, phone in enumerate(batch.phones)
                        if phone in acked
                    ),
                )
            else:
                db.executemany(
                    "DELETE FROM snapshot WHERE target = ? AND phone = ?",
                    ((key, phone) for phone in batch.phones if phone in acked),
                )
            db.execute(
                "UPDATE batches SET state = ?, settled_at = ?, acknowledged = ?, failed = ?, "
                "attempts = ?, correlation_id = ?, error = ? WHERE id = ?",
                (
                    "failed" if result.failed else "acknowledged",
                    _now(),
                    len(acked),
                    len(result.failed),
                    result.attempts,
                    ",".join(result.correlation_ids) or None,
                    result.error_summary(),
                    batch_id,
                ),
            )

    @_guarded
    def journal(self, target: str | None = None) -> list[dict[str, Any]]:
        """The batch journal, oldest first (for evidence and crash-recovery checks)."""
        query = "SELECT * FROM batches"
        params: tuple[str, ...] = ()
        if target is not None:
            query += " WHERE target = ?"
            params = (target,)
        cursor = self._db.execute(query + " ORDER BY id", params)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor]

    # -- runs -----------------------------------------------------------------------------

    @_guarded
    def run_started(
        self, run_id: str, command: str, started_at: str, config_digest: str, targets: list[str]
    ) -> None:
        """Record a run as started; its lock is held until it ends or its process dies."""
        held = contextlib.ExitStack()
        held.enter_context(self._run_lock(run_id))
        self._run_locks[run_id] = held
        with self.atomic() as db:
            db.execute(
                "INSERT INTO runs (id, command, started_at, status, config_digest, targets) "
                "VALUES (?, ?, ?, 'running', ?, ?)",
                (run_id, command, started_at, config_digest, json.dumps(targets)),
            )

    @_guarded
    def run_ended(
        self,
        run_id: str,
        *,
        ended_at: str,
        status: str,
        summary: dict[str, Any],
        report_path: str | None = None,
        html_report_path: str | None = None,
        audit_path: str | None = None,
        audit_hash: str | None = None,
        audit_lines: int | None = None,
    ) -> None:
        """Record how a run ended and where its evidence lies."""
        with self.atomic() as db:
            db.execute(
                "UPDATE runs SET ended_at = ?, status = ?, summary = ?, report_path = ?, "
                "html_report_path = ?, audit_path = ?, audit_hash = ?, audit_lines = ? "
                "WHERE id = ?",
                (
                    ended_at,
                    status,
                    json.dumps(summary, sort_keys=True),
                    report_path,
                    html_report_path,
                    audit_path,
                    audit_hash,
                    audit_lines,
                    run_id,
                ),
            )
        held = self._run_locks.pop(run_id, None)
        if held is not None:
            held.close()

    @_guarded
    def runs(self, target: str | None = None, limit: int | None = None) -> list[RunRecord]:
        """Run history, newest first; optionally only runs that touched one target."""
        self._settle_dead_runs()
        rows = [
            self._run(row)
            for row in self._db.execute("SELECT * FROM runs ORDER BY started_at DESC, id DESC")
        ]
        if target is not None:
            rows = [run for run in rows if target in run.targets]
        return rows if limit is None else rows[:limit]

    @_guarded
    def run(self, run_id: str) -> RunRecord | None:
        """One run by id (or by a unique prefix of it)."""
        self._settle_dead_runs()
        rows = self._db.execute(
            "SELECT * FROM runs WHERE id = ? OR id LIKE ? ORDER BY id", (run_id, run_id + "%")
        ).fetchall()
        exact = [row for row in rows if row[0] == run_id]
        if exact:
            return self._run(exact[0])
        return self._run(rows[0]) if len(rows) == 1 else None

    def _run_lock(self, run_id: str) -> contextlib.AbstractContextManager[bool]:
        """A run's own lock, held while it runs: a file lock here (True when taken); a
        database state's session lock in `state.postgres`."""
        return self._file_lock(f"run-{_safe_name(run_id)}")

    def _settle_dead_runs(self) -> None:
        """A run still `running` whose lock is free died (SIGKILL, power): it was interrupted."""
        running = [
            row[0] for row in self._db.execute("SELECT id FROM runs WHERE status = 'running'")
        ]
        for run_id in running:
            if run_id in self._run_locks:
                continue
            with self._run_lock(run_id) as free:
                if free:
                    with self.atomic() as db:
                        db.execute(
                            "UPDATE runs SET status = 'interrupted' "
                            "WHERE id = ? AND status = 'running'",
                            (run_id,),
                        )

    @staticmethod
    def _run(row: tuple[Any, ...]) -> RunRecord:
        return RunRecord(
            id=row[0],
            command=row[1],
            started_at=row[2],
            ended_at=row[3],
            status=row[4],
            config_digest=row[5],
            targets=json.loads(row[6]),
            summary=json.loads(row[7]),
            report_path=row[8],
            html_report_path=row[9],
            audit_path=row[10],
            audit_hash=row[11],
            audit_lines=row[12],
        )


def _safe_name(name: str) -> str:
    """A file name for a key: readable, and unique however the key is spelled."""
    readable = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)[:80]
    return f"{readable}-{hashlib.sha256(name.encode()).hexdigest()[:12]}"
