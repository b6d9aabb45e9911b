"""`dncsync emulator` as an operator runs it: a real process, a real port, SIGTERM to stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from dncsync.emulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET


def read_line(process: subprocess.Popen[str], deadline: float) -> str:
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line:
            return line
        if process.poll() is not None:
            break
    raise AssertionError("the emulator printed nothing")


def test_the_command_prints_its_url_answers_and_stops_on_sigterm() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "dncsync", "emulator", "--port", "0", "--rate-limit", "50/min"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        first = read_line(process, time.monotonic() + 20)
        assert first.startswith("dncsync emulator listening on http://127.0.0.1:")
        url = first.split(" on ", 1)[1].strip()
        shown = "".join(read_line(process, time.monotonic() + 5) for _ in range(4))
        assert DEFAULT_CLIENT_ID in shown
        assert DEFAULT_CLIENT_SECRET in shown  # documented test credentials, not secrets
        token = httpx.post(
            f"{url}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET),
        )
        assert token.status_code == 200
        assert token.headers["inin-ratelimit-allowed"] == "50"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        assert process.stdout is not None
        assert process.stderr is not None
        process.stdout.close()
        process.stderr.close()


def test_bad_options_fail_with_one_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "dncsync", "emulator", "--rate-limit", "lots"],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert "--rate-limit" in done.stderr


def test_variants_are_named_combinable_and_checked() -> None:
    from dncsync.cli.emulator import build_settings
    from dncsync.emulator.variants import ALL
    from dncsync.errors import InputError

    options = {
        "rate_limit": "300/min",
        "retry_after": None,
        "fault_rate": 0.0,
        "fault_kinds": "error",
        "fault_exempt": [],
        "latency_ms": 0,
        "token_ttl": 60,
        "seed": 0,
        "client_id": "c",
        "client_secret": "s",
        "access_key_id": "k",
        "access_key_secret": "ks",
        "tenant_id": "t",
        "cxone_retry_after": True,
        "export_delay": 0.0,
    }
    chosen = build_settings(**options, variants=["cxone_page_cap,genesys_bare_429"])
    assert chosen.variants == {"cxone_page_cap", "genesys_bare_429"}
    assert build_settings(**options, variants=["all"]).variants == ALL
    with pytest.raises(InputError, match="--variant: unknown variant 'cxone_everything'"):
        build_settings(**options, variants=["cxone_everything"])
