"""serve's scheduled work: numbers collected from a platform's list, sources read again.

Over real sockets: the emulator on loopback, `dncsync serve` as a subprocess. A number put
straight on one platform's list (an agent's "do not call") reaches the other platform through
serve's collection; a scheduled source (a local file, an S3 prefix) that changes is synced;
one that does not change costs no platform request at all.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from conftest import S3Endpoint
from dncsync.state import StateStore
from e2e.support import (
    Platforms,
    cxone_target,
    genesys_target,
    list_key,
    nanp_numbers,
    toml_value,
    write_source,
)

from .support import Served, wait_until

pytestmark = pytest.mark.slow


def _config(
    folder: Path,
    targets: Sequence[Mapping[str, object]],
    sources: Sequence[Mapping[str, object]] = (),
    state_url: str | None = None,
) -> Path:
    place = [f"url = {toml_value(state_url)}", 'runs_dir = "state/runs"'] if state_url else [
        'path = "state/dncsync.db"'
    ]  # fmt: skip
    lines = ["[state]", *place, "", "[serve]", "flush_seconds = 0.1"]
    for table, rows in (("source", sources), ("target", targets)):
        for row in rows:
            lines += ["", f"[[{table}]]"]
            lines += [f"{key} = {toml_value(value)}" for key, value in row.items()]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "dncsync.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _logged(served: Served, event: str) -> list[dict[str, Any]]:
    """The lines of serve's stderr (JSON logs) that carry `event`."""
    found = []
    for line in served.stderr().splitlines():
        try:
            logged = json.loads(line)
        except ValueError:
            continue
        if logged.get("event") == event:
            found.append(logged)
    return found


def _events(served: Served, event: str) -> int:
    """How many log lines of serve's stderr carry `event`."""
    return len(_logged(served, event))


def _fires_taken(served: Served) -> set[str]:
    """The fire times this serve process took, from its log."""
    return {f"{e['job']} {e['fire']}" for e in _logged(served, "dnc.fire_taken")}


def _held_on_both(platforms: Platforms, numbers: list[str], what: str) -> None:
    """Wait until both platforms hold exactly `numbers`."""
    wait_until(
        lambda: platforms.held("genesys") == platforms.held("cxone") == set(numbers), 30, what
    )


def _reports(folder: Path, command: str, runs: str = "dncsync.db.runs") -> list[dict[str, Any]]:
    found = []
    for path in sorted((folder / "state" / runs).glob("*/report.json")):
        report = json.loads(path.read_text(encoding="utf-8"))
        if report["command"] == command:
            found.append(report)
    return found


def test_numbers_added_on_either_platform_reach_the_other_through_serve(
    platforms: Platforms, tmp_path: Path
) -> None:
    config = _config(
        tmp_path,
        [
            genesys_target(platforms, collect=True, collect_every="1s"),
            cxone_target(platforms, collect=True, collect_every="1s"),
        ],
    )
    agent, ivr = nanp_numbers(2, seed=163)
    served = Served(config)
    try:
        platforms.running.state.genesys_edit(platforms.list_id, add=[agent])
        wait_until(lambda: agent in platforms.held("cxone"), 30, "the agent's number on CXone")
        # Read as each platform allows: Genesys through an export, CXone through its pages.
        # (Each target's collection is a job of its own: CXone's may come after the push.)
        wait_until(
            lambda: any(
                r.path.endswith("/records") and r.method == "GET" for r in platforms.full_reads()
            ),
            30,
            "CXone's list read through its pages",
        )
        assert any(r.path.endswith("/export") for r in platforms.full_reads())
        platforms.running.state.cxone_edit(platforms.group_id, upsert=[ivr[2:]])
        wait_until(lambda: ivr in platforms.held("genesys"), 30, "the IVR's number on Genesys")
        db = sqlite3.connect(tmp_path / "state" / "dncsync.db.intake")
        try:
            rows = db.execute("SELECT phone, source FROM requests ORDER BY source").fetchall()
        finally:
            db.close()
        assert rows == [(ivr, "platform:cxone-e2e"), (agent, "platform:genesys-e2e")]
        # Each is an opt-out like any other: held on every target, by the API's account too.
        for phone in (agent, ivr):
            answer = served.client.post("/v1/numbers/lookup", json={"phone": phone}).json()
            assert answer["blocked"] is True, answer

        def counted() -> dict[str, int]:
            # A collect run's report is sealed as its run ends, maybe after the push.
            return {
                target["name"]: target["collected"]
                for report in _reports(tmp_path, "collect")
                for target in report["targets"]
                if target["collected"]
            }

        wait_until(lambda: len(counted()) == 2, 30, "both collect runs' reports")
        assert counted() == {"genesys-e2e": 1, "cxone-e2e": 1}

        # The agent's disposition undone on Genesys: still an opt-out, so it is put back.
        platforms.running.state.genesys_edit(platforms.list_id, remove=[agent])
        assert agent not in platforms.held("genesys")
        wait_until(lambda: agent in platforms.held("genesys"), 30, "the number back on Genesys")
    finally:
        code = served.stop()
    assert code == 0, served.stderr()
    assert agent[2:] not in served.stderr()  # masked in every log line
    assert platforms.held("genesys") == platforms.held("cxone") == {agent, ivr}


