"""While a run waits, it says so: a heartbeat line per waiting target, at an interval."""

from __future__ import annotations

import io
import threading
import time
from typing import Any

import pytest
from rich.console import Console
from rich.progress import Progress, TextColumn

from dncsync.cli.waiting import (
    HEARTBEAT_ENV,
    heartbeat,
    heartbeat_lines,
    heartbeat_seconds,
    waiting_bars,
)
from dncsync.errors import InputError
from dncsync.net.waiting import SLOW_SECONDS, WAITS, Wait


def test_the_interval_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(HEARTBEAT_ENV, raising=False)
    assert heartbeat_seconds() == 30.0
    monkeypatch.setenv(HEARTBEAT_ENV, "0.5")
    assert heartbeat_seconds() == 0.5
    for bad in ("0", "-1", "soon", "nan"):
        monkeypatch.setenv(HEARTBEAT_ENV, bad)
        with pytest.raises(InputError, match=HEARTBEAT_ENV):
            heartbeat_seconds()


def test_a_waiting_target_gets_a_line_at_each_beat() -> None:
    key = WAITS.key()
    start = time.monotonic()
    WAITS.note(
        key,
        Wait("main\x1b[2J", "api.example.test", "no answer (ConnectError)", start, 3, None, None),
    )
    out = io.StringIO()
    try:
        with heartbeat(out, interval=0.02):
            deadline = time.monotonic() + 10
            while out.getvalue().count("\n") < 2:
                assert time.monotonic() < deadline, "no heartbeat within 10 s"
                time.sleep(0.01)
    finally:
        WAITS.clear(key)
    first = out.getvalue().splitlines()[0]
    assert first.startswith("dncsync: waiting: main[2J: no answer (ConnectError)")
    assert "from api.example.test, 3 attempts" in first
    assert "\x1b" not in out.getvalue()


def test_a_first_attempt_is_shown_only_once_it_is_slow() -> None:
    key = WAITS.key()
    start = time.monotonic()
    WAITS.note(key, Wait("slow", "h", "waiting for an answer", start, retrying=False))
    try:
        assert not [line for line in heartbeat_lines(start + 1) if "slow" in line]
        [line] = [line for line in heartbeat_lines(start + SLOW_SECONDS + 1) if "slow" in line]
        assert "waiting for an answer from h, waiting 11 s" in line
    finally:
        WAITS.clear(key)


def test_on_a_terminal_the_progress_bar_says_the_target_waits() -> None:
    bars = Progress(TextColumn("{task.description}"), console=Console(file=io.StringIO()))
    tasks: dict[str, Any] = {}
    key = WAITS.key()
    WAITS.note(key, Wait("bar-target", "h:1", "rate limited (HTTP 429)", time.monotonic(), 2))
    try:
        with waiting_bars(bars, tasks, threading.Lock()):
            deadline = time.monotonic() + 10
            while "bar-target" not in tasks or "waiting" not in _description(bars, tasks):
                assert time.monotonic() < deadline, "no waiting bar within 10 s"
                time.sleep(0.01)
            assert _description(bars, tasks).startswith(
                "bar-target  waiting: rate limited (HTTP 429) from h:1, 2 attempts"
            )
            WAITS.clear(key)
            while _description(bars, tasks) != "bar-target":  # back to its name once over
                assert time.monotonic() < deadline, "the bar still says waiting"
                time.sleep(0.01)
    finally:
        WAITS.clear(key)


def _description(bars: Progress, tasks: dict[str, Any]) -> str:
    return str(bars.tasks[tasks["bar-target"]].description)
