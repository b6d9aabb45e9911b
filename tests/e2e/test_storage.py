"""Storage that fails under a run: a full disk or a read-only folder ends with exit 2, a state
file that is not dncsync's (damaged, another program's, a newer dncsync's) with exit 3, each
with one line naming the path and what to do; and the state never says held what the
platform did not acknowledge.

The full disk and the read-only folders are real: `unshare -rm` gives the dncsync process a
mount namespace of its own (no privilege needed where user namespaces are allowed), where a
64 KiB-scale tmpfs fills up and a read-only tmpfs refuses writes; elsewhere those tests skip.
Running as root, as CI does, a chmod'ed folder would not stop a write, hence the mounts.
"""

from __future__ import annotations

import functools
import os
import shlex
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from dncsync.state import StateStore

from .support import (
    Finished,
    Platforms,
    genesys_target,
    nanp_numbers,
    run_sync,
    write_config,
    write_source,
)

pytestmark = pytest.mark.slow

USAGE_OR_INPUT, CONFIG_OR_AUTH = 2, 3


@functools.cache
def _namespaces() -> bool:
    """Whether this machine lets an unprivileged process mount a tmpfs of its own."""
    if shutil.which("unshare") is None:
        return False
    probe = "mount -t tmpfs -o size=64k tmpfs /mnt && touch /mnt/probe"
    try:
        done = subprocess.run(
            ["unshare", "-rm", "sh", "-c", probe], capture_output=True, timeout=30, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


needs_mounts = pytest.mark.skipif(
    not sys.platform.startswith("linux") or not _namespaces(),
    reason="no unprivileged mount namespaces (unshare -rm) here",
)


def sync_with_mount(
    config: Path,
    mount: Path,
    options: str,
    *,
    copy_to: Path | None = None,
    env: dict[str, str] | None = None,
) -> Finished:
    """`dncsync sync` in a mount namespace where `mount` is a fresh tmpfs (`options`, e.g.
    `size=160k` or `ro`); what it holds afterwards is copied to `copy_to`."""
    mount.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "dncsync", "sync", "--config", str(config), "--format", "json"]
    script = f"mount -t tmpfs -o {options} tmpfs {shlex.quote(str(mount))} || exit 99\n"
    script += f"{shlex.join(argv)}\nrc=$?\n"
    if copy_to is not None:
        script += f"cp -a {shlex.quote(str(mount))}/. {shlex.quote(str(copy_to))}/\n"
    script += "exit $rc\n"
    done = subprocess.run(
        ["unshare", "-rm", "sh", "-c", script],
        capture_output=True,
        env={**os.environ, **(env or {})},
        timeout=120,
        check=False,
    )
    assert done.returncode != 99, done.stderr
    return Finished(done.returncode, done.stdout.decode(), done.stderr.decode())


def error_line(finished: Finished) -> str:
    """The last line on stderr: one clear error, no traceback, no internal error."""
    assert "Traceback" not in finished.stderr
    assert "internal error" not in finished.stderr
    line = finished.stderr.strip().splitlines()[-1]
    assert line.startswith("dncsync: error: "), finished.stderr
    return line


def with_runs_dir(config: Path, runs_dir: Path) -> Path:
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("[state]\n", f'[state]\nruns_dir = "{runs_dir}"\n', 1))
    return config


# --- a full disk, read-only folders -----------------------------------------------------------


@needs_mounts
def test_a_disk_filling_up_mid_sync_exits_2_and_the_state_holds_only_acknowledged_numbers(
    platforms: Platforms, tmp_path: Path
) -> None:
    numbers = nanp_numbers(1000, 11)
    write_source(tmp_path / "source.csv", numbers)
    disk, kept = tmp_path / "small-disk", tmp_path / "kept"
    kept.mkdir()
    target = genesys_target(platforms, batch_size=100, concurrency=2)
    config = write_config(tmp_path, [target], state=str(disk / "dncsync.db"))
    with_runs_dir(config, tmp_path / "runs")  # the evidence on a disk with room

    finished = sync_with_mount(config, disk, "size=256k", copy_to=kept)

    assert finished.code == USAGE_OR_INPUT
    line = error_line(finished)
    assert f"{disk / 'dncsync.db'}: cannot use the state file: the disk is full" in line
    assert "the state records only what a platform acknowledged" in line
    held = set(platforms.held("genesys"))
    assert 0 < len(held) < len(numbers)  # it did fill up mid-sync
    with sqlite3.connect(kept / "dncsync.db") as db:
        snapshot = {row[0] for row in db.execute("SELECT phone FROM snapshot")}
    assert snapshot <= held  # never held what the platform did not acknowledge

    # Room again (the same state, on a disk with space): the next sync sends the rest.
    again = write_config(tmp_path / "roomy", [target], state=str(kept / "dncsync.db"))
    shutil.copy(tmp_path / "source.csv", tmp_path / "roomy" / "source.csv")
    assert run_sync(again).code == 0
    assert set(platforms.held("genesys")) == set(numbers)


