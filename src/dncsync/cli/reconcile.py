"""`dncsync reconcile`: read each platform's whole list and prove it holds what it should."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from dncsync import config as config_module
from dncsync.cli.options import ConfigOption, FormatOption, OutputFormat
from dncsync.cli.printing import safe, say
from dncsync.cli.waiting import heartbeat
from dncsync.errors import DriftFound, RunEnded
from dncsync.run.reconcile import ReconcileResult, run_reconcile


def command(
    config: ConfigOption = Path(config_module.DEFAULT_CONFIG),
    target: Annotated[
        str | None, typer.Option("--target", "-t", help="Only this target (default: every target).")
    ] = None,
    repair: Annotated[
        bool,
        typer.Option(
            "--repair",
            help="Push the missing numbers (and, in mirror mode, remove unexpected ones under "
            "the removal cap), then read the list again.",
        ),
    ] = False,
    allow_mass_removal: Annotated[
        bool,
        typer.Option(
            "--allow-mass-removal",
            help="With --repair: let a mirror target remove more than max_removal_fraction.",
        ),
    ] = False,
    output_format: FormatOption = OutputFormat.TEXT,
) -> None:
    """Compare each platform's list with the sources and the state store; exit 6 on drift.

    Reports numbers `missing` (should be there, are not), `unexpected` (are there, should not
    be) and, in upsert mode, `foreign` (put there by someone else: not drift). The state
    store's snapshot is corrected to what the platform holds, so the next sync repairs it.
    """
    parsed, base = config_module.load(config)
    try:
        with heartbeat():
            result = run_reconcile(
                parsed, base, target=target, repair=repair, allow_mass_removal=allow_mass_removal
            )
    except RunEnded as ended:  # a target could not be read, or the run was interrupted
        if isinstance(ended.result, ReconcileResult):
            _show(ended.result, output_format)
        raise
    _show(result, output_format)
    if not result.clean:
        drifted = [name for name, t in result.targets.items() if not t.clean]
        raise DriftFound(
            f"drift on {', '.join(drifted)} (run {result.run_id}); "
            + (
                "the repair did not finish: see the report"
                if repair
                else "run `dncsync reconcile --repair` or the next `dncsync sync` to fix it"
            )
        )


def _show(result: ReconcileResult, output_format: OutputFormat) -> None:
    if output_format is OutputFormat.JSON:
        print(json.dumps(result.summary(), indent=2))
    else:
        _print(result)


def _print(result: ReconcileResult) -> None:
    console = Console() if sys.stdout.isatty() else Console(width=200)
    table = Table(title=f"Reconcile {safe(result.run_id)}")
    for column in ("target", "mode", "expected", "held", "missing", "unexpected", "foreign"):
        table.add_column(column, justify="left" if column in ("target", "mode") else "right")
    table.add_column("result")
    for name, part in result.targets.items():
        drift = part.drift
        verdict = "match" if not drift.drifted else "DRIFT"
        if part.repaired is not None:
            verdict = "repaired" if part.clean else "DRIFT after repair"
        if part.stopped:
            verdict = "repair stopped (safety)"
        table.add_row(
            safe(name),
            safe(drift.mode),
            f"{drift.expected:,}",
            f"{drift.held:,}",
            f"{len(drift.missing):,}",
            f"{len(drift.unexpected):,}",
            f"{len(drift.foreign):,}",
            verdict,
        )
    for name in result.failures:
        table.add_row(safe(name), "", "", "", "", "", "", "FAILED")
    console.print(table)
    for name, error in result.failures.items():
        say(console, f"  {name}: {error}")
    for name, part in result.targets.items():
        sample = part.drift.summary()["sample"]
        for kind in ("missing", "unexpected", "foreign", "expiry_mismatch"):
            if sample[kind]:
                say(
                    console,
                    f"  {name} {kind.replace('_', ' ')} (sample): {', '.join(sample[kind])}",
                )
        if part.stopped:
            say(console, f"  {name}: {part.stopped}")
    if result.evidence is not None:
        say(console, f"report: {result.evidence.files.report_html}")


__all__ = ["command"]
