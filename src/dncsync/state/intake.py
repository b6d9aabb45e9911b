"""The intake store: opt-outs `dncsync serve` answered 202 for, and where each is held.

A file of its own beside the state (`<state>.intake`), so taking requests in never waits on
a sync's or the pusher's writes to the state. SQLite in WAL with `synchronous=FULL`: a
commit is on the disk when it returns, and a 202 is sent only after the commit.

Group commit: every write goes through one writer thread, which takes whatever is queued
when it wakes (up to `_MOST_PER_COMMIT` pieces of work) and commits them in one
transaction, so many concurrent requests share one fsync. Each piece of work gets its own
answer through a `concurrent.futures.Future`.

Tables:
- `requests`: one row per opt-out (E.164 phone, reason, source label, scope, receipt time,
  deadline), and its withdrawal if one came; an opt-out found on a platform's list
  (`collect`) is one too, its source `platform:<target>`;
- `deliveries`: one row per request and target: `pending`, `held` (with `held_at`), `failed`
  (the platform refused the number; retried later) or `skipped` (the target does not take it);
- `idempotency`: an API key's digest, its `Idempotency-Key`, the request body's digest and
  the answer given, so a retry answers as the first time did;
- `texts`: inbound SMS that named a keyword (`sms.TextKind`): an opt-out (linked to its
  request), one kept for a person's review, or a START/UNSTOP; one row per provider message id;
- `schedules`: serve's timed jobs (a target's collection, a scheduled source): the last fire
  time taken, by whichever process or replica took it, so a fire is worked once; and what
  the job's last complete run read (a source's fingerprint).

New tables are added by `CREATE TABLE IF NOT EXISTS` when the store opens: a store written
before a table existed gains it empty, and nothing older changes.

The file holds phone numbers: created owner-read/write only.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import queue
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from dncsync.errors import InputError
from dncsync.files import storage_error
from dncsync.intake import OptOut, rfc3339, takes
from dncsync.model import Reason

_SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
    id TEXT PRIMARY KEY,
    phone TEXT NOT NULL,
    reason TEXT NOT NULL,
    reason_text TEXT NOT NULL,
    source TEXT NOT NULL,
    scope TEXT NOT NULL,
    received_at TEXT NOT NULL,
    deadline TEXT NOT NULL,
    accepted_at TEXT NOT NULL,
    withdrawn_at TEXT,
    withdrawal_reason TEXT
);
CREATE INDEX IF NOT EXISTS requests_phone ON requests (phone);
CREATE TABLE IF NOT EXISTS deliveries (
    request_id TEXT NOT NULL,
    target TEXT NOT NULL,
    status TEXT NOT NULL,
    held_at TEXT,
    error TEXT,
    next_try TEXT,
    PRIMARY KEY (request_id, target)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS deliveries_open ON deliveries (target, status);
CREATE TABLE IF NOT EXISTS idempotency (
    owner TEXT NOT NULL,
    key TEXT NOT NULL,
    digest TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (owner, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS texts (
    sid TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    phone TEXT NOT NULL,
    recipient TEXT NOT NULL,
    body TEXT NOT NULL,
    received_at TEXT NOT NULL,
    request_id TEXT
);
CREATE INDEX IF NOT EXISTS texts_kind ON texts (kind, received_at);
CREATE TABLE IF NOT EXISTS schedules (
    name TEXT PRIMARY KEY,
    fired TEXT,
    remembered TEXT
)
"""
_SELECT_REQUESTS = (
    "SELECT id, phone, reason, reason_text, source, scope, received_at, deadline, "
    "withdrawn_at, withdrawal_reason FROM requests "
)
# `{configured}` is replaced by `IntakeStore._configured()`'s condition (placeholders only).
_OPEN_COUNT = (
    "SELECT COUNT(*) FROM deliveries d JOIN requests r ON r.id = d.request_id "
    "WHERE d.status IN ('pending', 'failed') AND r.withdrawn_at IS NULL AND {configured}"
)
_STATS = (
    "SELECT r.id, r.received_at, r.deadline, r.withdrawn_at, "
    "SUM(d.status IN ('pending', 'failed') AND {configured}), "
    "SUM(d.status = 'failed' AND {configured}) "
    "FROM requests r LEFT JOIN deliveries d ON d.request_id = r.id "
    "WHERE r.accepted_at >= ? GROUP BY r.id"
)
# `{marks}` is replaced by one placeholder per phone.
_REOPEN = (
    "UPDATE deliveries SET status = 'pending', held_at = NULL, next_try = NULL "
    "WHERE target = ? AND status = 'held' AND request_id IN "
    "(SELECT id FROM requests WHERE withdrawn_at IS NULL AND phone IN ({marks}))"
)
# `{configured}` as above.
_OPEN_REQUESTS = (
    "SELECT DISTINCT r.id, r.received_at, r.deadline FROM requests r "
    "JOIN deliveries d ON d.request_id = r.id WHERE r.withdrawn_at IS NULL "
    "AND d.status IN ('pending', 'failed') AND {configured}"
)
_MOST_PER_COMMIT = 2048  # pieces of work in one transaction: bounds a commit's latency
OPEN = ("pending", "failed")  # delivery states the pusher still works on


