"""`dncsync state migrate`: a SQLite state and its intake moved into PostgreSQL, every row,
through the real command in a subprocess."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from concurrent.futures import wait
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest

from dncsync.intake import OptOut, read_optout
from dncsync.plan import Batch
from dncsync.policy import DEFAULT_POLICY
from dncsync.snapshot import Held
from dncsync.state import StateStore
from dncsync.state.intake import Idempotency, IntakeStore, intake_path
from dncsync.state.postgres import PostgresStore
from dncsync.state.transfer import INTAKE_TABLES, STATE_TABLES
from dncsync.targets.base import BatchResult

pytestmark = pytest.mark.long
TODAY = date(2026, 11, 22)


def _optout(number: int) -> OptOut:
    now = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
    found = read_optout(
        {"phone": f"+1415555{number:04d}"}, now=now, zone=UTC, region="US", policy=DEFAULT_POLICY
    )
    assert isinstance(found, OptOut)
    return found


def _a_lived_in_state(path: Path) -> None:
    """A state with something in every table, as runs and serve leave it."""
    with StateStore(path) as store:
        store.run_started("r1", "sync", "2026-11-20T10:00:00+00:00", "digest", ["genesys-main"])
        phones = tuple(f"+1415555{i:04d}" for i in range(300))
        batch = Batch("add", phones, date(2027, 1, 1), (None,) * len(phones))
        batch_id = store.batch_intended("r1", "genesys|list-1", batch)
        answer = BatchResult.of(batch, 0.0)
        answer.acknowledged, answer.attempts = list(phones), 1
        store.batch_settled(batch_id, "genesys|list-1", batch, answer, run_id="r1")
        store.batch_intended("r1", "genesys|list-1", Batch("remove", phones[:2], None))
        store.replace_snapshot("cxone|7", [("+14155550001", Held(None, None, ours=False))], "r1")
        store.first_seen(phones[:50], TODAY)
        store.record_source_objects("s3", {"s3://b/a.csv": np.array([14155550001], np.uint64)})
        store.run_ended(
            "r1",
            ended_at="2026-11-20T10:01:00+00:00",
            status="success",
            summary={"adds": 300},
            report_path="/var/dnc/runs/r1/report.json",
            audit_path="/var/dnc/runs/r1/audit.jsonl",
            audit_hash="ab" * 32,
            audit_lines=12,
        )
    intake = IntakeStore(intake_path(path), {"genesys-main": None})
    try:
        wait([intake.accept([_optout(i)], "{}", None) for i in range(40)], timeout=30)
        intake.accept([_optout(99)], '{"id": "x"}', Idempotency("k", "1", "d")).result(10)
        intake.withdraw(intake.listing(1)[0]["id"], "consent").result(10)
    finally:
        intake.close()


def _rows(rows: Any) -> list[tuple[Any, ...]]:
    return sorted(tuple(bytes(v) if isinstance(v, memoryview) else v for v in r) for r in rows)


def _migrate(path: Path, url: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "dncsync", "state", "migrate", "--from", str(path), "--to", url]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)


def test_every_row_of_a_sqlite_state_moves_and_a_second_move_is_refused(
    tmp_path: Path, pg_url: str
) -> None:
    path = tmp_path / "dncsync.db"
    _a_lived_in_state(path)
    done = _migrate(path, pg_url)
    assert done.returncode == 0, done.stderr
    assert "nothing lost" in done.stdout
    with (
        sqlite3.connect(path) as lite,
        sqlite3.connect(intake_path(path)) as lite_intake,
        psycopg.connect(pg_url) as pg,
    ):
        for table in (*STATE_TABLES, *INTAKE_TABLES):
            source = lite_intake if table in INTAKE_TABLES else lite
            cursor = source.execute(f"SELECT * FROM {table}")  # noqa: S608 - our names
            columns = ", ".join(f'"{c[0]}"' for c in cursor.description)
            moved = pg.execute(f"SELECT {columns} FROM {table}").fetchall()  # noqa: S608
            assert _rows(moved) == _rows(cursor.fetchall()), table
            assert moved or table == "legacy_names", f"{table}: the test state left it empty"
    lite.close()
    lite_intake.close()
    with StateStore(path) as before, PostgresStore(pg_url) as after:
        assert dict(after.snapshot("genesys|list-1")) == dict(before.snapshot("genesys|list-1"))
        assert after.runs() == before.runs()  # evidence references and seals included
        assert after.journal() == before.journal()
        next_id = after.batch_intended("r2", "genesys|list-1", Batch("remove", ("+1",), None))
        assert next_id > max(row["id"] for row in before.journal())
    again = _migrate(path, pg_url)
    assert again.returncode == 3
    assert "already holds a dncsync state" in again.stderr


def test_a_url_with_a_password_is_refused_without_echoing_it(tmp_path: Path) -> None:
    path = tmp_path / "dncsync.db"
    StateStore(path).close()
    refused = _migrate(path, "postgresql://dnc:hunter2@127.0.0.1/dnc")
    assert refused.returncode == 2
    assert "password" in refused.stderr
    assert "hunter2" not in refused.stderr + refused.stdout
