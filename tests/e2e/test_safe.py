"""Safe: a mirror run that would gut a list stops before any write; overlapping runs stop."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from .support import (
    Platforms,
    Sync,
    command,
    cxone_target,
    genesys_target,
    nanp_numbers,
    poll,
    run_sync,
    write_config,
    write_source,
)

pytestmark = pytest.mark.slow

SAFETY_STOP = 5


def _mirror_config(platforms: Platforms, folder: Path) -> Path:
    return write_config(
        folder,
        [
            genesys_target(platforms, mode="mirror", max_removal_fraction=0.05),
            cxone_target(platforms, mode="mirror", max_removal_fraction=0.05),
        ],
    )


def test_mirror_removing_more_than_the_cap_stops_before_any_write_until_overridden(
    platforms: Platforms, tmp_path: Path
) -> None:
    held = nanp_numbers(1_000, 8)
    write_source(tmp_path / "source.csv", held, seed=8)
    config = _mirror_config(platforms, tmp_path)
    assert run_sync(config).code == 0  # dncsync put these numbers there
    keep = held[:900]  # the source lost a tenth of its rows: 100 removals, 10% > 5%
    write_source(tmp_path / "source.csv", keep, seed=8)
    mark = platforms.mark()

    stopped = run_sync(config)

    assert stopped.code == SAFETY_STOP
    assert platforms.number_writes(mark) == []
    assert platforms.held("genesys") == set(held)
    assert platforms.held("cxone") == set(held)
    assert "Traceback" not in stopped.stderr
    lines = stopped.stderr.strip().splitlines()
    assert lines[-1].startswith("dncsync: error: ")
    for target in ("genesys-e2e", "cxone-e2e"):
        assert f"{target!r}: the plan removes 100 of 1000 numbers" in lines[-1]
    assert "--allow-mass-removal" in lines[-1]
    summary = stopped.summary()["targets"]
    assert all(target["removes"] == 100 and "stopped" in target for target in summary.values())

    mark = platforms.mark()
    overridden = run_sync(config, "--allow-mass-removal")

    assert overridden.code == 0, overridden.stderr
    assert platforms.number_writes(mark)
    assert platforms.held("genesys") == set(keep)
    assert platforms.held("cxone") == set(keep)


def test_mirror_with_zero_accepted_rows_stops_before_any_write(
    platforms: Platforms, tmp_path: Path
) -> None:
    held = nanp_numbers(50, 9)
    platforms.plant(held)
    # A garbled export: every row is there, no phone value survives validation.
    junk = "phone,reason\nn/a,NATIONAL\n#VALUE!,NATIONAL\n12345,NATIONAL\n,NATIONAL\n"
    (tmp_path / "source.csv").write_text(junk, encoding="utf-8")
    config = _mirror_config(platforms, tmp_path)

    stopped = run_sync(config)

    assert stopped.code == SAFETY_STOP
    assert platforms.number_writes() == []
    assert platforms.held("genesys") == set(held)
    assert platforms.held("cxone") == set(held)
    message = stopped.stderr.strip().splitlines()[-1]
    assert "no accepted numbers" in message
    assert "would remove all 50 numbers" in message
    assert "--allow-mass-removal" in message


def test_a_second_sync_of_a_running_target_exits_at_once(
    start_emulator: Callable[..., Platforms], tmp_path: Path
) -> None:
    platforms = start_emulator(latency_ms=150)  # a first run slow enough to overlap: 6 s
    numbers = nanp_numbers(400, 10)
    write_source(tmp_path / "source.csv", numbers, seed=10)
    config = write_config(tmp_path, [genesys_target(platforms, batch_size=10, concurrency=1)])
    first = Sync(command(config), tmp_path / "output")
    poll(
        lambda: platforms.number_writes(),
        deadline_seconds=60,
        what="the first run's first write",
        alive=first.running,
    )

    second = run_sync(config)

    assert first.running()  # the second run did not wait for the first
    assert second.code == SAFETY_STOP
    message = second.stderr.strip().splitlines()[-1]
    assert "another dncsync run is syncing target 'genesys-e2e'" in message
    done = first.wait()
    assert done.code == 0, done.stderr
    assert len(platforms.number_writes()) == len(numbers) // 10  # the second sent nothing
    assert platforms.held("genesys") == set(numbers)