def intake_path(state_path: Path | str) -> Path:
    """Where the intake store lives for a state file."""
    state = Path(state_path)
    return state.with_name(state.name + ".intake")


@dataclass(frozen=True, slots=True)
class Idempotency:
    """An `Idempotency-Key` as stored: whose (a digest of the API key), the key, the body."""

    owner: str
    key: str
    digest: str


@dataclass(frozen=True, slots=True)
class Text:
    """An inbound SMS that named a keyword, as stored."""

    sid: str  # the provider's message id: a retried webhook is stored once
    kind: str  # sms.TextKind's value
    phone: str  # the sender: E.164, or as the provider gave it when it is not a number
    recipient: str  # the number it was sent to
    body: str
    received_at: datetime
    request_id: str | None = None  # the opt-out it became


@dataclass(slots=True)
class Accepted:
    """The answer to an accept: committed, a replay of the first answer, or a conflict."""

    status: int
    body: str  # JSON text
    replayed: bool = False
    conflict: bool = False


@dataclass(frozen=True, slots=True)
class Pending:
    """One open delivery: a request the pusher must still get held on a target."""

    request_id: str
    phone: str
    reason: Reason
    received_at: datetime
    deadline: date
    accepted_at: datetime  # when the 202 was committed: the start of intake-to-held


def pending_of(rows: Iterable[Sequence[Any]]) -> list[Pending]:
    """Open deliveries from rows of (request id, phone, reason, received_at, deadline,
    accepted_at), as `open_deliveries` selects them."""
    return [
        Pending(
            rid,
            phone,
            Reason(reason),
            _moment(received),
            date.fromisoformat(deadline),
            _moment(accepted),
        )
        for rid, phone, reason, received, deadline, accepted in rows
    ]


@dataclass(slots=True)
class IntakeStats:
    """Counts for `/metrics`, `dncsync runs` and reports."""

    requests: int = 0
    withdrawn: int = 0
    by_status: dict[str, int] = field(default_factory=dict)  # request status -> count
    oldest_pending: datetime | None = None
    oldest_pending_deadline: date | None = None
    past_deadline: int = 0  # requests not held everywhere whose deadline has passed
    past_deadline_ids: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "requests": self.requests,
            "withdrawn": self.withdrawn,
            "by_status": dict(self.by_status),
            "oldest_pending": rfc3339(self.oldest_pending) if self.oldest_pending else None,
            "oldest_pending_deadline": self.oldest_pending_deadline.isoformat()
            if self.oldest_pending_deadline
            else None,
            "past_deadline": self.past_deadline,
            "past_deadline_ids": list(self.past_deadline_ids),
        }


_Work = tuple[str, tuple[Any, ...], "concurrent.futures.Future[Any]"]


