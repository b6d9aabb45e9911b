"""`dncsync audit verify RUN_ID`: prove a run's audit log is whole and unedited."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from dncsync import config as config_module
from dncsync.audit import AuditChainBroken, verify
from dncsync.cli.history import History
from dncsync.cli.options import ConfigOption, FormatOption, OutputFormat
from dncsync.errors import InputError

app = typer.Typer(
    name="audit",
    help="Check the tamper-evident audit logs that every run leaves.",
    no_args_is_help=True,
)


@app.command("verify")
def verify_command(
    run_id: Annotated[str, typer.Argument(help="A run id, a unique prefix of one, or 'latest'.")],
    config: ConfigOption = Path(config_module.DEFAULT_CONFIG),
    output_format: FormatOption = OutputFormat.TEXT,
) -> None:
    """Check a run's audit log against its hash chain and the seal in the state store.

    Exits 0 when intact, 6 when a line was edited, deleted, reordered or cut (naming the
    first broken line), 2 when the run or its log cannot be found.
    """
    history = History.from_config(config)
    with history.open() as store:
        record = history.find(store, run_id)
    path = history.files(record).audit
    if not path.exists():
        raise InputError(f"run {record.id}: its audit log {path} is missing")
    sealed = record.audit_hash is not None and record.audit_lines is not None
    verdict = verify(path, record.audit_hash, record.audit_lines)
    if output_format is OutputFormat.JSON:
        print(
            json.dumps(
                {
                    "run_id": record.id,
                    "audit_log": str(path),
                    "ok": verdict.ok,
                    "sealed": sealed,
                    "lines": verdict.lines,
                    "final_hash": verdict.final_hash,
                    "broken_line": verdict.broken_line,
                    "problem": verdict.problem,
                },
                indent=2,
            )
        )
    elif verdict.ok:
        print(
            f"audit log intact: {path}\n"
            f"  {verdict.lines} lines, final hash {verdict.final_hash}"
            + (
                "\n  matches the seal recorded when the run ended"
                if sealed
                else "\n  not sealed: the run did not record its end (it crashed or still "
                "runs); the chain was checked, a cut tail cannot be ruled out"
            )
        )
    if not verdict.ok:
        raise AuditChainBroken(f"audit log {path} is broken at {verdict.problem}")


__all__ = ["app"]
