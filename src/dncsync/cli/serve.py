"""`dncsync serve`: take opt-outs over HTTP and hold each on every target within seconds."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from dncsync import config as config_module
from dncsync.cli.options import ConfigOption
from dncsync.cli.printing import say
from dncsync.serve import serve


def command(
    config: ConfigOption = Path(config_module.DEFAULT_CONFIG),
    host: Annotated[
        str,
        typer.Option(
            "--host",
            help="The address to listen on; loopback by default (put a TLS proxy in front to "
            "take requests from other machines).",
        ),
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="The port (0: any free one).")
    ] = 8080,
) -> None:
    """Serve the opt-out intake API (docs/serve.md) until SIGTERM or SIGINT.

    On a signal it stops taking requests, pushes what is pending for up to drain_seconds and
    exits 0; past that, 143 with the pending count (committed: sent after the next start).
    """
    parsed, base = config_module.load(config)
    ended = serve(parsed, base, host=host, port=port)
    say(Console(stderr=True), ended.message)
    if ended.code:
        raise typer.Exit(ended.code)