class IntakeStore:
    """The intake file; one instance per process. Reads from any thread, writes queued."""

    # What a subclass on another database (`state.postgres_intake`) changes: its errors, how
    # a write transaction begins, the SQL that differs.
    _FAILURES: tuple[type[Exception], ...] = (sqlite3.Error,)
    _REFUSED: tuple[type[Exception], ...] = (sqlite3.IntegrityError, ValueError)
    _BEGIN = "BEGIN IMMEDIATE"
    _ALWAYS = "1"
    _STATS = _STATS

    def __init__(self, path: Path | str, targets: Mapping[str, Sequence[str] | None]) -> None:
        self.path = Path(path)
        self.targets = dict(targets)  # name -> scopes it takes (None: all)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if not self.path.exists():
                os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
        except OSError as error:
            raise storage_error(self.path, error, "cannot create the intake store") from None
        self._read_lock = threading.Lock()
        try:
            self._reader = self._connect()
            with self._read_lock:
                for statement in _SCHEMA.split(";"):
                    self._reader.execute(statement)
        except sqlite3.Error as error:
            raise InputError(f"{self.path}: cannot open the intake store: {error}") from None
        self._queue: queue.SimpleQueue[_Work | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self.commits = 0  # transactions committed (group commit: fewer than requests)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None, timeout=30.0, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")  # a 202 promises the request survives a crash
        return db

    # -- the writer -------------------------------------------------------------------------

    def start(self) -> None:
        """Start the writer thread (writes before this wait for it)."""
        if self._writer is None:
            self._writer = threading.Thread(target=self._write_loop, name="intake-writer")
            self._writer.daemon = True
            self._writer.start()

    def close(self) -> None:
        """Finish queued writes, stop the writer, close the file."""
        if self._writer is not None:
            self._queue.put(None)
            self._writer.join()
            self._writer = None
        with self._read_lock:
            self._reader.close()

    def _submit(self, kind: str, *args: Any) -> concurrent.futures.Future[Any]:
        self.start()
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._queue.put((kind, args, future))
        return future

    def _write_loop(self) -> None:
        db = self._connect()
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                break
            work = [first]
            while len(work) < _MOST_PER_COMMIT:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stopping = True
                    break
                work.append(more)
            self._commit(db, work)
        db.close()

    def _commit(self, db: sqlite3.Connection, work: list[_Work]) -> None:
        answers: list[Any] = [None] * len(work)
        try:
            db.execute(self._BEGIN)
            done = self._accept_plain(db, work, answers)
            for index, (kind, args, _) in enumerate(work):
                if index in done:
                    continue
                db.execute("SAVEPOINT one")
                try:
                    answers[index] = getattr(self, f"_do_{kind}")(db, *args)
                    db.execute("RELEASE one")
                except self._REFUSED as error:
                    db.execute("ROLLBACK TO one")
                    db.execute("RELEASE one")
                    answers[index] = error
            db.execute("COMMIT")
            self.commits += 1
        except self._FAILURES as error:
            with contextlib.suppress(*self._FAILURES):
                db.execute("ROLLBACK")
            failure = InputError(f"{self.path}: cannot write the intake store: {error}")
            for _, _, future in work:
                future.set_exception(failure)
            return
        for (_, _, future), answer in zip(work, answers, strict=True):
            if isinstance(answer, Exception):
                future.set_exception(answer)
            else:
                future.set_result(answer)

    def _accept_plain(
        self, db: sqlite3.Connection, work: list[_Work], answers: list[Any]
    ) -> frozenset[int]:
        """Store every accept of the group that has no Idempotency-Key with one pair of
        statements (a savepoint and two statements per request were most of the writer's time
        at hundreds of requests a second); the positions done. Accepts only insert new rows,
        so taking them first within the transaction changes nothing the others see. Should
        the pair fail (it cannot, short of a broken database), each is tried on its own."""
        plain = [
            i for i, (kind, args, _) in enumerate(work) if kind == "accept" and args[2] is None
        ]
        if len(plain) < 2:
            return frozenset()
        db.execute("SAVEPOINT plain")
        try:
            self._insert(db, [optout for i in plain for optout in work[i][1][0]])
        except self._REFUSED:
            db.execute("ROLLBACK TO plain")
            db.execute("RELEASE plain")
            return frozenset()
        db.execute("RELEASE plain")
        for i in plain:
            answers[i] = Accepted(202, work[i][1][1])
        return frozenset(plain)

    # -- writes (each runs in the writer's transaction) -------------------------------------

    def accept(
        self, optouts: Sequence[OptOut], body: str, idempotency: Idempotency | None
    ) -> concurrent.futures.Future[Accepted]:
        """Store the opt-outs (and the answer `body` under `idempotency`); resolves once
        committed, or with the first answer for a replay, or a conflict."""
        return self._submit("accept", tuple(optouts), body, idempotency)

    def _do_accept(
        self,
        db: sqlite3.Connection,
        optouts: tuple[OptOut, ...],
        body: str,
        idempotency: Idempotency | None,
    ) -> Accepted:
        if idempotency is not None:
            row = db.execute(
                "SELECT digest, status, body FROM idempotency WHERE owner = ? AND key = ?",
                (idempotency.owner, idempotency.key),
            ).fetchone()
            if row is not None:
                if row[0] != idempotency.digest:
                    return Accepted(409, "", conflict=True)
                return Accepted(int(row[1]), str(row[2]), replayed=True)
        self._insert(db, optouts)
        if idempotency is not None:
            db.execute(
                "INSERT INTO idempotency VALUES (?, ?, ?, 202, ?)",
                (idempotency.owner, idempotency.key, idempotency.digest, body),
            )
        return Accepted(202, body)

    def _insert(self, db: sqlite3.Connection, optouts: Sequence[OptOut]) -> None:
        """The rows of accepted opt-outs: the requests and a delivery per target."""
        now = _now()
        db.executemany(
            "INSERT INTO requests (id, phone, reason, reason_text, source, scope, received_at, "
            "deadline, accepted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    o.id,
                    o.phone,
                    o.reason.value,
                    o.reason_text,
                    o.source,
                    o.scope,
                    rfc3339(o.received_at),
                    o.deadline.isoformat(),
                    now,
                )
                for o in optouts
            ],
        )
        db.executemany(
            "INSERT INTO deliveries (request_id, target, status) VALUES (?, ?, ?)",
            [
                (o.id, name, "pending" if takes(scopes, o.scope) else "skipped")
                for o in optouts
                for name, scopes in self.targets.items()
            ],
        )

    def collect(self, optouts: Sequence[OptOut]) -> concurrent.futures.Future[list[OptOut]]:
        """Store opt-outs found on a platform's list; resolves to those stored. A number
        already collected from the same list (its `source`), even withdrawn since, is not
        stored again: a withdrawal is not undone by finding the number there once more."""
        return self._submit("collect", tuple(optouts))

    def _do_collect(self, db: sqlite3.Connection, optouts: tuple[OptOut, ...]) -> list[OptOut]:
        fresh: list[OptOut] = []
        for optout in optouts:
            known = db.execute(
                "SELECT 1 FROM requests WHERE phone = ? AND source = ? LIMIT 1",
                (optout.phone, optout.source),
            ).fetchone()
            if known is None:
                fresh.append(optout)
        self._insert(db, fresh)
        return fresh

    def reopen(self, target: str, phones: Sequence[str]) -> concurrent.futures.Future[int]:
        """Deliveries to `target` held before, of numbers its list was found not to hold
        (removed on the platform's side), pending again so the pusher sends them back;
        resolves to how many. Withdrawn requests stay as they are."""
        return self._submit("reopen", target, tuple(phones))

    def _do_reopen(self, db: sqlite3.Connection, target: str, phones: tuple[str, ...]) -> int:
        reopened = 0
        for start in range(0, len(phones), 500):  # within SQLite's bound on parameters
            chunk = phones[start : start + 500]
            marks = ",".join("?" * len(chunk))
            statement = _REOPEN.replace("{marks}", marks)  # placeholders only
            reopened += db.execute(statement, (target, *chunk)).rowcount
        return reopened

    def withdraw(self, request_id: str, reason: str) -> concurrent.futures.Future[bool | None]:
        """Withdraw a request (consent given back): True, False if it already was, None if
        there is no such request."""
        return self._submit("withdraw", request_id, reason)

    def _do_withdraw(self, db: sqlite3.Connection, request_id: str, reason: str) -> bool | None:
        row = db.execute("SELECT withdrawn_at FROM requests WHERE id = ?", (request_id,)).fetchone()
        if row is None:
            return None
        if row[0] is not None:
            return False
        db.execute(
            "UPDATE requests SET withdrawn_at = ?, withdrawal_reason = ? WHERE id = ?",
            (_now(), reason, request_id),
        )
        return True

    def record_text(self, text: Text) -> concurrent.futures.Future[bool]:
        """Keep an inbound text; False when its message id was kept already (a retry)."""
        return self._submit("record_text", text)

    def _do_record_text(self, db: sqlite3.Connection, text: Text) -> bool:
        cursor = db.execute(
            # The upsert clause both SQLite and PostgreSQL read (a replica's store too).
            "INSERT INTO texts VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (
                text.sid,
                text.kind,
                text.phone,
                text.recipient,
                text.body,
                rfc3339(text.received_at),
                text.request_id,
            ),
        )
        return cursor.rowcount == 1

    def claim_fire(self, job: str, fire: datetime) -> concurrent.futures.Future[bool]:
        """Take the fire of `job` at `fire` (UTC); True for the one process, of all sharing
        the store, that takes it, False if it or a later fire was taken already."""
        return self._submit("claim_fire", job, rfc3339(fire))

    def _do_claim_fire(self, db: sqlite3.Connection, job: str, fire: str) -> bool:
        db.execute("INSERT INTO schedules (name) VALUES (?) ON CONFLICT DO NOTHING", (job,))
        # One statement decides: a replica's concurrent update waits on the row, then finds
        # the fire taken (RFC 3339 at a fixed precision compares as text).
        cursor = db.execute(
            "UPDATE schedules SET fired = ? WHERE name = ? AND (fired IS NULL OR fired < ?)",
            (fire, job, fire),
        )
        return cursor.rowcount == 1

    def remember(self, job: str, value: str) -> concurrent.futures.Future[None]:
        """Keep what `job`'s last complete run read."""
        return self._submit("remember", job, value)

    def _do_remember(self, db: sqlite3.Connection, job: str, value: str) -> None:
        db.execute("INSERT INTO schedules (name) VALUES (?) ON CONFLICT DO NOTHING", (job,))
        db.execute("UPDATE schedules SET remembered = ? WHERE name = ?", (value, job))

    def remembered(self, job: str) -> str | None:
        """What `job`'s last complete run read, as `remember` kept it (None: nothing yet)."""
        with self._reading() as db:
            row = db.execute("SELECT remembered FROM schedules WHERE name = ?", (job,)).fetchone()
        return None if row is None or row[0] is None else str(row[0])

    def settle(
        self,
        target: str,
        held: Sequence[str],
        failed: Mapping[str, str],
        skipped: Mapping[str, str],
        *,
        retry_at: datetime,
    ) -> concurrent.futures.Future[None]:
        """Record what a target now holds (request ids), what it refused, what it skips."""
        return self._submit("settle", target, tuple(held), dict(failed), dict(skipped), retry_at)

    def _do_settle(
        self,
        db: sqlite3.Connection,
        target: str,
        held: tuple[str, ...],
        failed: dict[str, str],
        skipped: dict[str, str],
        retry_at: datetime,
    ) -> None:
        now = _now()
        db.executemany(
            "UPDATE deliveries SET status = 'held', held_at = ?, error = NULL, next_try = NULL "
            "WHERE request_id = ? AND target = ? AND status != 'held'",
            [(now, request_id, target) for request_id in held],
        )
        db.executemany(
            "UPDATE deliveries SET status = 'failed', error = ?, next_try = ? "
            "WHERE request_id = ? AND target = ? AND status != 'held'",
            [(error, rfc3339(retry_at), rid, target) for rid, error in failed.items()],
        )
        db.executemany(
            "UPDATE deliveries SET status = 'skipped', error = ? "
            "WHERE request_id = ? AND target = ? AND status != 'held'",
            [(why, rid, target) for rid, why in skipped.items()],
        )

    def ensure_targets(self) -> concurrent.futures.Future[int]:
        """Give every request a delivery row for each configured target (a target added to
        the configuration after requests came in takes them too)."""
        return self._submit("ensure_targets")

    def _do_ensure_targets(self, db: sqlite3.Connection) -> int:
        added = 0
        for name, scopes in self.targets.items():
            rows = db.execute(
                "SELECT id, scope FROM requests WHERE withdrawn_at IS NULL AND id NOT IN "
                "(SELECT request_id FROM deliveries WHERE target = ?)",
                (name,),
            ).fetchall()
            db.executemany(
                # Replicas on one database starting together may add the same rows: the
                # second adds none (a clause SQLite reads too).
                "INSERT INTO deliveries (request_id, target, status) VALUES (?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                [
                    (rid, name, "pending" if takes(scopes, scope) else "skipped")
                    for rid, scope in rows
                ],
            )
            added += len(rows)
        return added

    # -- reads ------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        with self._read_lock:
            try:
                yield self._reader
            except self._FAILURES as error:
                raise InputError(f"{self.path}: cannot read the intake store: {error}") from None

    def reachable(self) -> bool:
        """The store answers a query."""
        try:
            with self._reading() as db:
                db.execute("SELECT 1 FROM requests LIMIT 1").fetchall()
        except InputError:
            return False
        return True

    def open_deliveries(self, target: str, limit: int, now: datetime) -> list[Pending]:
        """Open deliveries of `target`, oldest first: pending, and failed ones due again;
        withdrawn requests are not sent."""
        with self._reading() as db:
            rows = db.execute(
                "SELECT r.id, r.phone, r.reason, r.received_at, r.deadline, r.accepted_at "
                "FROM deliveries d "
                "JOIN requests r ON r.id = d.request_id WHERE d.target = ? AND "
                "(d.status = 'pending' OR (d.status = 'failed' AND d.next_try <= ?)) "
                "AND r.withdrawn_at IS NULL ORDER BY r.accepted_at LIMIT ?",
                (target, rfc3339(now), limit),
            ).fetchall()
        return pending_of(rows)

    def _configured(self) -> tuple[str, tuple[str, ...]]:
        """A condition on `d.target`: one of the configured targets (a target taken out of
        the configuration no longer counts as pending); any target when none is given."""
        if not self.targets:
            return self._ALWAYS, ()
        return f"d.target IN ({','.join('?' * len(self.targets))})", tuple(self.targets)

    def release(self, target: str, request_ids: Sequence[str]) -> None:
        """Give back deliveries taken by `open_deliveries` and not pushed (one process owns
        the file: nothing to give back; see `state.postgres_intake` for replicas)."""

    def open_count(self, target: str | None = None) -> int:
        """Open deliveries (pending or failed) of live requests, of one target or all."""
        configured, params = self._configured()
        query = _OPEN_COUNT.replace("{configured}", configured)  # placeholders only
        if target is not None:
            query += " AND d.target = ?"
            params = (*params, target)
        with self._reading() as db:
            return int(db.execute(query, params).fetchone()[0])

    def request(self, request_id: str) -> dict[str, Any] | None:
        """One request as `GET /v1/optouts/{id}` shows it."""
        found = self._requests("WHERE id = ?", (request_id,))
        return found[0] if found else None

    def requests_for(self, phone: str) -> list[dict[str, Any]]:
        """Every request for a number, oldest first, with its deliveries."""
        return self._requests("WHERE phone = ? ORDER BY received_at", (phone,))

    def listing(self, limit: int = 1000) -> list[dict[str, Any]]:
        """Requests, newest first, with their status (for the HTML report)."""
        return self._requests("ORDER BY received_at DESC LIMIT ?", (limit,))

    def _requests(self, clause: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
        with self._reading() as db:
            rows = db.execute(_SELECT_REQUESTS + clause, params).fetchall()
            return [
                _request(
                    row,
                    db.execute(
                        "SELECT target, status, held_at, error FROM deliveries "
                        "WHERE request_id = ? ORDER BY target",
                        (row[0],),
                    ).fetchall(),
                )
                for row in rows
            ]

    def open_requests(self) -> list[tuple[str, datetime, date]]:
        """(id, received_at, deadline) of every live request not yet held on every
        configured target that takes it (any target when none is configured)."""
        configured, params = self._configured()
        with self._reading() as db:
            rows = db.execute(_OPEN_REQUESTS.replace("{configured}", configured), params).fetchall()
        return [(rid, _moment(at), date.fromisoformat(due)) for rid, at, due in rows]

    def texts(self, kind: str, limit: int = 1000) -> list[dict[str, Any]]:
        """Kept texts of one kind, newest first."""
        with self._reading() as db:
            rows = db.execute(
                "SELECT sid, kind, phone, recipient, body, received_at, request_id FROM texts "
                "WHERE kind = ? ORDER BY received_at DESC LIMIT ?",
                (kind, limit),
            ).fetchall()
        names = ("sid", "kind", "phone", "to", "body", "received_at", "request_id")
        return [dict(zip(names, row, strict=True)) for row in rows]

    def text_counts(self) -> dict[str, int]:
        """Kept texts by kind."""
        with self._reading() as db:
            rows = db.execute("SELECT kind, COUNT(*) FROM texts GROUP BY kind").fetchall()
        return {kind: int(count) for kind, count in rows}

    def live_requests(self, scopes: Sequence[str] | None) -> list[tuple[str, Reason, datetime]]:
        """(phone, reason, received_at) of every request not withdrawn, for a target taking
        `scopes`: what plan, sync and reconcile add to the target's sources."""
        with self._reading() as db:
            rows = db.execute(
                "SELECT phone, reason, received_at, scope FROM requests WHERE withdrawn_at IS NULL"
            ).fetchall()
        return [
            (phone, Reason(reason), _moment(received))
            for phone, reason, received, scope in rows
            if takes(scopes, scope)
        ]

    def stats(self, today: date, since: datetime | None = None) -> IntakeStats:
        """Counts by status, the oldest open request and those past their deadline; with
        `since`, only requests received from then on (a run's own)."""
        configured, targets = self._configured()
        # Everything since the start of time when no `since` is given.
        params = (*targets, *targets, _iso(since) if since is not None else "")
        with self._reading() as db:
            rows = db.execute(self._STATS.replace("{configured}", configured), params).fetchall()
        stats = IntakeStats()
        for rid, received, deadline, withdrawn, open_count, failed in rows:
            stats.requests += 1
            if withdrawn is not None:
                stats.withdrawn += 1
                status = "withdrawn"
            elif failed:
                status = "failed"
            elif open_count:
                status = "pending"
            else:
                status = "held"
            stats.by_status[status] = stats.by_status.get(status, 0) + 1
            if status in ("pending", "failed"):
                moment = _moment(received)
                if stats.oldest_pending is None or moment < stats.oldest_pending:
                    stats.oldest_pending = moment
                    stats.oldest_pending_deadline = date.fromisoformat(deadline)
                if date.fromisoformat(deadline) < today:
                    stats.past_deadline += 1
                    if len(stats.past_deadline_ids) < 100:
                        stats.past_deadline_ids.append(rid)
        return stats


def _request(row: tuple[Any, ...], deliveries: list[tuple[Any, ...]]) -> dict[str, Any]:
    rid, phone, reason, reason_text, source, scope, received, deadline, withdrawn, why = row
    targets = {
        name: {"status": status, "held_at": held_at, **({"error": error} if error else {})}
        for name, status, held_at, error in deliveries
    }
    statuses = {t["status"] for t in targets.values()}
    if withdrawn is not None:
        status = "withdrawn"
    elif "failed" in statuses:
        status = "failed"
    elif "pending" in statuses:
        status = "pending"
    elif "held" in statuses:
        status = "held"
    else:
        status = "skipped" if statuses else "pending"
    answer: dict[str, Any] = {
        "id": rid,
        "phone": phone,
        "reason": reason,
        "source": source or None,
        "scope": scope or None,
        "received_at": received,
        "deadline": deadline,
        "status": status,
        "targets": targets,
    }
    if reason_text and reason_text != reason:
        answer["reason_text"] = reason_text
    if withdrawn is not None:
        answer["withdrawn_at"] = withdrawn
        answer["withdrawal_reason"] = why
    return answer


def _now() -> str:
    return _iso(datetime.now(UTC))


def _iso(moment: datetime) -> str:
    return rfc3339(moment)


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


__all__ = [
    "OPEN",
    "Accepted",
    "Idempotency",
    "IntakeStats",
    "IntakeStore",
    "Pending",
    "Text",
    "intake_path",
]
