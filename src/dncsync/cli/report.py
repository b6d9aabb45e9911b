"""`dncsync report RUN_ID`: a stored run report as JSON, text or one HTML page."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from dncsync import config as config_module
from dncsync.audit import write_private
from dncsync.cli.history import History
from dncsync.cli.options import ConfigOption
from dncsync.errors import InputError
from dncsync.report import ReportFormat, load_report, render


def command(
    run_id: Annotated[str, typer.Argument(help="A run id, a unique prefix of one, or 'latest'.")],
    config: ConfigOption = Path(config_module.DEFAULT_CONFIG),
    output_format: Annotated[
        ReportFormat,
        typer.Option("--format", "-f", help="json, text, or html (one self-contained page)."),
    ] = ReportFormat.TEXT,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write to this file (mode 0600) instead of stdout."),
    ] = None,
) -> None:
    """Show a run's report: sources, accounting, plan, batches, failures, verification."""
    history = History.from_config(config)
    with history.open() as store:
        record = history.find(store, run_id)
    path = history.files(record).report_json
    if not path.exists():
        raise InputError(
            f"run {record.id} ({record.command}, {record.status}) has no report at {path}: "
            "only runs that reached their end write one"
        )
    try:
        report = load_report(path)
    except (ValueError, KeyError, TypeError) as error:
        raise InputError(f"{path}: not a readable run report ({error})") from None
    text = render(report, output_format)
    if output is None:
        sys.stdout.write(text)
        return
    try:
        write_private(output, text.encode())
    except OSError as error:
        raise InputError(f"cannot write {output}: {error.strerror}") from None
    print(output)


__all__ = ["command"]
