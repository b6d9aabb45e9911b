"""`python -m dncsync` as an operator runs it, and the one line it leaves on stderr.

For the tests of hostile input, networks and storage: whatever went wrong, the last line on
stderr is `dncsync: error: ...`, and nothing says Traceback or "internal error".
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# A developer's own settings must not change what a subprocess does.
_UNSET = ("DNCSYNC_DEBUG", "HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "SSL_CERT_FILE")


@dataclass(frozen=True)
class Ran:
    """A finished `dncsync` process."""

    code: int
    stdout: str
    stderr: str


def dncsync(
    *args: str,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    prefix: tuple[str, ...] = (),
    timeout: float = 120.0,
) -> Ran:
    """Run `python -m dncsync ARGS` (after `prefix`, e.g. `unshare ...`) to its end."""
    base = {k: v for k, v in os.environ.items() if k.upper() not in _UNSET}
    done = subprocess.run(
        [*prefix, sys.executable, "-m", "dncsync", *args],
        capture_output=True,
        env={**base, "COLUMNS": "200", **(env or {})},
        cwd=cwd,
        check=False,
        timeout=timeout,
    )
    return Ran(done.returncode, done.stdout.decode(), done.stderr.decode(errors="replace"))


def error_line(ran: Ran) -> str:
    """The error line a failed run ends with; fails on a traceback or an internal error."""
    assert "Traceback" not in ran.stderr, ran.stderr
    assert "internal error" not in ran.stderr, ran.stderr
    lines = ran.stderr.strip().splitlines()
    assert lines, "nothing on stderr"
    line = lines[-1]
    assert line.startswith("dncsync: error: "), ran.stderr
    return line
