"""Text from a platform is echoed literally: never console markup, never a control character."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dncsync.cli._common import fail
from dncsync.cli.options import OutputFormat
from dncsync.cli.sync import emit
from dncsync.errors import ExitCode, Failure
from dncsync.outcome import RunResult, TargetOutcome
from dncsync.plan import Plan
from dncsync.privacy import printable
from dncsync.targets.base import BatchResult

HOSTILE = "bad [/x] [bold]loud[/bold] \x1b[2J\x1b]0;pwned\x07 \u202eevil\r\nforged line"


def test_printable_strips_controls_and_keeps_one_line() -> None:
    text = printable(HOSTILE)
    assert "\x1b" not in text
    assert "\x07" not in text
    assert "\u202e" not in text
    assert "\n" not in text
    assert "\r" not in text
    assert text.startswith("bad [/x] [bold]loud[/bold] ")
    assert text.endswith("evil forged line")
    assert printable("café ✓ +1415555****") == "café ✓ +1415555****"


def test_the_summary_prints_platform_text_literally(capsys: pytest.CaptureFixture[str]) -> None:
    batch = BatchResult(count=1, failed={"+14155552671": Failure("bad.request", HOSTILE)})
    outcome = TargetOutcome(
        name="main [/x]",
        platform="genesys",
        mode="upsert",
        plan=Plan(),
        batches=[batch],
        error=f"main: refused ({HOSTILE})",
        exit_code=ExitCode.PARTIAL_FAILURE,
    )
    result = RunResult("run-1", "sync", datetime.now(UTC), None, "digest", {}, [outcome])

    emit(result, OutputFormat.TEXT)  # `[/x]` as markup would raise a MarkupError

    out = capsys.readouterr().out
    assert "main [/x]" in out
    assert "bad [/x] [bold]loud[/bold]" in out
    assert "\x1b" not in out
    assert "\x07" not in out
    assert not any(line.startswith("forged line") for line in out.splitlines())


def test_the_error_line_is_one_printable_line(capsys: pytest.CaptureFixture[str]) -> None:
    fail(HOSTILE)
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "\x1b" not in err
    assert err.startswith("dncsync: error: bad [/x]")
