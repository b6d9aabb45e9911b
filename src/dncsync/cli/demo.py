"""`dncsync demo`: a whole sync against the bundled emulator, no account, no network."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from dncsync.cli.sync import FormatOption, OutputFormat, emit
from dncsync.demo import run_demo
from dncsync.errors import DriftFound


def command(
    rows: Annotated[int, typer.Option(help="Rows in the sample source.", min=1)] = 2_000,
    workdir: Annotated[
        Path | None,
        typer.Option(help="Keep the sample, config and state here (default: a temporary folder)."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed for the sample source and the emulator.")] = 2026,
    output_format: FormatOption = OutputFormat.TEXT,
) -> None:
    """Sync a sample source to an emulated Genesys list and CXone group, then check both."""
    if workdir is None:
        with tempfile.TemporaryDirectory(prefix="dncsync-demo-") as scratch:
            _demo(Path(scratch), rows, seed, output_format)
    else:
        _demo(workdir, rows, seed, output_format)


def _demo(workdir: Path, rows: int, seed: int, output_format: OutputFormat) -> None:
    result = run_demo(workdir, rows, seed)
    if output_format is OutputFormat.JSON:
        summary = result.run.summary()
        summary["verification"] = {
            check.name: {
                "expected": check.expected,
                "held": check.held,
                "missing": check.missing,
                "unexpected": check.unexpected,
                "matches": check.matches,
            }
            for check in result.checks
        }
        print(json.dumps(summary, indent=2, sort_keys=True, default=str))
    else:
        emit(result.run, output_format)
        table = Table(title="Read back from each platform")
        for column in ("target", "expected", "held", "missing", "unexpected", "verdict"):
            table.add_column(column, justify="left" if column == "target" else "right")
        for check in result.checks:
            table.add_row(
                f"{check.name} ({check.platform})",
                str(check.expected),
                str(check.held),
                str(check.missing),
                str(check.unexpected),
                "[green]match[/]" if check.matches else "[red]drift[/]",
            )
        Console().print(table)
    if not result.matches:
        raise DriftFound("a platform does not hold exactly what the source asks for")
