"""The `dncsync` command line: thin wrappers that build objects, call the library, map errors.

Each command lives in its own module under `dncsync.cli` and is registered here. Registration
imports every command's module (and through them numpy, the emulator, the engine...), about half
a second; `main()` registers only the invoked command when it is a light one (`validate`, whose
whole-process speed is benchmarked), and `app` is registered in full on first use.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from dncsync.cli._common import main_entry
from dncsync.logs import LogFormat, configure_logging

_app = typer.Typer(
    name="dncsync",
    help="Keep contact-center do-not-call lists exactly in sync with compliance sources.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@_app.callback()
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


def _register_validate() -> None:
    from dncsync.cli import validate as _validate

    _app.command("validate")(_validate.command)


_LIGHT = {"validate": _register_validate}  # commands registered alone when invoked
_registered: set[str] = set()


def _register(only: str | None = None) -> typer.Typer:
    """Register the commands (one line per command module), or only the light one invoked."""
    if only in _LIGHT:
        if only not in _registered:
            _LIGHT[only]()
            _registered.add(only)
        return _app
    if "*" in _registered:
        return _app
    _registered.add("*")
    from dncsync.cli import demo as _demo
    from dncsync.cli import sync as _sync

    _app.command("plan")(_sync.plan_command)
    _app.command("sync")(_sync.sync_command)
    _app.command("demo")(_demo.command)
    from dncsync.cli import emulator as _emulator

    _app.command("emulator")(_emulator.command)
    if "validate" not in _registered:
        _register_validate()
    from dncsync.cli import audit as _audit

    _app.add_typer(_audit.app, name="audit")
    from dncsync.cli import report as _report

    _app.command("report")(_report.command)
    from dncsync.cli import runs as _runs

    _app.command("runs")(_runs.command)
    from dncsync.cli import reconcile as _reconcile

    _app.command("reconcile")(_reconcile.command)
    from dncsync.cli import serve as _serve

    _app.command("serve")(_serve.command)
    from dncsync.cli import check as _check

    _app.command("check")(_check.command)
    from dncsync.cli import state as _state

    _app.add_typer(_state.app, name="state")
    return _app


def __getattr__(name: str) -> Any:
    if name == "app":
        return _register()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _invoked(argv: list[str]) -> str | None:
    """The command named on the command line (after the root options), if any."""
    takes_value = {"--log-format", "--log-level"}
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in takes_value:
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None


def main() -> None:
    """Console-script entry point."""
    main_entry(_register(_invoked(sys.argv[1:])))


__all__ = ["app", "main"]
