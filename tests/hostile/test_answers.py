"""A hostile platform: giant bodies, damaged exports, links elsewhere, endless pages, markup.

The emulator over a loopback socket answers some requests with hostile answers (`platform.py`)
while `dncsync sync` runs as a subprocess. Each test asserts the exit code, the one line an
operator reads, a bounded time, that nothing unacknowledged entered the state, and that a
following sync against the honest platform completes the list exactly.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from e2e.support import Platforms, cxone_target, genesys_target, nanp_numbers, write_config
from e2e.support import write_source as write_rows

from .platform import GIANT_BYTES, Hostile
from .support import SLACK, error_line, snapshot, sync

pytestmark = pytest.mark.hostile

CONFIG_OR_AUTH, PARTIAL_FAILURE = 3, 4
GENESYS, CXONE = "genesys-e2e", "cxone-e2e"
NUMBERS = nanp_numbers(30, 21)
LIMIT = 60.0  # a run against one hostile answer: seconds, far below any retry budget here
EXPORT_CAP = 1_000_000 * 256


def configure(tmp_path: Path, platforms: Platforms, *targets: str, **settings: object) -> Path:
    write_rows(tmp_path / "source.csv", NUMBERS, seed=21)
    tables = {
        GENESYS: genesys_target(platforms, export_timeout_seconds=600.0, **settings),
        CXONE: cxone_target(platforms, **settings),
    }
    return write_config(tmp_path, [tables[name] for name in targets])


def held(platforms: Platforms, target: str) -> set[str]:
    return platforms.held("genesys" if target == GENESYS else "cxone")


def assert_nothing_taken_then_completed(
    config: Path, platforms: Platforms, hostile: Hostile, target: str
) -> None:
    """Nothing entered the state; the honest platform's next sync completes the list."""
    assert snapshot(config, target) == set()
    assert held(platforms, target) == set()
    hostile.scenario = None
    honest = sync(config, limit=LIMIT)
    assert honest.code == 0, honest.finished.stderr
    assert held(platforms, target) == set(NUMBERS) == snapshot(config, target)


@pytest.mark.parametrize("scenario", ["giant_declared", "giant_streamed"])
def test_a_giant_answer_is_refused_without_being_read(
    hostile: tuple[Platforms, Hostile], tmp_path: Path, scenario: str
) -> None:
    platforms, state = hostile
    state.scenario = scenario
    config = configure(tmp_path, platforms, GENESYS)

    run = sync(config, limit=LIMIT)

    assert run.code == PARTIAL_FAILURE, run.finished.stderr
    assert run.seconds < SLACK
    line = error_line(run.finished.stderr)
    assert f"{GENESYS}: reading the DNC list failed" in line
    assert "dncsync.answer_refused" in line
    assert "above the 16 MiB cap; not read" in line
    # Declared: refused before a byte of the body is read (what went out is the sockets'
    # buffers); streamed: read up to the 16 MiB cap, plus the buffers.
    assert state.sent_bytes < (16 if scenario == "giant_declared" else 48) * 1024 * 1024
    assert state.sent_bytes < GIANT_BYTES
    assert_nothing_taken_then_completed(config, platforms, state, GENESYS)


def test_an_export_above_capacity_times_256_bytes_is_refused(
    hostile: tuple[Platforms, Hostile], tmp_path: Path
) -> None:
    platforms, state = hostile
    state.scenario = "giant_export"
    # 256 MB through loopback: time enough on a loaded machine, so the cap is what stops it.
    config = configure(tmp_path, platforms, GENESYS, request_timeout_seconds=60.0)

    run = sync(config, limit=120)

    assert run.code == PARTIAL_FAILURE, run.finished.stderr
    line = error_line(run.finished.stderr)
    assert f"the export of DNC list {platforms.list_id} is larger than 256,000,000 bytes" in line
    assert state.sent_bytes < EXPORT_CAP + 32 * 1024 * 1024  # stopped at the cap
    assert_nothing_taken_then_completed(config, platforms, state, GENESYS)


