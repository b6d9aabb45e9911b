"""The `dncsync` command line: thin wrappers that build objects, call the library, map errors.

Each command lives in its own module under `dncsync.cli` and is registered here.
"""

from __future__ import annotations

import typer

from dncsync.cli._common import main_entry

app = typer.Typer(
    name="dncsync",
    help="Keep contact-center do-not-call lists exactly in sync with compliance sources.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _root() -> None:
    """Keep contact-center do-not-call lists exactly in sync with compliance sources."""


# Command registrations: one line per command module.
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


def main() -> None:
    """Console-script entry point."""
    main_entry(app)


__all__ = ["app", "main"]
