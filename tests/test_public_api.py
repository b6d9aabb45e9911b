"""The package's public surface is deliberate: a change to it shows up here."""

from __future__ import annotations

import subprocess
import sys

import dncsync
from dncsync.cli import app


def test_exported_members_are_exactly_the_public_api() -> None:
    public = {name for name in dir(dncsync) if not name.startswith("_")}
    # Submodules imported for their side effects show up as attributes; they are not API.
    modules = {name for name in public if type(getattr(dncsync, name)).__name__ == "module"}
    assert public - modules == set(dncsync.__all__) - {"__version__"}


def test_every_command_has_help_text() -> None:
    import typer.main

    group = typer.main.get_command(app)
    commands = getattr(group, "commands", {})
    assert commands, "no commands registered"
    for name, command in commands.items():
        assert command.help, f"`dncsync {name}` has no help text"
        sub = getattr(command, "commands", {})
        for sub_name, sub_command in sub.items():
            assert sub_command.help, f"`dncsync {name} {sub_name}` has no help text"


def test_python_dash_m_runs_the_cli() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "dncsync", "--help"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0
    assert "do-not-call" in done.stdout
