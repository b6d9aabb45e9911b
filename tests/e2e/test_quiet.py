"""Quiet: no token, secret or full phone number in what `dncsync sync` prints or leaves behind.

The run is as talkative as it gets: `--log-level debug`, in both log formats, against
platforms with faults (so retries and platform errors are logged), one-second tokens (so
sign-ins and refreshes are logged), and numbers CXone is not sent (so skips are printed). Then
everything on stdout and stderr, and every file in the state directory apart from the SQLite
store itself (which holds numbers by design, owner-only), is searched for each token the
emulator issued, each secret, and every number of the source in every form it was sent.
"""

from __future__ import annotations

import base64
import re
import stat
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from dncsync.emulator import FaultSettings

from .support import (
    CLIENT_ID,
    SECRETS,
    Platforms,
    cxone_target,
    genesys_target,
    nanp_numbers,
    run_sync,
    write_config,
    write_source,
)

pytestmark = pytest.mark.slow

INTERNATIONAL = ("+442079460123", "+493090182011")
_DIGIT_RUN = re.compile(r"\d{7,}")
STREAMS = ("stdout", "stderr")


def _number_forms(numbers: Iterable[str]) -> set[str]:
    """The digit strings that would give a number away: national, with country code, 011."""
    forms: set[str] = set()
    for phone in numbers:
        digits = phone[1:]
        forms.add(digits)
        forms.add("011" + digits)
        if digits.startswith("1"):
            forms.add(digits[1:])
    return forms


def _leaked_numbers(text: str, forms: set[str]) -> set[str]:
    found: set[str] = set()
    lengths = {len(form) for form in forms}
    for run in _DIGIT_RUN.findall(text):
        for size in lengths:
            for start in range(len(run) - size + 1):
                if run[start : start + size] in forms:
                    found.add(run[start : start + size])
    return found


def test_nothing_secret_or_personal_is_printed_or_left_in_the_state_directory(
    start_emulator: Callable[..., Platforms], tmp_path: Path
) -> None:
    platforms = start_emulator(
        seed=3,
        faults=FaultSettings(error_rate=0.1, cut_rate=0.05, after_write_rate=0.05),
        token_ttl=1,
        cxone_token_ttl=1,
    )
    numbers = [*nanp_numbers(300, 12), *INTERNATIONAL]
    write_source(tmp_path / "source.csv", numbers, seed=12)
    config = write_config(
        tmp_path,
        [
            genesys_target(platforms, batch_size=20),
            # Numbers outside North America are not sent to this group: reported skipped.
            cxone_target(platforms, batch_size=20, international="skip"),
        ],
    )

    runs = [
        run_sync(config, log_level="debug"),
        # Again for people: console logs, text summary; the skips are still there to print.
        run_sync(config, log_level="debug", log_format="console", output="text"),
    ]

    for finished in runs:
        assert finished.code == 0, finished.stderr  # skipped numbers are no failure
    assert platforms.held("genesys") == set(numbers)
    assert platforms.held("cxone") == set(numbers) - set(INTERNATIONAL)
    assert "+44207946****" in runs[0].stdout  # skipped numbers are shown, masked
    assert "dncsync.international_skipped" in runs[1].stdout

    texts = {
        f"run {i} {name}": getattr(run, name) for i, run in enumerate(runs) for name in STREAMS
    }
    state = tmp_path / "state"
    store = {"dncsync.db", "dncsync.db-wal", "dncsync.db-shm"}
    assert stat.S_IMODE((state / "dncsync.db").stat().st_mode) == 0o600
    kept = [p for p in state.rglob("*") if p.is_file() and p.name not in store]
    assert {"audit.jsonl", "report.json", "report.html"} <= {p.name for p in kept}
    for path in kept:
        texts[str(path.relative_to(tmp_path))] = path.read_text(encoding="utf-8", errors="replace")
    debug_lines = sum(text.count("\n") for text in texts.values())
    assert debug_lines > 100  # the search below looked at a talkative run

    tokens = platforms.tokens()
    assert tokens
    basic = base64.b64encode(f"{CLIENT_ID}:{SECRETS[0]}".encode()).decode()
    forms = _number_forms(numbers)
    for where, text in texts.items():
        assert not [t for t in tokens if t in text], f"a token in {where}"
        assert not [s for s in (*SECRETS, basic) if s in text], f"a secret in {where}"
        assert not _leaked_numbers(text, forms), f"full numbers in {where}"
