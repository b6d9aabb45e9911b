"""`dncsync reconcile` against the emulator over a real socket: drift planted directly in the
platforms is found in both directions, `--repair` fixes it, and the evidence verifies."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dncsync import config as config_module
from dncsync.cli import app
from dncsync.cli._common import main_entry
from dncsync.demo import create_list_and_group
from dncsync.emulator import (
    DEFAULT_ACCESS_KEY_ID,
    DEFAULT_ACCESS_KEY_SECRET,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_TENANT_ID,
    EmulatorSettings,
    RateLimit,
    RunningEmulator,
    run_in_thread,
)
from dncsync.run import RunOptions, run_sync

pytestmark = pytest.mark.slow

ENVIRONMENT = {
    "RC_CLIENT_ID": DEFAULT_CLIENT_ID,
    "RC_CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
    "RC_ACCESS_KEY_ID": DEFAULT_ACCESS_KEY_ID,
    "RC_ACCESS_KEY_SECRET": DEFAULT_ACCESS_KEY_SECRET,
}
NUMBERS = [f"+1415555{n:04d}" for n in range(1000, 1120)]  # 120 numbers


@dataclass
class World:
    emulator: RunningEmulator
    config: Path
    list_id: str
    group_id: int

    def genesys(self) -> set[str]:
        return set(self.emulator.state.genesys_numbers(self.list_id))

    def cxone(self) -> set[str]:
        return self.emulator.state.cxone_held(self.group_id)

    def subprocess(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`dncsync ARGS --config ...` as a real process."""
        return subprocess.run(
            [sys.executable, "-m", "dncsync", *args, "--config", str(self.config)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={**os.environ, **ENVIRONMENT},
        )

    def dncsync(self, *args: str) -> Done:
        """`dncsync ARGS --config ...` in this process, through the real entry point."""
        argv = sys.argv
        sys.argv = ["dncsync", *args, "--config", str(self.config)]
        out, err = io.StringIO(), io.StringIO()
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    main_entry(app)
                except SystemExit as done:
                    code = done.code if isinstance(done.code, int) else 1
        finally:
            sys.argv = argv
        return Done(code, out.getvalue(), err.getvalue())


@dataclass
class Done:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """Both platforms synced with 120 numbers: Genesys in upsert mode, CXone in mirror mode."""
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    settings = EmulatorSettings(rate_limit=RateLimit(1_000_000, 60.0), export_delay_seconds=0)
    with run_in_thread(settings) as emulator:
        list_id, group_id = asyncio.run(create_list_and_group(emulator.base_url, "reconcile"))
        source = tmp_path / "optouts.csv"
        source.write_text(
            "phone,reason,date_collected\n"
            + "".join(f"{n},customer request,2026-11-02\n" for n in NUMBERS),
            encoding="utf-8",
        )
        config = tmp_path / "dncsync.toml"
        config.write_text(
            f"""
[state]
path = "dncsync.db"

[[source]]
name = "optouts"
url = "optouts.csv"

[[target]]
name = "genesys-main"
platform = "genesys"
base_url = "{emulator.base_url}"
dnc_list_id = "{list_id}"
mode = "upsert"
client_id_env = "RC_CLIENT_ID"
client_secret_env = "RC_CLIENT_SECRET"
batch_size = 50
requests_per_minute = 60000

[[target]]
name = "cxone-main"
platform = "cxone"
base_url = "{emulator.base_url}"
tenant_id = "{DEFAULT_TENANT_ID}"
dnc_group_id = {group_id}
mode = "mirror"
max_removal_fraction = 0.5
access_key_id_env = "RC_ACCESS_KEY_ID"
access_key_secret_env = "RC_ACCESS_KEY_SECRET"
client_id_env = "RC_CLIENT_ID"
client_secret_env = "RC_CLIENT_SECRET"
batch_size = 50
requests_per_minute = 60000
""",
            encoding="utf-8",
        )
        parsed, base = config_module.load(config)
        run_sync(parsed, base, RunOptions(), command="sync")
        world = World(emulator, config, list_id, group_id)
        assert world.genesys() == set(NUMBERS)
        assert world.cxone() == {n[2:] for n in NUMBERS}
        yield world


def counts(output: str) -> dict[str, dict[str, int]]:
    targets = json.loads(output)["targets"]
    return {
        name: {k: t[k] for k in ("missing", "unexpected", "foreign")} for name, t in targets.items()
    }


def test_a_synced_platform_reconciles_clean(world: World) -> None:
    done = world.dncsync("reconcile", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert counts(done.stdout) == {
        "genesys-main": {"missing": 0, "unexpected": 0, "foreign": 0},
        "cxone-main": {"missing": 0, "unexpected": 0, "foreign": 0},
    }
    # Every row the sources gave is accounted for on the console as in the run's report.
    shown = json.loads(done.stdout)
    runs = json.loads(world.dncsync("runs", "--format", "json").stdout)
    report = json.loads(world.dncsync("report", runs[0]["id"], "--format", "json").stdout)
    kept = report["accounting"]
    assert shown["accounting"]["rows"] > 0
    for key in ("rows", "accepted", "duplicates", "rejected", "values"):
        assert shown["accounting"][key] == kept[key], key
    assert shown["accounting"]["values"] == (
        shown["accounting"]["accepted"]
        + shown["accounting"]["duplicates"]
        + shown["accounting"]["rejected"]
    )
    for name in ("genesys-main", "cxone-main"):
        assert shown["targets"][name]["accounting"]["accepted"] > 0


def test_drift_planted_in_the_platforms_is_found_and_repaired(world: World) -> None:
    state = world.emulator.state
    # Someone works in the platforms' UIs: numbers removed, numbers added.
    state.genesys_edit(world.list_id, remove=NUMBERS[:3], add=["+12125550101", "+12125550102"])
    state.cxone_edit(world.group_id, delete=[n[2:] for n in NUMBERS[10:12]], upsert=["6175550123"])

    found = world.subprocess("reconcile", "--format", "json")
    assert found.returncode == 6, found.stderr
    assert counts(found.stdout) == {
        # Numbers added in the platforms' UIs are someone's opt-outs: foreign, not drift, in
        # upsert and mirror mode alike.
        "genesys-main": {"missing": 3, "unexpected": 0, "foreign": 2},
        "cxone-main": {"missing": 2, "unexpected": 0, "foreign": 1},
    }
    assert "drift on genesys-main, cxone-main" in found.stderr
    # Numbers are masked in everything printed.
    assert "+14155551000" not in found.stdout + found.stderr
    assert "+1415555****" in found.stdout

    repaired = world.subprocess("reconcile", "--repair", "--format", "json")
    assert repaired.returncode == 0, repaired.stderr
    summary = json.loads(repaired.stdout)["targets"]
    assert summary["genesys-main"]["repair"]["adds"] == 3
    assert summary["cxone-main"]["repair"]["adds"] == 2
    assert summary["cxone-main"]["repair"]["removes"] == 0  # the agent's number stays
    assert summary["cxone-main"]["after"]["status"] == "match"
    assert world.genesys() == set(NUMBERS) | {"+12125550101", "+12125550102"}
    assert world.cxone() == {n[2:] for n in NUMBERS} | {"6175550123"}

    again = world.dncsync("reconcile", "--format", "json")
    assert again.returncode == 0, again.stderr
    assert counts(again.stdout)["genesys-main"] == {"missing": 0, "unexpected": 0, "foreign": 2}


def test_without_repair_the_snapshot_is_corrected_so_the_next_sync_repairs(world: World) -> None:
    world.emulator.state.genesys_edit(world.list_id, remove=NUMBERS[5:9])
    assert world.dncsync("reconcile", "--target", "genesys-main").returncode == 6
    synced = world.dncsync("sync", "--target", "genesys-main", "--format", "json")
    assert synced.returncode == 0, synced.stderr
    assert world.genesys() == set(NUMBERS)


def test_reconcile_leaves_verifiable_evidence(world: World) -> None:
    world.emulator.state.genesys_edit(world.list_id, remove=NUMBERS[:1])
    world.dncsync("reconcile")
    runs = json.loads(world.dncsync("runs", "--format", "json").stdout)
    assert runs[0]["command"] == "reconcile"
    assert runs[0]["status"] == "drift"
    verified = world.dncsync("audit", "verify", runs[0]["id"])
    assert verified.returncode == 0, verified.stderr
    report = json.loads(world.dncsync("report", runs[0]["id"], "--format", "json").stdout)
    assert report["accounting"]["balanced"]
    genesys = next(t for t in report["targets"] if t["name"] == "genesys-main")
    assert genesys["verification"]["status"] == "drift"
    assert genesys["verification"]["missing"] == 1
    audit = Path(runs[0]["audit_log"]).read_text(encoding="utf-8")
    assert "+14155551000" not in audit
    assert '"event":"dnc.reconciled"' in audit


def test_numbers_an_agent_added_survive_mirror_syncs_until_remove_foreign(world: World) -> None:
    agents = ["6175550123", "6175550124"]
    world.emulator.state.cxone_edit(world.group_id, upsert=agents)

    seen = world.dncsync("reconcile", "--target", "cxone-main", "--format", "json")
    assert seen.returncode == 0, seen.stderr  # someone's opt-outs: not drift
    assert counts(seen.stdout)["cxone-main"] == {"missing": 0, "unexpected": 0, "foreign": 2}

    # The next mirror sync keeps them, and says so.
    synced = world.dncsync("sync", "--target", "cxone-main", "--format", "json")
    assert synced.returncode == 0, synced.stderr
    target = json.loads(synced.stdout)["targets"]["cxone-main"]
    assert (target["removes"], target["foreign"]) == (0, 2)
    assert world.cxone() >= set(agents)
    repaired = world.dncsync("reconcile", "--target", "cxone-main", "--repair")
    assert repaired.returncode == 0, repaired.stderr
    assert world.cxone() >= set(agents)

    # `remove_foreign = true` is the explicit way to take them off.
    _set(world, 'mode = "mirror"', 'mode = "mirror"\nremove_foreign = true')
    removed = world.dncsync("sync", "--target", "cxone-main", "--format", "json")
    assert removed.returncode == 0, removed.stderr
    assert json.loads(removed.stdout)["targets"]["cxone-main"]["removes"] == 2
    assert world.cxone() == {n[2:] for n in NUMBERS}


def _set(world: World, old: str, new: str) -> None:
    text = world.config.read_text(encoding="utf-8")
    assert old in text
    world.config.write_text(text.replace(old, new), encoding="utf-8")


def test_a_mirror_repair_stays_under_the_removal_cap(world: World) -> None:
    _set(world, 'mode = "mirror"', 'mode = "mirror"\nremove_foreign = true')
    extra = [f"650555{n:04d}" for n in range(100)]  # 100 unexpected on a list of 120: 45%...
    world.emulator.state.cxone_edit(
        world.group_id, upsert=extra + [f"65055502{n:02d}" for n in range(30)]
    )
    stopped = world.dncsync("reconcile", "--target", "cxone-main", "--repair", "--format", "json")
    assert stopped.returncode == 6
    summary = json.loads(stopped.stdout)["targets"]["cxone-main"]
    assert summary["unexpected"] == 130
    assert "max_removal_fraction" in summary["repair_stopped"]
    assert len(world.cxone()) == 250  # nothing removed