@needs_mounts
def test_a_read_only_state_folder_exits_2_before_anything_is_sent(
    platforms: Platforms, tmp_path: Path
) -> None:
    write_source(tmp_path / "source.csv", nanp_numbers(10, 12))
    folder = tmp_path / "read-only"
    config = write_config(tmp_path, [genesys_target(platforms)], state=str(folder / "dncsync.db"))

    finished = sync_with_mount(config, folder, "ro")

    assert finished.code == USAGE_OR_INPUT
    assert error_line(finished) == (
        f"dncsync: error: {folder / 'dncsync.db'}: cannot create the state file: the file "
        "system is read-only: write elsewhere, or remount it read-write"
    )
    assert platforms.requests() == []


@needs_mounts
def test_a_read_only_runs_folder_exits_2_before_anything_is_sent(
    platforms: Platforms, tmp_path: Path
) -> None:
    write_source(tmp_path / "source.csv", nanp_numbers(10, 13))
    runs = tmp_path / "evidence"
    config = with_runs_dir(write_config(tmp_path, [genesys_target(platforms)]), runs)

    finished = sync_with_mount(config, runs, "ro")

    assert finished.code == USAGE_OR_INPUT
    line = error_line(finished)
    assert line.startswith(f"dncsync: error: {runs}/")
    assert "cannot create the run's evidence folder: the file system is read-only" in line
    assert platforms.requests() == []


@needs_mounts
def test_a_full_temporary_folder_while_reading_a_list_exits_2_naming_it(
    platforms: Platforms, tmp_path: Path
) -> None:
    # The first sync of a list reads what it holds: a Genesys export, kept in a temporary file.
    platforms.running.state.genesys_edit(platforms.list_id, nanp_numbers(3000, 16))
    write_source(tmp_path / "source.csv", nanp_numbers(10, 17))
    config = write_config(tmp_path, [genesys_target(platforms)])
    spool = tmp_path / "tmp"

    finished = sync_with_mount(config, spool, "size=16k", env={"TMPDIR": str(spool)})

    assert finished.code == USAGE_OR_INPUT
    assert (
        f"{spool}: cannot keep the list's export (TMPDIR names the folder): no space left on "
        "the device: free some space, or write elsewhere"
    ) in error_line(finished)
    assert platforms.number_writes() == []


# --- a state file that is not this dncsync's --------------------------------------------------


def test_a_damaged_state_file_exits_3_and_is_left_as_it_was(
    platforms: Platforms, tmp_path: Path
) -> None:
    write_source(tmp_path / "source.csv", nanp_numbers(10, 14))
    state = tmp_path / "state" / "dncsync.db"
    state.parent.mkdir()
    damaged = b"SQLite format 3\x00" + bytes(range(256)) * 16
    state.write_bytes(damaged)
    config = write_config(tmp_path, [genesys_target(platforms)], state=str(state))

    finished = run_sync(config)

    assert finished.code == CONFIG_OR_AUTH
    assert error_line(finished).startswith(
        f"dncsync: error: {state}: not a dncsync state file, or a damaged one "
    )
    assert "restore it from a backup, or move it aside" in finished.stderr
    assert state.read_bytes() == damaged
    assert platforms.requests() == []


def test_a_state_file_from_a_newer_dncsync_exits_3_and_is_left_as_it_was(
    platforms: Platforms, tmp_path: Path
) -> None:
    write_source(tmp_path / "source.csv", nanp_numbers(10, 15))
    state = tmp_path / "state" / "dncsync.db"
    StateStore(state).close()
    with sqlite3.connect(state) as db:
        db.execute("INSERT INTO migrations VALUES ('0099_from_the_future', '2030-01-01')")
    db.close()
    before = state.read_bytes()
    config = write_config(tmp_path, [genesys_target(platforms)], state=str(state))

    finished = run_sync(config)

    assert finished.code == CONFIG_OR_AUTH
    assert error_line(finished) == (
        f"dncsync: error: {state}: written by a newer dncsync (it has migration "
        "0099_from_the_future, which dncsync 0.1.0 does not know); upgrade dncsync, or give "
        "this configuration a state file of its own; the file was not changed"
    )
    assert state.read_bytes() == before
    assert platforms.requests() == []
