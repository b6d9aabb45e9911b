"""`dncsync plan` and `dncsync sync`: the dry run and the real one."""

from __future__ import annotations

import contextlib
import json
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from dncsync import config as config_module
from dncsync.cli.options import (
    AllowMassRemovalOption,
    ConfigOption,
    FormatOption,
    OutputFormat,
    TargetOption,
)
from dncsync.cli.printing import safe, say
from dncsync.cli.waiting import heartbeat, waiting_bars
from dncsync.errors import RunEnded
from dncsync.outcome import RunResult
from dncsync.run.sync import RunOptions, run_sync


def plan_command(
    config: ConfigOption = Path(config_module.DEFAULT_CONFIG),
    target: TargetOption = None,
    output_format: FormatOption = OutputFormat.TEXT,
    allow_mass_removal: AllowMassRemovalOption = False,
) -> None:
    """Show what a sync would send to each target: adds, updates, removes, expiries. No writes.

    Exits 5, after printing the plan, when a sync would stop for safety.
    """
    parsed, base = config_module.load(config)
    options = RunOptions(target=target, apply=False, allow_mass_removal=allow_mass_removal)
    try:
        with heartbeat():
            result = run_sync(parsed, base, options, command="plan")
    except RunEnded as ended:
        emit(ended.result, output_format)
        raise
    emit(result, output_format)


def sync_command(
    config: ConfigOption = Path(config_module.DEFAULT_CONFIG),
    target: TargetOption = None,
    output_format: FormatOption = OutputFormat.TEXT,
    allow_mass_removal: AllowMassRemovalOption = False,
    verify: Annotated[
        bool,
        typer.Option(
            "--verify",
            help="After the push, read each platform's whole list back and compare "
            "(exit 6 when it differs).",
        ),
    ] = False,
    collect: Annotated[
        bool,
        typer.Option(
            "--collect",
            help="First read each target with collect = true: numbers on its list that no "
            "source holds and dncsync did not add become opt-outs sent to every target.",
        ),
    ] = False,
) -> None:
    """Plan and push the difference to each target, then print a summary."""
    parsed, base = config_module.load(config)
    options = RunOptions(
        target=target, allow_mass_removal=allow_mass_removal, verify=verify, collect=collect
    )
    with progress_bars() as progress:
        try:
            result = run_sync(parsed, base, options, command="sync", progress=progress)
        except RunEnded as ended:
            emit(ended.result, output_format)
            raise
    emit(result, output_format)


@contextlib.contextmanager
def progress_bars() -> Iterator[Callable[[str, int, int], None] | None]:
    """A progress bar per target on a terminal's stderr, saying when the target waits (on
    retries, 429s, an export); otherwise no bar, and a heartbeat line while a target waits."""
    if not sys.stderr.isatty():
        with heartbeat():
            yield None
        return
    bars = Progress(
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    tasks: dict[str, Any] = {}
    lock = threading.Lock()

    def update(target: str, done: int, total: int) -> None:
        with lock:
            if target not in tasks:
                tasks[target] = bars.add_task(target, total=total)
            bars.update(tasks[target], completed=done, total=total)

    with bars, waiting_bars(bars, tasks, lock):
        yield update


def emit(result: RunResult, output_format: OutputFormat) -> None:
    """Print a run's summary: one JSON object, or tables.

    Text that may come from a platform or a configuration (names, errors, paths) is printed
    literally: never read as console markup, control characters stripped (`cli.printing`).
    """
    summary = result.summary()
    if output_format is OutputFormat.JSON:
        print(json.dumps(summary, indent=2, sort_keys=True, default=str))
        return
    console = Console()
    accounting = summary["accounting"]
    if accounting:
        console.print(
            f"[bold]{safe(summary['command'])}[/] run {safe(summary['run_id'])}: "
            f"{accounting['rows']} rows = {accounting['accepted']} accepted + "
            f"{accounting['duplicates']} duplicates + {accounting['rejected']} rejected",
            soft_wrap=True,
        )
    targets = summary["targets"]
    table = Table(title="Targets")
    table.add_column("")
    for name, target in targets.items():
        table.add_column(
            f"{safe(name)}\n{safe(target['platform'])}, {safe(target['mode'])}",
            justify="right",
        )
    rows = [
        ("outcome", "status"),
        ("held before", "held_before"),
        ("adds", "adds"),
        ("updates", "updates"),
        ("removes", "removes"),
        ("expiries", "expiries"),
        ("unchanged", "unchanged"),
        ("expired, not pushed", "expired_not_pushed"),
        ("foreign, kept", "foreign"),
    ]
    if summary["command"] == "sync":
        rows += [
            ("writes sent", "writes"),
            ("numbers acknowledged", "acknowledged"),
            ("numbers failed", "failed"),
            ("numbers skipped", "skipped"),
            ("retries", "retries"),
            ("429s met", "rate_limited"),
            ("numbers/s", "numbers_per_second"),
        ]
    for label, key in rows:
        table.add_row(label, *(_cell(target.get(key)) for target in targets.values()))
    console.print(table)
    for name, target in summary["targets"].items():
        sample = {k: v for k, v in target["sample"].items() if v}
        if sample and summary["command"] == "plan":
            for kind, phones in sample.items():
                say(console, f"  {name} {kind} (sample): {', '.join(phones)}")
        for phone, error in target.get("failures", {}).items():
            say(console, f"  {name}: {phone} not acknowledged: {error}", style="red")
        for phone, why in target.get("skipped_numbers", {}).items():
            say(console, f"  {name}: {phone} skipped: {why}", style="yellow")
        if target.get("paired_by_position"):
            say(
                console,
                f"  {name}: {target['paired_by_position']} batches paired by position "
                "(the platform's results named no number)",
                style="yellow",
            )
        if target.get("stopped"):
            say(console, f"  {name}: stopped: {target['stopped']}", style="red")
        elif target.get("error"):
            say(console, f"  {name}: failed: {target['error']}", style="red")
        if target.get("not_run"):
            say(console, f"  {name}: not run: {target['not_run']}")
        room = target.get("capacity")
        if room and room.get("left_out"):
            say(
                console,
                f"  {name}: holds at most {room['capacity']} numbers and needs "
                f"{room['to_hold']}: the {room['left_out']} least important "
                f"{'would be' if summary['command'] == 'plan' else 'were'} left out",
                style="yellow",
            )
        if target.get("read_reason"):
            say(console, f"  {name}: read the whole list: {target['read_reason']}")
        if target.get("collected") is not None:
            say(
                console,
                f"  {name}: collected {target['collected']} numbers dncsync did not add "
                "(opt-outs now, sent to every target)",
            )
        clock = target.get("clock")
        if clock:
            say(
                console,
                f"  {name}: this machine's clock ({clock['local_time']}) and the platform's "
                f"({clock['platform_time']}) differ by {clock['skew_seconds']} s; decided by "
                f"the platform's time (today = {clock['today']})",
                style="yellow",
            )
        verification = target.get("verification")
        if verification:
            say(
                console,
                f"  {name}: read back: {verification['status']} "
                f"(missing {verification.get('missing', 0)}, "
                f"unexpected {verification.get('unexpected', 0)})",
            )
    evidence = summary.get("evidence")
    if evidence:
        say(console, f"report: {evidence['report_html']}")
        say(console, f"report (JSON): {evidence['report_json']}")
        say(console, f"audit log: {evidence['audit_log']}")
        say(console, f"warned rows: {evidence['warnings']}")


def _cell(value: object) -> str:
    return "-" if value is None else safe(value)
