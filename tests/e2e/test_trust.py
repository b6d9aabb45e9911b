"""Never exit 0 while a platform is wrong: each way a run once did is shown fixed here.

Over a real socket against the emulator: the state is bound to the list (not the target's
name), a missing list fails its target, a list that lost numbers is read again, targets fail
alone, a clock apart from the platform's does not drop protected numbers, and signals end a
run recorded as interrupted.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from dncsync.state import StateStore

from .support import (
    Platforms,
    Sync,
    command,
    cxone_target,
    genesys_target,
    list_key,
    nanp_numbers,
    poll,
    run_sync,
    write_config,
    write_source,
)

pytestmark = pytest.mark.slow

CONFIG_OR_AUTH, PARTIAL_FAILURE, SAFETY_STOP = 3, 4, 5


def _error_line(stderr: str) -> str:
    assert "Traceback" not in stderr
    line = stderr.strip().splitlines()[-1]
    assert line.startswith("dncsync: error: "), line
    return line


def _dncsync(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dncsync", *args, "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=dict(os.environ),
    )


# --- 1. state bound to the list -------------------------------------------------------------


def test_a_target_pointed_at_a_new_empty_list_fills_it(
    platforms: Platforms, tmp_path: Path
) -> None:
    numbers = nanp_numbers(200, 31)
    write_source(tmp_path / "source.csv", numbers, seed=31)
    config = write_config(tmp_path, [genesys_target(platforms), cxone_target(platforms)])
    assert run_sync(config).code == 0

    # The lists are re-created (or the config copied to a new tenant): same target names.
    state = platforms.running.state
    new_list, new_group = state.genesys_create_list("again"), state.cxone_create_group("again")
    config = write_config(
        tmp_path,
        [
            genesys_target(platforms, dnc_list_id=new_list),
            cxone_target(platforms, dnc_group_id=new_group),
        ],
    )
    refilled = run_sync(config)

    assert refilled.code == 0, refilled.stderr
    targets = refilled.summary()["targets"]
    assert {name: (t["held_before"], t["adds"]) for name, t in targets.items()} == {
        "genesys-e2e": (0, 200),
        "cxone-e2e": (0, 200),
    }
    assert set(state.genesys_numbers(new_list)) == set(numbers)
    assert len(state.cxone_held(new_group)) == 200


def test_two_targets_naming_one_list_is_a_configuration_error(
    platforms: Platforms, tmp_path: Path
) -> None:
    write_source(tmp_path / "source.csv", nanp_numbers(5, 32))
    config = write_config(
        tmp_path, [genesys_target(platforms), genesys_target(platforms, name="genesys-copy")]
    )
    finished = run_sync(config)
    assert finished.code == CONFIG_OR_AUTH
    line = _error_line(finished.stderr)
    assert "'genesys-e2e'" in line
    assert "same list" in line
    assert platforms.requests() == []


def test_a_list_that_does_not_exist_fails_its_target_with_exit_3_even_with_nothing_to_send(
    platforms: Platforms, tmp_path: Path
) -> None:
    numbers = nanp_numbers(20, 33)
    write_source(tmp_path / "source.csv", numbers, seed=33)
    config = write_config(tmp_path, [genesys_target(platforms), cxone_target(platforms)])
    assert run_sync(config).code == 0  # everything is held: the next run has nothing to send

    gone = "0b0b0b0b-1111-4222-8333-444444444444"
    rds_not = platforms.running.state.genesys_create_list("registry", source_type="dnc.com")
    for list_id in (gone, rds_not):
        config = write_config(
            tmp_path, [genesys_target(platforms, dnc_list_id=list_id), cxone_target(platforms)]
        )
        finished = run_sync(config)

        assert finished.code == CONFIG_OR_AUTH, finished.stderr
        line = _error_line(finished.stderr)
        assert list_id in line
        assert "dnc_list_id" in line
        targets = finished.summary()["targets"]
        assert targets["genesys-e2e"]["status"] == "failed"
        assert targets["cxone-e2e"]["status"] == "success"  # the other target still ran


def test_a_state_file_from_before_list_identities_is_migrated_not_reset(
    platforms: Platforms, tmp_path: Path
) -> None:
    numbers = nanp_numbers(60, 34)
    write_source(tmp_path / "source.csv", numbers, seed=34)
    config = write_config(tmp_path, [genesys_target(platforms), cxone_target(platforms)])
    assert run_sync(config).code == 0
    # Rewrite the state as the version before wrote it: keyed by target names, no identity.
    database = tmp_path / "state" / "dncsync.db"
    _downgrade_to_target_names(database, config)
    mark = platforms.mark()

    again = run_sync(config)

    assert again.code == 0, again.stderr
    targets = again.summary()["targets"]
    assert all(t["held_before"] == 60 and t["adds"] == 0 for t in targets.values())
    assert platforms.number_writes(mark) == []  # nothing re-sent: the state was kept
    with StateStore(database) as store:
        for name in ("genesys-e2e", "cxone-e2e"):
            assert len(store.snapshot(list_key(config, name))) == 60
            assert store.snapshot(name) == {}


def _downgrade_to_target_names(database: Path, config: Path) -> None:
    db = sqlite3.connect(database)
    with db:
        for name in ("genesys-e2e", "cxone-e2e"):
            key = list_key(config, name)
            for table, column in (("snapshot", "target"), ("batches", "target")):
                db.execute(f"UPDATE {table} SET {column} = ? WHERE {column} = ?", (name, key))  # noqa: S608
            db.execute("UPDATE targets SET name = ? WHERE name = ?", (name, key))
        db.execute("UPDATE snapshot SET origin = 'ours'")
        db.execute("DELETE FROM migrations WHERE name = '0002_list_identity'")
        db.execute("DROP TABLE legacy_names")
        # SQLite drops columns since 3.35: the file is then shaped as the old version left it.
        db.execute("ALTER TABLE snapshot DROP COLUMN origin")
        db.execute("ALTER TABLE targets DROP COLUMN read_at")
        db.execute("ALTER TABLE targets DROP COLUMN label")
    db.close()


def test_a_list_that_lost_numbers_is_read_again_and_refilled(
    platforms: Platforms, tmp_path: Path
) -> None:
    numbers = nanp_numbers(300, 35)
    write_source(tmp_path / "source.csv", numbers, seed=35)
    config = write_config(tmp_path, [genesys_target(platforms), cxone_target(platforms)])
    assert run_sync(config).code == 0
    state = platforms.running.state
    # Someone empties part of each list behind dncsync's back; the source did not change.
    state.genesys_edit(platforms.list_id, remove=numbers[:40])
    state.cxone_edit(platforms.group_id, delete=[n[2:] for n in numbers[:5]])

    refilled = run_sync(config)

    assert refilled.code == 0, refilled.stderr
    targets = refilled.summary()["targets"]
    assert targets["genesys-e2e"]["adds"] == 40
    assert targets["cxone-e2e"]["adds"] == 5
    for target in targets.values():
        assert "reading the list" in target["read_reason"]
    assert platforms.held("genesys") == set(numbers)
    assert len(platforms.held("cxone")) == 300


def test_a_list_changed_at_the_same_count_is_caught_by_verify_every(
    platforms: Platforms, tmp_path: Path
) -> None:
    numbers = nanp_numbers(50, 36)
    write_source(tmp_path / "source.csv", numbers, seed=36)
    targets = [genesys_target(platforms, verify_every="0"), cxone_target(platforms)]
    config = write_config(tmp_path, targets)
    assert run_sync(config).code == 0
    # Three numbers swapped for three others: the size is the same.
    platforms.running.state.genesys_edit(
        platforms.list_id, remove=numbers[:3], add=nanp_numbers(3, 37, exclude=numbers)
    )

    checked = run_sync(config)

    assert checked.code == 0, checked.stderr
    genesys = checked.summary()["targets"]["genesys-e2e"]
    assert "verify_every" in genesys["read_reason"]
    assert (genesys["adds"], genesys["foreign"]) == (3, 3)
    assert platforms.held("genesys") >= set(numbers)
    assert "read_reason" not in checked.summary()["targets"]["cxone-e2e"]  # read a week ago


# --- 3. the clock ---------------------------------------------------------------------------


def test_a_clock_ahead_of_the_platforms_does_not_drop_numbers_still_protected(
    start_emulator: Callable[..., Platforms], tmp_path: Path
) -> None:
    behind = 3 * 86400.0  # the platforms' clock is three days behind this machine's
    platforms = start_emulator(clock=lambda: time.time() - behind)
    today = datetime.now(UTC).date()
    protected = nanp_numbers(20, 38)  # retention ended yesterday here; not yet on the platforms
    lasting = nanp_numbers(10, 39, exclude=protected)
    rows = ["phone,expiration"]
    rows += [f"{n},{(today - timedelta(days=1)).isoformat()}" for n in protected]
    rows += [f"{n},{(today + timedelta(days=30)).isoformat()}" for n in lasting]
    (tmp_path / "source.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    config = write_config(tmp_path, [genesys_target(platforms), cxone_target(platforms)])

    finished = run_sync(config, output="text")

    assert finished.code == 0, finished.stderr
    assert platforms.held("genesys") == set(protected) | set(lasting)
    assert len(platforms.held("cxone")) == 30
    assert "decided by the platform's time" in finished.stdout
    summary = json.loads(_dncsync(config, "plan", "--format", "json").stdout)
    for target in summary["targets"].values():
        assert target["clock"]["decided_by"] == "platform"
        assert target["clock"]["skew_seconds"] < -behind + 600
        assert date.fromisoformat(target["clock"]["today"]) == today - timedelta(days=3)
        assert target["expired_not_pushed"] == 0


# --- 5. independent targets -----------------------------------------------------------------


def test_a_refused_credential_fails_its_target_and_the_other_is_synced(
    platforms: Platforms, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("E2E_WRONG_SECRET", "not-the-emulators-secret")
    numbers = nanp_numbers(40, 40)
    write_source(tmp_path / "source.csv", numbers, seed=40)
    config = write_config(
        tmp_path,
        [genesys_target(platforms, client_secret_env="E2E_WRONG_SECRET"), cxone_target(platforms)],
    )

    finished = run_sync(config)

    assert finished.code == CONFIG_OR_AUTH
    line = _error_line(finished.stderr)
    assert "target 'genesys-e2e' failed" in line
    assert "refused the credentials" in line
    assert "the other targets ran: 'cxone-e2e' (40 numbers acknowledged)" in line
    assert len(platforms.held("cxone")) == 40
    assert platforms.held("genesys") == set()
    targets = finished.summary()["targets"]
    assert (targets["genesys-e2e"]["status"], targets["cxone-e2e"]["status"]) == (
        "failed",
        "success",
    )
    report = json.loads(Path(finished.summary()["evidence"]["report_json"]).read_text())
    assert {t["name"]: t["status"] for t in report["targets"]} == {
        "genesys-e2e": "failed",
        "cxone-e2e": "success",
    }


def test_an_unreachable_platform_fails_its_target_and_the_exit_is_the_most_severe(
    platforms: Platforms, tmp_path: Path
) -> None:
    numbers = nanp_numbers(30, 41)
    write_source(tmp_path / "source.csv", numbers, seed=41)
    closed = "http://127.0.0.1:9"  # nothing listens on the discard port
    config = write_config(
        tmp_path,
        [
            genesys_target(platforms),
            cxone_target(platforms, base_url=closed, retry_budget_seconds=0.5),
        ],
    )

    finished = run_sync(config)

    assert finished.code == PARTIAL_FAILURE, finished.stderr
    assert "target 'cxone-e2e' failed" in _error_line(finished.stderr)
    assert platforms.held("genesys") == set(numbers)


def test_an_overlapping_run_names_the_locked_target_and_syncs_the_others(
    start_emulator: Callable[..., Platforms], tmp_path: Path
) -> None:
    platforms = start_emulator(latency_ms=200)
    numbers = nanp_numbers(200, 42)
    write_source(tmp_path / "source.csv", numbers, seed=42)
    # The first run is slow (200 one-number writes, 0.2 s each): it holds its lock for 40 s,
    # far longer than the second run needs, and is stopped once the second is done.
    first_config = write_config(
        tmp_path / "first",
        [genesys_target(platforms, batch_size=1, concurrency=1)],
        source=str(tmp_path / "source.csv"),
        state=str(tmp_path / "state" / "dncsync.db"),
    )
    first = Sync(command(first_config), tmp_path / "output")
    poll(
        lambda: platforms.number_writes(),
        deadline_seconds=60,
        what="the first run's first write",
        alive=first.running,
    )
    both = write_config(
        tmp_path / "both",
        [genesys_target(platforms), cxone_target(platforms)],
        source=str(tmp_path / "source.csv"),
        state=str(tmp_path / "state" / "dncsync.db"),
    )

    second = run_sync(both)

    assert second.code == SAFETY_STOP
    line = _error_line(second.stderr)
    assert "another dncsync run is syncing target 'genesys-e2e'" in line
    assert "the other targets ran: 'cxone-e2e' (200 numbers acknowledged)" in line
    assert len(platforms.held("cxone")) == 200
    assert first.running()
    first.process.send_signal(signal.SIGINT)
    assert first.wait().code == 130


# --- 2. interrupts --------------------------------------------------------------------------


@pytest.mark.parametrize(("sent", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_mid_push_settles_what_is_in_flight_and_records_the_run_interrupted(
    start_emulator: Callable[..., Platforms], tmp_path: Path, sent: signal.Signals, code: int
) -> None:
    platforms = start_emulator(latency_ms=150)
    numbers = nanp_numbers(400, 43)
    write_source(tmp_path / "source.csv", numbers, seed=43)
    config = write_config(tmp_path, [genesys_target(platforms, batch_size=20, concurrency=2)])
    running = Sync(command(config), tmp_path / "output")
    poll(
        lambda: len(platforms.number_writes()) >= 2,
        deadline_seconds=60,
        what="two writes",
        alive=running.running,
    )
    # Frozen, the run cannot finish before the signal lands, however loaded the machine is;
    # the signal is delivered as it resumes.
    running.process.send_signal(signal.SIGSTOP)
    running.process.send_signal(sent)
    running.process.send_signal(signal.SIGCONT)
    finished = running.wait(timeout=60)

    assert finished.code == code, finished.stderr
    line = _error_line(finished.stderr)
    assert f"interrupted by {sent.name}" in line
    summary = finished.summary()
    assert summary["status"] == "interrupted"
    genesys = summary["targets"]["genesys-e2e"]
    assert 0 < genesys["acknowledged"] < 400  # stopped early, what was sent was settled
    assert genesys["failed"] == 0
    assert genesys["sent"] == genesys["acknowledged"]
    with StateStore(tmp_path / "state" / "dncsync.db") as store:
        (run,) = store.runs()
        assert run.status == "interrupted"
        journal = store.journal(list_key(config, "genesys-e2e"))
        assert journal
        assert all(row["state"] == "acknowledged" for row in journal)  # nothing left in flight
        assert len(store.snapshot(list_key(config, "genesys-e2e"))) == genesys["acknowledged"]
    verified = _dncsync(config, "audit", "verify", summary["run_id"])
    assert verified.returncode == 0, verified.stderr
    assert Path(summary["evidence"]["report_json"]).exists()

    resumed = run_sync(config)  # the next sync sends the rest, and only the rest
    assert resumed.code == 0, resumed.stderr
    assert resumed.summary()["targets"]["genesys-e2e"]["adds"] == 400 - genesys["acknowledged"]
    assert platforms.held("genesys") == set(numbers)


def test_a_run_killed_with_sigkill_shows_as_interrupted_once_its_lock_is_free(
    start_emulator: Callable[..., Platforms], tmp_path: Path
) -> None:
    platforms = start_emulator(latency_ms=150)
    write_source(tmp_path / "source.csv", nanp_numbers(200, 44), seed=44)
    config = write_config(tmp_path, [genesys_target(platforms, batch_size=20, concurrency=1)])
    running = Sync(command(config), tmp_path / "output")
    poll(
        lambda: platforms.number_writes(),
        deadline_seconds=60,
        what="a write",
        alive=running.running,
    )
    running.process.send_signal(signal.SIGSTOP)  # alive, holding its lock, for as long as we look
    during = json.loads(_dncsync(config, "runs", "--format", "json").stdout)
    assert [run["status"] for run in during] == ["running"]  # alive: its lock is held

    running.kill()

    after = json.loads(_dncsync(config, "runs", "--format", "json").stdout)
    assert [run["status"] for run in after] == ["interrupted"]


@pytest.mark.parametrize(("sent", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_during_validate_exits_with_a_line(sent: signal.Signals, code: int) -> None:
    # `validate -` reads stdin: it is mid-read once it has drained what was written so far.
    process = subprocess.Popen(
        [sys.executable, "-m", "dncsync", "validate", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdin is not None
    process.stdin.write(b"phone\n" + b"".join(b"+1415%07d\n" % n for n in range(20_000)))
    process.stdin.flush()
    poll(
        lambda: _unread(process.stdin.fileno()) == 0 or None,  # type: ignore[union-attr]
        deadline_seconds=30,
        what="validate reading its input",
        alive=lambda: process.poll() is None,
    )

    process.send_signal(sent)
    _, stderr = process.communicate(timeout=30)

    assert process.returncode == code
    assert "interrupted" in _error_line(stderr.decode())


def _unread(fd: int) -> int:
    """Bytes written to a pipe and not read yet."""
    import fcntl
    import struct
    import termios

    return int(struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0])