def test_a_scheduled_file_is_synced_when_it_changes_and_costs_nothing_when_not(
    platforms: Platforms, tmp_path: Path
) -> None:
    first, later = nanp_numbers(6, seed=164)[:3], nanp_numbers(6, seed=164)[3:]
    source = tmp_path / "optouts.csv"
    write_source(source, first)
    config = _config(
        tmp_path,
        [genesys_target(platforms), cxone_target(platforms)],
        [{"name": "optouts", "url": "optouts.csv", "schedule": "1s"}],
    )
    served = Served(config)
    try:
        # The first fire after the start syncs: nothing is remembered across restarts.
        _held_on_both(platforms, first, "the source on both platforms")
        wait_until(lambda: _events(served, "dnc.source_unchanged") >= 1, 30, "an unchanged fire")
        mark, seen = platforms.mark(), _events(served, "dnc.source_unchanged")
        wait_until(
            lambda: _events(served, "dnc.source_unchanged") >= seen + 3, 30, "three more fires"
        )
        assert platforms.requests(mark) == []  # an unchanged source: no platform request

        write_source(source, first + later, seed=1)
        _held_on_both(platforms, first + later, "the new numbers on both platforms")
    finally:
        code = served.stop()
    assert code == 0, served.stderr()
    assert {r["status"] for r in _reports(tmp_path, "sync")} == {"success"}
    assert len(_reports(tmp_path, "sync")) == 2


@pytest.mark.long  # the S3 fingerprint itself is unit-tested on moto in the quick suite
def test_a_scheduled_s3_prefix_is_checked_for_new_objects(
    platforms: Platforms, tmp_path: Path, s3: S3Endpoint
) -> None:
    client = s3.client()
    client.create_bucket(Bucket="collect-drops")
    first, later = nanp_numbers(4, seed=165)[:2], nanp_numbers(4, seed=165)[2:]
    for name, numbers in (("day1.csv", first), ("day2.csv", later)):
        write_source(tmp_path / name, numbers)
    client.upload_file(str(tmp_path / "day1.csv"), "collect-drops", "dnc/day1.csv")
    config = _config(
        tmp_path,
        [genesys_target(platforms), cxone_target(platforms)],
        [{"name": "drops", "url": "s3://collect-drops/dnc/", "schedule": "1s"}],
    )
    served = Served(config, env=s3.env)
    try:
        _held_on_both(platforms, first, "the first drop on both platforms")
        wait_until(lambda: _events(served, "dnc.source_unchanged") >= 1, 30, "an unchanged fire")
        client.upload_file(str(tmp_path / "day2.csv"), "collect-drops", "dnc/day2.csv")
        _held_on_both(platforms, first + later, "the new drop on both platforms")
    finally:
        code = served.stop()
    assert code == 0, served.stderr()


def test_a_scheduled_sync_stopped_by_a_locked_list_is_tried_again(
    platforms: Platforms, tmp_path: Path
) -> None:
    numbers = nanp_numbers(2, seed=166)
    source = tmp_path / "optouts.csv"
    write_source(source, numbers[:1])
    config = _config(
        tmp_path,
        [genesys_target(platforms), cxone_target(platforms)],
        [{"name": "optouts", "url": "optouts.csv", "schedule": "1s"}],
    )
    served = Served(config)
    try:
        wait_until(lambda: platforms.held("genesys") == {numbers[0]}, 30, "the first sync")
        wait_until(lambda: _events(served, "dnc.source_unchanged") >= 1, 30, "an unchanged fire")
        store = StateStore(tmp_path / "state" / "dncsync.db")
        lock = store.lock(list_key(config, "genesys-e2e"), "genesys-e2e")
        lock.__enter__()
        try:
            write_source(source, numbers, seed=1)
            # CXone is synced; Genesys, locked, stops before any write and the run says so.
            wait_until(lambda: numbers[1] in platforms.held("cxone"), 30, "CXone synced")
            wait_until(
                lambda: any(r["status"] == "safety_stop" for r in _reports(tmp_path, "sync")),
                30,
                "the stopped run's report",
            )
            assert numbers[1] not in platforms.held("genesys")
        finally:
            lock.__exit__(None, None, None)
            store.close()
        # Not remembered as synced: tried again at the next fire (RETRY_SECONDS at the most),
        # though the source did not change since.
        wait_until(lambda: numbers[1] in platforms.held("genesys"), 45, "Genesys synced")
    finally:
        code = served.stop()
    assert code == 0, served.stderr()


@pytest.mark.long  # two replicas and a PostgreSQL server
def test_replicas_on_one_database_work_each_fire_once(
    platforms: Platforms, tmp_path: Path, pg_url: str
) -> None:
    first, later = nanp_numbers(6, seed=167)[:3], nanp_numbers(6, seed=167)[3:]
    source = tmp_path / "optouts.csv"
    write_source(source, first)
    config = _config(
        tmp_path,
        [genesys_target(platforms), cxone_target(platforms)],
        [{"name": "optouts", "url": "optouts.csv", "schedule": "1s"}],
        state_url=pg_url,
    )
    replicas = [Served(config), Served(config)]

    def count(event: str) -> int:
        return sum(_events(replica, event) for replica in replicas)

    try:
        _held_on_both(platforms, first, "the source on both platforms")
        # Each fire is taken by one replica: no fire time is taken by both.
        wait_until(lambda: count("dnc.source_unchanged") >= 4, 30, "four unchanged fires")
        taken = [_fires_taken(replica) for replica in replicas]
        assert len(taken[0]) + len(taken[1]) >= 5
        assert not taken[0] & taken[1]
        write_source(source, first + later, seed=1)
        _held_on_both(platforms, first + later, "the new numbers on both platforms")
        wait_until(lambda: len(_reports(tmp_path, "sync", "runs")) == 2, 30, "the second sync")
    finally:
        codes = [replica.stop() for replica in replicas]
    assert codes == [0, 0], [replica.stderr() for replica in replicas]
    # One sync per change of the source, not one per replica: the fires were taken once.
    reports = _reports(tmp_path, "sync", "runs")
    assert [report["status"] for report in reports] == ["success", "success"]
