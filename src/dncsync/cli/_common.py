"""What every command shares: turning errors into one clear line and an exit code."""

from __future__ import annotations

import os
import sys
import traceback

import click
import typer

from dncsync.errors import DncsyncError, ExitCode


def fail(message: str) -> None:
    """Print one error line on stderr (the only thing an operator needs to read)."""
    print(f"dncsync: error: {message}", file=sys.stderr)


def main_entry(app: typer.Typer) -> None:
    """Run the app; domain errors become one line and their exit code, bugs exit 1."""
    try:
        app(standalone_mode=False)
    except DncsyncError as error:
        fail(str(error))
        sys.exit(int(error.exit_code))
    except (click.exceptions.Abort, typer.Abort):
        fail("interrupted")
        sys.exit(130)
    except (click.exceptions.Exit, typer.Exit) as done:
        sys.exit(done.exit_code)
    except (click.ClickException, typer.TyperException) as error:
        # typer ships its own copy of click: usage errors come from either.
        show = getattr(error, "show", None)
        if callable(show):
            show()
        else:
            fail(str(error))
        sys.exit(int(getattr(error, "exit_code", ExitCode.USAGE_OR_INPUT)))
    except KeyboardInterrupt:
        fail("interrupted")
        sys.exit(130)
    except BrokenPipeError:
        # stdout closed early (`dncsync ... | head`): not an error worth a traceback.
        sys.exit(int(ExitCode.OK))
    except Exception as error:  # a bug: say so in one line, keep the traceback opt-in
        if os.environ.get("DNCSYNC_DEBUG"):
            traceback.print_exc()
        fail(
            f"internal error ({type(error).__name__}: {error}); "
            "rerun with DNCSYNC_DEBUG=1 for a traceback and report it"
        )
        sys.exit(int(ExitCode.INTERNAL))
    sys.exit(int(ExitCode.OK))