@pytest.mark.parametrize(
    ("scenario", "says"),
    [
        ("export_not_utf8", "is not a readable CSV (line 3: not UTF-8"),
        ("export_giant_field", "is not a readable CSV (line 2: a line longer than 65,536 bytes"),
    ],
)
def test_a_damaged_export_fails_with_the_line_it_failed_on(
    hostile: tuple[Platforms, Hostile], tmp_path: Path, scenario: str, says: str
) -> None:
    platforms, state = hostile
    state.scenario = scenario
    config = configure(tmp_path, platforms, GENESYS)

    run = sync(config, limit=LIMIT)

    assert run.code == PARTIAL_FAILURE, run.finished.stderr
    assert run.seconds < SLACK
    assert says in error_line(run.finished.stderr)
    assert_nothing_taken_then_completed(config, platforms, state, GENESYS)


@pytest.mark.parametrize(
    ("scenario", "says"),
    [
        ("export_link_not_a_url", "the export answered a link that is not a URL ({'href'"),
        ("export_link_elsewhere", "the export answered 'https://storage.example.net/export.csv'"),
        (
            "export_redirect_elsewhere",
            "the export's download redirected to 'http://127.0.0.2:9/export.csv'",
        ),
    ],
)
def test_an_export_link_is_followed_only_to_the_platform(
    hostile: tuple[Platforms, Hostile], tmp_path: Path, scenario: str, says: str
) -> None:
    platforms, state = hostile
    state.scenario = scenario
    config = configure(tmp_path, platforms, GENESYS)

    run = sync(config, limit=LIMIT)

    assert run.code == PARTIAL_FAILURE, run.finished.stderr
    assert run.seconds < SLACK  # refused at once, not polled for export_timeout_seconds (600)
    line = error_line(run.finished.stderr)
    assert f"{GENESYS}: {says}" in line
    assert "sig=abc" not in line  # a signed link's query is not echoed
    assert_nothing_taken_then_completed(config, platforms, state, GENESYS)


def test_paging_that_does_not_advance_stops(
    hostile: tuple[Platforms, Hostile], tmp_path: Path
) -> None:
    platforms, state = hostile
    state.scenario = "pages_repeat"
    config = configure(tmp_path, platforms, CXONE)

    run = sync(config, limit=LIMIT)

    assert run.code == PARTIAL_FAILURE, run.finished.stderr
    assert run.seconds < SLACK
    assert (
        f"{CXONE}: reading DNC group {platforms.group_id} does not advance: the page at "
        "skip=10 repeats an earlier page" in error_line(run.finished.stderr)
    )
    assert len([a for a in state.answered if a.endswith("/records")]) == 2
    assert_nothing_taken_then_completed(config, platforms, state, CXONE)


def test_markup_and_control_characters_in_batch_errors_are_printed_literally(
    hostile: tuple[Platforms, Hostile], tmp_path: Path
) -> None:
    platforms, state = hostile
    config = configure(tmp_path, platforms, GENESYS)
    state.scenario = None
    assert sync(config, limit=LIMIT).code == 0  # read the list once: the next run only writes
    write_rows(tmp_path / "source.csv", [*NUMBERS, *nanp_numbers(5, 22, exclude=NUMBERS)])
    state.scenario = "markup_in_batch_errors"

    run = sync(config, limit=LIMIT, output="text")

    assert run.code == PARTIAL_FAILURE, run.finished.stderr
    out, err = run.finished.stdout, run.finished.stderr
    assert "MarkupError" not in out + err
    assert "list [/x] is [bold]locked[/bold]" in out  # literally, as the platform wrote it
    assert "\x1b" not in out
    assert "\x1b" not in err
    assert "\x07" not in out
    assert not [line for line in out.splitlines() if line.startswith("forged")]
    assert "numbers not acknowledged after retries" in error_line(err)

    report = subprocess.run(
        [sys.executable, "-m", "dncsync", "report", "latest", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env=dict(os.environ),
    )
    assert "[/x]" in report.stdout
    assert "\x1b" not in report.stdout
    assert not [line for line in report.stdout.splitlines() if line.startswith("forged")]


def test_markup_in_a_fatal_error_is_one_literal_line(
    hostile: tuple[Platforms, Hostile], tmp_path: Path
) -> None:
    platforms, state = hostile
    state.scenario = "markup_in_fatal_error"
    config = configure(tmp_path, platforms, GENESYS)

    run = sync(config, limit=LIMIT, output="text")

    assert run.code == CONFIG_OR_AUTH, run.finished.stderr
    line = error_line(run.finished.stderr)
    assert "dnc.source.operation.not.supported: list [/x] is [bold]locked[/bold]" in line
    assert "\x1b" not in run.finished.stderr
    assert "\x1b" not in run.finished.stdout
    assert_nothing_taken_then_completed(config, platforms, state, GENESYS)
