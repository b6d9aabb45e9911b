"""`dncsync check`: a read-only preflight of each target; exit 0 when every one is ready."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
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
    the platform speaks; and that the other secrets sync and serve read are set (alert
    channels, serve's API keys and SMS token). Write permission is not verified. Exit 3 when
    a target or a setting is not ready.
    """
    parsed, _ = config_module.load(config)
    results = run_check(parsed, target)
    secrets = secrets_missing(parsed)
    if output_format is OutputFormat.JSON:
        document: dict[str, object] = {"targets": {r.name: r.summary() for r in results}}
        document["settings"] = {name: problem or "ok" for name, problem in secrets.items()}
        print(json.dumps(document, indent=2))
    else:
        _print(results)
        _print_settings(secrets)
    failing = [r.name for r in results if not r.ready]
    failing += [name for name, problem in secrets.items() if problem]
    if failing:
        raise ConfigError(f"not ready: {', '.join(failing)} (see their failed checks)")


def secrets_missing(parsed: config_module.Config) -> dict[str, str | None]:
    """The secrets besides the targets' that `sync` or `serve` would read from the
    environment (alert channels; serve's API keys and SMS token): per setting, why it is not
    usable, or None. Read only: nothing is opened or sent."""
    found: dict[str, str | None] = {}
    if parsed.alert:
        from dncsync.alerts import Alerter

        found["alerts"] = _problem(lambda: Alerter.configured_routes(parsed))
    if parsed.serve is not None:
        from dncsync.serve.keys import read_keys
        from dncsync.serve.sms import SmsSettings

        serve = parsed.serve
        found["serve.api_keys"] = _problem(lambda: read_keys(serve.api_keys_env))
        if serve.sms is not None:
            sms = serve.sms
            found["serve.sms"] = _problem(lambda: SmsSettings.read(sms, serve.public_url))
    return found


def _problem(read: Callable[[], object]) -> str | None:
    try:
        read()
    except ConfigError as error:
        return str(error)
    return None


def _print_settings(secrets: dict[str, str | None]) -> None:
    console = Console() if sys.stdout.isatty() else Console(width=200)
    for name, problem in secrets.items():
        say(console, f"{name}: {'FAIL  ' + problem if problem else 'ok (its secrets are set)'}")


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
