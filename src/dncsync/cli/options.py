"""Options every command spells the same way: the configuration, a target, an output format."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer


class OutputFormat(StrEnum):
    """How a command prints its result."""

    TEXT = "text"
    JSON = "json"


ConfigOption = Annotated[
    Path,
    typer.Option("--config", "-c", help="The configuration file.", show_default=True),
]
TargetOption = Annotated[
    str | None, typer.Option("--target", "-t", help="Only this target (default: every target).")
]
FormatOption = Annotated[
    OutputFormat, typer.Option("--format", "-f", help="text for people, json for scripts.")
]


AllowMassRemovalOption = Annotated[
    bool,
    typer.Option(
        "--allow-mass-removal",
        help="Let a mirror target remove more than max_removal_fraction of its list.",
    ),
]
