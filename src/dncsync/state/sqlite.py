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
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from dncsync.errors import AlreadyRunning, InputError
from dncsync.plan import Batch, Held
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


MIGRATIONS: Sequence[tuple[str, Callable[[sqlite3.Connection], None]]] = (
    ("0001_initial", _migration_1),
)


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
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if not self.path.exists():
                # Holds phone numbers: owner-only from the first byte.
                os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
            self._db = sqlite3.connect(self.path, isolation_level=None, timeout=30.0)
        except (OSError, sqlite3.Error) as error:
            raise InputError(f"cannot open the state store {self.path}: {error}") from error
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._depth = 0
        self._migrate()

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transactions ---------------------------------------------------------------------

    @contextlib.contextmanager
    def atomic(self) -> Iterator[sqlite3.Connection]:
        """A transaction; nested calls become savepoints."""
        name = f"sp{self._depth}"
        outer = self._depth == 0
        self._db.execute("BEGIN IMMEDIATE" if outer else f"SAVEPOINT {name}")
        self._depth += 1
        try:
            yield self._db
        except BaseException:
            self._depth -= 1
            self._db.execute("ROLLBACK" if outer else f"ROLLBACK TO {name}")
            if not outer:
                self._db.execute(f"RELEASE {name}")
            raise
        self._depth -= 1
        self._db.execute("COMMIT" if outer else f"RELEASE {name}")

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
    def lock(self, target: str) -> Iterator[None]:
        """Hold the target's run lock, or fail at once if another process holds it.

        An OS file lock beside the database, so a process killed with SIGKILL releases it.
        """
        lock_dir = self.path.with_name(self.path.name + ".locks")
        lock_dir.mkdir(mode=0o700, exist_ok=True)
        lock_path = lock_dir / f"{_safe_name(target)}.lock"
        handle = os.open(lock_path, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise AlreadyRunning(
                    f"another dncsync run is syncing target {target!r} right now "
                    f"(lock {lock_path}); this run stopped before doing anything"
                ) from None
            yield
        finally:
            os.close(handle)

    # -- snapshot -------------------------------------------------------------------------

    def snapshot(self, target: str) -> dict[str, Held]:
        """What the platform holds for a target, as far as dncsync knows."""
        interned: dict[tuple[str | None, str | None], Held] = {}
        held: dict[str, Held] = {}
        for phone, retention_end, platform_expires in self._db.execute(
            "SELECT phone, retention_end, platform_expires FROM snapshot WHERE target = ?",
            (target,),
        ):
            key = (retention_end, platform_expires)
            value = interned.get(key)
            if value is None:
                value = interned[key] = Held(_date(retention_end), _date(platform_expires))
            held[phone] = value
        return held

    def snapshot_size(self, target: str) -> int:
        """How many numbers the snapshot holds for a target."""
        row = self._db.execute(
            "SELECT count(*) FROM snapshot WHERE target = ?", (target,)
        ).fetchone()
        return int(row[0])

    def is_seeded(self, target: str) -> bool:
        """True once a target's snapshot was seeded from the platform's own list."""
        row = self._db.execute("SELECT seeded_at FROM targets WHERE name = ?", (target,)).fetchone()
        return row is not None and row[0] is not None

    def replace_snapshot(self, target: str, held: Iterable[tuple[str, Held]], run_id: str) -> None:
        """Replace a target's snapshot with what the platform was read to hold."""
        with self.atomic() as db:
            db.execute("DELETE FROM snapshot WHERE target = ?", (target,))
            db.executemany(
                "INSERT INTO snapshot VALUES (?, ?, ?, ?, ?)",
                (
                    (target, phone, _iso(h.retention_end), _iso(h.platform_expires), run_id)
                    for phone, h in held
                ),
            )
            db.execute(
                "INSERT INTO targets (name, seeded_at) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET seeded_at = excluded.seeded_at",
                (target, _now()),
            )

    # -- first seen -----------------------------------------------------------------------

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

    # -- journal --------------------------------------------------------------------------

    def batch_intended(self, run_id: str, target: str, batch: Batch) -> int:
        """Record a batch as about to be sent; returns its journal id."""
        with self.atomic() as db:
            cursor = db.execute(
                "INSERT INTO batches (run_id, target, key, action, expires, count, state, "
                "intended_at) VALUES (?, ?, ?, ?, ?, ?, 'intended', ?)",
                (
                    run_id,
                    target,
                    batch.key,
                    batch.action,
                    _iso(batch.expires),
                    len(batch.phones),
                    _now(),
                ),
            )
            return int(cursor.lastrowid or 0)

    def batch_settled(
        self, batch_id: int, target: str, batch: Batch, result: BatchResult, *, run_id: str
    ) -> None:
        """Record the platform's answer and, in the same transaction, apply it to the snapshot."""
        acked = set(result.acknowledged)
        with self.atomic() as db:
            if batch.action == "add":
                db.executemany(
                    "INSERT INTO snapshot VALUES (?, ?, ?, ?, ?) ON CONFLICT (target, phone) "
                    "DO UPDATE SET retention_end = excluded.retention_end, "
                    "platform_expires = excluded.platform_expires, "
                    "updated_run = excluded.updated_run",
                    (
                        (
                            target,
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
                    ((target, phone) for phone in batch.phones if phone in acked),
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

    def run_started(
        self, run_id: str, command: str, started_at: str, config_digest: str, targets: list[str]
    ) -> None:
        """Record a run as started."""
        with self.atomic() as db:
            db.execute(
                "INSERT INTO runs (id, command, started_at, status, config_digest, targets) "
                "VALUES (?, ?, ?, 'running', ?, ?)",
                (run_id, command, started_at, config_digest, json.dumps(targets)),
            )

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

    def runs(self, target: str | None = None, limit: int | None = None) -> list[RunRecord]:
        """Run history, newest first; optionally only runs that touched one target."""
        rows = [
            self._run(row)
            for row in self._db.execute("SELECT * FROM runs ORDER BY started_at DESC, id DESC")
        ]
        if target is not None:
            rows = [run for run in rows if target in run.targets]
        return rows if limit is None else rows[:limit]

    def run(self, run_id: str) -> RunRecord | None:
        """One run by id (or by a unique prefix of it)."""
        rows = self._db.execute(
            "SELECT * FROM runs WHERE id = ? OR id LIKE ? ORDER BY id", (run_id, run_id + "%")
        ).fetchall()
        exact = [row for row in rows if row[0] == run_id]
        if exact:
            return self._run(exact[0])
        return self._run(rows[0]) if len(rows) == 1 else None

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
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name) or "_"
