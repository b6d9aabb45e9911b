"""What every command shares: turning errors into one clear line and an exit code."""

from __future__ import annotations

import os
import signal
import sys
import threading
import traceback
from types import FrameType

import click
import typer

from dncsync.errors import DncsyncError, ExitCode, Interrupted
from dncsync.privacy import mask_text, printable


def fail(message: str) -> None:
    """Print one error line on stderr (the only thing an operator needs to read).

    Numbers in it are masked, wherever they came from (a file name, a header cell, a
    platform's text): a full phone number never reaches the console (DOMAIN.md 7). Text from
    a platform is echoed literally, on that one line (`privacy.printable`).
    """
    print(f"dncsync: error: {printable(mask_text(message))}", file=sys.stderr)


def _terminate(signum: int, _frame: FrameType | None) -> None:
    raise Interrupted(signum)


def main_entry(app: typer.Typer) -> None:
    """Run the app; domain errors become one line and their exit code, bugs exit 1.

    SIGTERM ends any command like Ctrl-C does: one line and exit 143 (130 for SIGINT). A run
    (`sync`, `reconcile`) takes both signals over while it runs, to end cleanly.
    """
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate)
    try:
        # Not standalone, so errors reach the handlers below; but then click *returns* the
        # exit code of an `Exit` (typer turns Ctrl-C into Exit(130)) instead of exiting.
        returned = app(standalone_mode=False)
        if isinstance(returned, int) and returned != ExitCode.OK:
            if returned == ExitCode.INTERRUPTED:
                fail("interrupted by SIGINT")
            sys.exit(returned)
    except Interrupted as stop:
        fail(str(stop))
        sys.exit(int(stop.exit_code))
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
