"""Printing text that comes from elsewhere (a platform, a configuration, a path) on a console.

Such text is shown literally: never read as rich console markup (`[/x]` in a platform's error
message would otherwise end the summary with a markup error) and with its control characters
stripped (`privacy.printable`), so it cannot move the cursor, recolour the terminal or forge a
line of its own.
"""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from dncsync.privacy import printable


def say(console: Console, line: str, style: str | None = None) -> None:
    """Print one line literally: no markup, no control characters, wrapped by the terminal."""
    console.print(printable(line), style=style, markup=False, soft_wrap=True)


def safe(value: object) -> str:
    """A value for a markup string (a table cell, a column, a title): escaped and printable."""
    return escape(printable(str(value)))


__all__ = ["safe", "say"]
