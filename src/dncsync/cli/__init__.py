"""The `dncsync` command line: thin wrappers that build objects, call the library, map errors.

Each command lives in its own module under `dncsync.cli` and is registered here.
"""

from __future__ import annotations

from typing import Annotated

import typer

from dncsync.cli._common import main_entry
from dncsync.logs import LogFormat, configure_logging

app = typer.Typer(
    name="dncsync",
    help="Keep contact-center do-not-call lists exactly in sync with compliance sources.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _root(
    log_format: Annotated[
        LogFormat,
        typer.Option("--log-format", help="How log events print on stderr: console or json."),
    ] = LogFormat.CONSOLE,
    log_level: Annotated[
        str,
        typer.Option(
            "--log-level",
            help="The least severe events printed on stderr (debug, info, warning, error); "
            "a run's audit log keeps every event whatever this says.",
        ),
    ] = "warning",
) -> None:
    """Keep contact-center do-not-call lists exactly in sync with compliance sources."""
    if log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise typer.BadParameter(f"unknown level {log_level!r}", param_hint="--log-level")
    configure_logging(log_format, level=log_level)


# Command registrations: one line per command module.
from dncsync.cli import demo as _demo  # noqa: E402
from dncsync.cli import sync as _sync  # noqa: E402

app.command("plan")(_sync.plan_command)
app.command("sync")(_sync.sync_command)
app.command("demo")(_demo.command)
from dncsync.cli import emulator as _emulator  # noqa: E402

app.command("emulator")(_emulator.command)

from dncsync.cli import validate as _validate  # noqa: E402

app.command("validate")(_validate.command)

from dncsync.cli import audit as _audit  # noqa: E402

app.add_typer(_audit.app, name="audit")
from dncsync.cli import report as _report  # noqa: E402

app.command("report")(_report.command)
from dncsync.cli import runs as _runs  # noqa: E402

app.command("runs")(_runs.command)
from dncsync.cli import reconcile as _reconcile  # noqa: E402

app.command("reconcile")(_reconcile.command)


def main() -> None:
    """Console-script entry point."""
    main_entry(app)


__all__ = ["app", "main"]
