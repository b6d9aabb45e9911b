"""`dncsync runs`: run history from the state store, newest first."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from dncsync import config as config_module
from dncsync import storage
from dncsync.cli.history import History
from dncsync.cli.options import ConfigOption, FormatOption, OutputFormat
from dncsync.cli.printing import safe, say
from dncsync.state import RunRecord
from dncsync.state.intake import IntakeStats


def _duration(record: RunRecord) -> float | None:
    if not record.ended_at:
        return None
    try:
        started = datetime.fromisoformat(record.started_at)
        ended = datetime.fromisoformat(record.ended_at)
    except ValueError:
        return None
    return (ended - started).total_seconds()


def _changes(record: RunRecord) -> dict[str, int]:
    """Adds and removes (removes + expiries) summed over the run's targets."""
    targets = record.summary.get("targets", {}) if isinstance(record.summary, dict) else {}
    adds = removes = 0
    for target in targets.values() if isinstance(targets, dict) else ():
        if isinstance(target, dict):
            adds += int(target.get("adds", 0) or 0)
            removes += int(target.get("removes", 0) or 0) + int(target.get("expiries", 0) or 0)
    return {"adds": adds, "removes": removes}


def run_as_json(record: RunRecord) -> dict[str, Any]:
    """One run of history, JSON-ready."""
    return {
        "id": record.id,
        "command": record.command,
        "status": record.status,
        "started_at": record.started_at,
        "ended_at": record.ended_at,
        "duration_seconds": _duration(record),
        "targets": record.targets,
        **_changes(record),
        **(
            {"intake": _intake_summary(record.summary["intake"])}
            if isinstance(record.summary, dict) and isinstance(record.summary.get("intake"), dict)
            else {}
        ),
        "report": record.report_path,
        "html_report": record.html_report_path,
        "audit_log": record.audit_path,
    }


def _intake_summary(intake: dict[str, Any]) -> dict[str, Any]:
    """A serve run's intake figures, without its list of requests."""
    return {k: v for k, v in intake.items() if k != "requests_by_state"}


def _intake_line(stats: IntakeStats) -> str:
    """The intake's state now: what is pending, the oldest, what is past its deadline."""
    pending = stats.by_status.get("pending", 0) + stats.by_status.get("failed", 0)
    line = f"intake: {stats.requests:,} opt-outs received, {pending:,} pending"
    if stats.oldest_pending is not None:
        line += (
            f"; oldest pending received {stats.oldest_pending:%Y-%m-%d %H:%M:%S} UTC "
            f"(deadline {stats.oldest_pending_deadline})"
        )
    if stats.past_deadline:
        line += f"; {stats.past_deadline:,} PAST THEIR DEADLINE and not held everywhere"
    return line


def _when(text: str) -> str:
    try:
        return datetime.fromisoformat(text).strftime("%Y-%m-%d %H:%M:%S %z")
    except ValueError:
        return text


def command(
    config: ConfigOption = Path(config_module.DEFAULT_CONFIG),
    target: Annotated[
        str | None, typer.Option("--target", "-t", help="Only runs that touched this target.")
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, help="At most this many runs.")
    ] = 20,
    output_format: FormatOption = OutputFormat.TEXT,
) -> None:
    """Show run history, newest first: id, start, duration, targets, adds/removes, status."""
    history = History.from_config(config)
    records: list[RunRecord] = []
    if history.exists():
        with history.open() as store:
            records = store.runs(target=target, limit=limit)
    if output_format is OutputFormat.JSON:
        print(json.dumps([run_as_json(r) for r in records], indent=2))
        return
    # Piped output keeps whole lines (run ids stay greppable) instead of wrapping at 80.
    console = Console() if sys.stdout.isatty() else Console(width=200)
    if not records:
        say(console, "no runs recorded yet" + (f" for target {target!r}" if target else ""))
        return
    table = Table(title=f"Runs, newest first ({safe(history.where)})")
    for column in ("run id", "command", "started", "duration", "targets", "adds", "removes"):
        table.add_column(
            column,
            justify="right" if column in ("adds", "removes") else "left",
            no_wrap=column != "targets",
        )
    table.add_column("status", no_wrap=True)
    for record in records:
        duration = _duration(record)
        changes = _changes(record)
        table.add_row(
            safe(record.id),
            safe(record.command),
            safe(_when(record.started_at)),
            "-" if duration is None else f"{duration:.1f} s",
            safe(", ".join(record.targets)),
            f"{changes['adds']:,}",
            f"{changes['removes']:,}",
            safe(record.status),
        )
    console.print(table)
    if storage.intake_exists(history.config, history.base):
        received = storage.open_intake(history.config, history.base, {})
        try:
            say(console, _intake_line(received.stats(datetime.now(UTC).date())))
        finally:
            received.close()


__all__ = ["ConfigOption", "FormatOption", "History", "OutputFormat", "command", "run_as_json"]
