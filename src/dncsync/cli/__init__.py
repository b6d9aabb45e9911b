"""The `dncsync` command line: thin wrappers that build objects, call the library, map errors.

Each command lives in its own module under `dncsync.cli` and is registered here. Registering
every command imports every command's module (and through them numpy, the web framework, the
emulator...), most of a second; `main()` registers only the command invoked, so each pays
for what it uses, and `app` (the root's `--help`, library users) is registered in full.
"""

from __future__ import annotations

import importlib
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


# Each command's module and what it registers, in the order `--help` lists them: a function
# (a command) or a Typer (a group of commands).
_COMMANDS: dict[str, tuple[str, str]] = {
    "plan": ("sync", "plan_command"),
    "sync": ("sync", "sync_command"),
    "demo": ("demo", "command"),
    "emulator": ("emulator", "command"),
    "validate": ("validate", "command"),
    "audit": ("audit", "app"),
    "report": ("report", "command"),
    "runs": ("runs", "command"),
    "reconcile": ("reconcile", "command"),
    "serve": ("serve", "command"),
    "check": ("check", "command"),
    "state": ("state", "app"),
}
_registered: set[str] = set()


def _register_one(name: str) -> None:
    if name in _registered:
        return
    _registered.add(name)
    module, attribute = _COMMANDS[name]
    found = getattr(importlib.import_module(f"dncsync.cli.{module}"), attribute)
    if isinstance(found, typer.Typer):
        _app.add_typer(found, name=name)
    else:
        _app.command(name)(found)


def _register(only: str | None = None) -> typer.Typer:
    """Register the command invoked alone (its module is all that is imported: a `validate`
    does not load the web framework, a `sync` not the emulator), or every command."""
    if only in _COMMANDS:
        _register_one(only)
        return _app
    for name in _COMMANDS:
        _register_one(name)
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
