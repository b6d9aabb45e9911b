"""`dncsync demo`: a whole sync against the bundled emulator, no account, no network."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from dncsync.cli.options import FormatOption, OutputFormat
from dncsync.cli.printing import safe
from dncsync.cli.sync import emit
from dncsync.demo import run_demo
from dncsync.errors import DriftFound


def command(
    rows: Annotated[int, typer.Option(help="Rows in the sample source.", min=1)] = 2_000,
    workdir: Annotated[
        Path | None,
        typer.Option(
            help="Where the sample, config, state and reports go (default: a new folder)."
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed for the sample source and the emulator.")] = 2026,
    output_format: FormatOption = OutputFormat.TEXT,
) -> None:
    """Sync a sample source to an emulated Genesys list and CXone group, then check both."""
    # The folder is kept: it holds the run's HTML report and audit log, worth opening.
    folder = workdir or Path(tempfile.mkdtemp(prefix="dncsync-demo-"))
    result = run_demo(folder, rows, seed)
    emit(result.run, output_format)
    if output_format is OutputFormat.TEXT:
        Console().print(
            f"demo files (sample, config, state, reports) kept in {safe(folder)}\n"
            + (
                "[green]both platforms hold exactly what the source asks for[/]"
                if result.matches
                else "[red]a platform does not hold what the source asks for[/]"
            )
        )
    if not result.matches:
        raise DriftFound("a platform does not hold exactly what the source asks for")
