"""The state store, on a real SQLite file and on a real PostgreSQL server (`state` fixture)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dncsync.errors import AlreadyRunning, Failure
from dncsync.plan import Batch
from dncsync.snapshot import Held
from dncsync.state import StateStore
from dncsync.targets.base import BatchResult
from stateopener import StateOpener

TODAY = date(2026, 11, 22)


def test_file_is_owner_only_and_migrations_apply_once(tmp_path: Path) -> None:
    path = tmp_path / "state" / "dncsync.db"
    StateStore(path).close()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with StateStore(path) as store:  # reopening applies nothing twice
        assert store.snapshot("t") == {}


def test_migrations_apply_once(state: StateOpener) -> None:
    state.open().close()
    with state.open() as store:  # reopening applies nothing twice
        assert store.snapshot("t") == {}


def test_snapshot_changes_only_for_acknowledged_numbers(state: StateOpener) -> None:
    with state.open() as store:
        batch = Batch("add", ("+14155550001", "+14155550002"), date(2027, 1, 1), (None, None))
        batch_id = store.batch_intended("run1", "t", batch)
        assert store.snapshot("t") == {}
        assert store.journal("t")[0]["state"] == "intended"
        answer = BatchResult.of(batch, 0.0)
        answer.acknowledged = ["+14155550001"]
        answer.failed = {"+14155550002": Failure("InvalidPhoneNumber")}
        answer.attempts, answer.correlation_ids = 2, ["abc"]
        store.batch_settled(batch_id, "t", batch, answer, run_id="run1")
        assert store.snapshot("t") == {"+14155550001": Held(None, date(2027, 1, 1))}
        row = store.journal("t")[0]
        assert (row["state"], row["acknowledged"], row["failed"]) == ("failed", 1, 1)
        remove = Batch("remove", ("+14155550001",), None)
        removed = BatchResult.of(remove, 0.0)
        removed.acknowledged, removed.attempts = ["+14155550001"], 1
        store.batch_settled(
            store.batch_intended("run2", "t", remove), "t", remove, removed, run_id="run2"
        )
        assert store.snapshot("t") == {}


def test_first_seen_does_not_slide(state: StateOpener) -> None:
    with state.open() as store:
        assert store.first_seen(["+14155550001"], TODAY) == {"+14155550001": TODAY}
    with state.open() as store:
        later = date(2027, 3, 1)
        seen = store.first_seen(["+14155550001", "+14155550002"], later)
        assert seen == {"+14155550001": TODAY, "+14155550002": later}


def wipe_then_fail(store: Any) -> None:
    with store.atomic():
        store.replace_snapshot("t", [], "r")
        raise RuntimeError


def test_nested_atomic_rolls_back_only_the_inner_part(state: StateOpener) -> None:
    with state.open() as store:
        with store.atomic():
            store.replace_snapshot("t", [("+14155550001", Held(None, None))], "r")
            with pytest.raises(RuntimeError):
                wipe_then_fail(store)
        assert list(store.snapshot("t")) == ["+14155550001"]
        assert store.is_seeded("t")


def test_a_second_run_of_the_same_target_is_refused_at_once(state: StateOpener) -> None:
    state.open().close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n" + state.code + "with s.lock('genesys-main'):\n"
            "    print('locked', flush=True)\n"
            "    sys.stdin.read()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        with state.open() as store:
            with pytest.raises(AlreadyRunning, match="genesys-main"), store.lock("genesys-main"):
                pass
            with store.lock("cxone-main"):  # other targets are not blocked
                pass
    finally:
        holder.kill()
        holder.communicate()
    with state.open() as store, store.lock("genesys-main"):  # released by the kill
        pass


def test_runs_newest_first_and_by_target(state: StateOpener) -> None:
    with state.open() as store:
        store.run_started("r1", "sync", "2026-11-20T10:00:00+00:00", "d", ["a"])
        store.run_started("r2", "sync", "2026-11-21T10:00:00+00:00", "d", ["a", "b"])
        store.run_ended("r1", ended_at="2026-11-20T10:01:00+00:00", status="success", summary={})
        assert [run.id for run in store.runs()] == ["r2", "r1"]
        assert [run.id for run in store.runs(target="b")] == ["r2"]
        assert store.run("r1") is not None
        assert store.run("r") is None  # ambiguous prefix


def test_the_objects_of_a_source_are_remembered_replaced_and_forgotten(
    state: StateOpener,
) -> None:
    store = state.open()
    try:
        first = np.array([14155550001, 14155550002], np.uint64)
        store.record_source_objects("drops", {"s3://b/a.csv": first, "s3://b/b.csv": first[:1]})
        again = np.array([14155550003], np.uint64)  # an object read again holds other numbers
        store.record_source_objects("drops", {"s3://b/a.csv": again}, forget=["s3://b/b.csv"])
        store.record_source_objects("other", {"s3://b/a.csv": first})
        found = store.source_objects("drops")
        assert list(found) == ["s3://b/a.csv"]
        assert found["s3://b/a.csv"].tolist() == [14155550003]
        assert found["s3://b/a.csv"].dtype == np.uint64
        assert store.source_objects("other")["s3://b/a.csv"].tolist() == first.tolist()
    finally:
        store.close()
