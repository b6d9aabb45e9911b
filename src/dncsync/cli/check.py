"""`dncsync check`: a read-only preflight of each target; exit 0 when every one is ready."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from dncsync import config as config_module
from dncsync.cli.options import ConfigOption, FormatOption, OutputFormat
from dncsync.cli.printing import say
from dncsync.errors import ConfigError
from dncsync.run.check import TargetCheck, run_check


def command(
    config: ConfigOption = Path(config_module.DEFAULT_CONFIG),
    target: Annotated[
        str | None, typer.Option("--target", "-t", help="Only this target (default: every target).")
    ] = None,
    output_format: FormatOption = OutputFormat.TEXT,
) -> None:
    """Check each target against its platform without writing anything: credentials, the
    list, one read, capacity, clock, the campaigns or skills using the list, and the variant
    the platform speaks. Write permission is not verified. Exit 3 when a target is not ready.
    """
    parsed, _ = config_module.load(config)
    results = run_check(parsed, target)
    if output_format is OutputFormat.JSON:
        print(json.dumps({"targets": {r.name: r.summary() for r in results}}, indent=2))
    else:
        _print(results)
    failing = [r.name for r in results if not r.ready]
    if failing:
        raise ConfigError(f"not ready: {', '.join(failing)} (see their failed checks)")


def _print(results: list[TargetCheck]) -> None:
    console = Console() if sys.stdout.isatty() else Console(width=200)
    for result in results:
        failed = sum(not check.ok for check in result.checks)
        verdict = (
            "write not verified (every read-only check passed)"
            if result.ready
            else f"NOT READY ({failed} check{'s' if failed != 1 else ''} failed)"
        )
        say(console, f"{result.name} ({result.platform}): {verdict}")
        for check in result.checks:
            say(console, f"  {'ok  ' if check.ok else 'FAIL'}  {check.name:<12} {check.detail}")
        if result.variant:
            shown = "; ".join(f"{trait} = {value}" for trait, value in result.variant.items())
            say(console, f"  variant: {shown}")
        else:
            say(console, "  variant: nothing in the answers showed one")


__all__ = ["command"]
