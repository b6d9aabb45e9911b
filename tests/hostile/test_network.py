"""A hostile network between dncsync and the platform: every run bounded, every failure named.

`dncsync sync` runs as a subprocess; the fault proxy (`proxy.py`) sits between it and the
emulator and resets, half-closes, truncates, delays, trickles or never answers. Each test
asserts the exit code, the one line an operator reads (the host, the target, what to check),
that the run ended within its retry budget plus one request timeout (plus slack for a loaded
machine), and that the platform holds exactly what the state says: numbers not acknowledged
stay planned, and a following sync over an honest network completes the list.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest

from e2e.support import Platforms, cxone_target, genesys_target, nanp_numbers, write_config
from e2e.support import write_source as write_rows

from .proxy import Fault, FaultProxy, Rule, always, fault_proxy, passing
from .support import BUDGET, SLACK, TIMEOUT, error_line, snapshot, sync

pytestmark = pytest.mark.hostile

PARTIAL_FAILURE = 4
GENESYS, CXONE = "genesys-e2e", "cxone-e2e"
BOUNDED = {"retry_budget_seconds": BUDGET, "request_timeout_seconds": TIMEOUT}


def only(fault: Fault, method: str | None = None, suffix: str = "") -> Rule:
    """`fault` for requests of that method and path suffix; the others pass."""

    def rule(m: str, path: str, n: int) -> Fault:
        if (method is None or m == method) and path.endswith(suffix):
            return fault
        return Fault.PASS

    return rule


def setup(tmp_path: Path, platforms: Platforms, proxy: FaultProxy, count: int = 40) -> Path:
    """A source of `count` numbers; Genesys through the proxy, CXone straight to the platform."""
    write_rows(tmp_path / "source.csv", nanp_numbers(count, 7), seed=7)
    return write_config(
        tmp_path,
        [
            genesys_target(platforms, base_url=proxy.url, **BOUNDED),
            cxone_target(platforms),
        ],
    )


def assert_completed_by_an_honest_sync(
    config: Path, platforms: Platforms, proxy: FaultProxy
) -> None:
    """Over an honest network the next sync sends what is left, and the list is exact."""
    proxy.rule = passing
    honest = sync(config, limit=60)
    assert honest.code == 0, honest.finished.stderr
    numbers = set(nanp_numbers(len(platforms.held("cxone")), 7))
    assert platforms.held("genesys") == numbers
    assert snapshot(config, GENESYS) == numbers


@pytest.mark.parametrize(
    ("fault", "rule", "says"),
    [
        ("reset", always(Fault.RESET_BEFORE), "(ReadError"),
        ("half-close", always(Fault.HALF_CLOSE), "(RemoteProtocolError"),
        ("hang", always(Fault.HANG), "(no complete answer within request_timeout_seconds = 1.5"),
        ("hang at the token", only(Fault.HANG, "POST", "/oauth/token"), "(no complete answer"),
        ("trickle", always(Fault.TRICKLE), "(no complete answer within request_timeout_seconds"),
    ],
)
def test_a_dead_or_stalled_platform_fails_its_target_within_one_budget(
    platforms: Platforms, tmp_path: Path, fault: str, rule: Rule, says: str
) -> None:
    with fault_proxy(platforms.base_url, rule, trickle_interval=0.2) as proxy:
        config = setup(tmp_path, platforms, proxy)

        run = sync(config, limit=BUDGET + TIMEOUT + SLACK + 30)

        assert run.code == PARTIAL_FAILURE, run.finished.stderr
        # One target's budget plus one timeout; the other target's honest run; the slack.
        assert run.seconds < BUDGET + TIMEOUT + SLACK, fault
        line = error_line(run.finished.stderr)
        host = f"127.0.0.1:{proxy.port}"
        assert f"target '{GENESYS}' failed: {GENESYS}: no answer from {host} {says}" in line
        assert line.count("no answer from") == 1  # once for the target, not once per batch
        assert "Check the target's base_url" in line
        assert "HTTPS_PROXY, HTTP_PROXY and NO_PROXY" in line
        assert platforms.held("cxone") == set(nanp_numbers(40, 7))  # the other target ran
        assert snapshot(config, GENESYS) == set()  # nothing unacknowledged is taken as held
        assert platforms.held("genesys") == set()

        assert_completed_by_an_honest_sync(config, platforms, proxy)


def test_a_platform_that_dies_mid_run_is_sent_no_more_batches(
    platforms: Platforms, tmp_path: Path
) -> None:
    alive_for = 4  # writes answered before the platform dies
    died = threading.Event()

    def rule(method: str, path: str, n: int) -> Fault:
        if method == "PATCH" and n >= alive_for:
            died.set()  # from this write on, nothing is answered any more
        return Fault.RESET_BEFORE if died.is_set() else Fault.PASS

    with fault_proxy(platforms.base_url, rule) as proxy:
        write_rows(tmp_path / "source.csv", nanp_numbers(200, 7), seed=7)
        config = write_config(
            tmp_path,
            [
                genesys_target(
                    platforms, base_url=proxy.url, batch_size=10, concurrency=2, **BOUNDED
                )
            ],
        )

        run = sync(config, limit=BUDGET + TIMEOUT + SLACK + 30)

        assert run.code == PARTIAL_FAILURE, run.finished.stderr
        assert run.seconds < BUDGET + TIMEOUT + SLACK
        assert f"{GENESYS}: no answer from 127.0.0.1:{proxy.port}" in error_line(
            run.finished.stderr
        )
        writes = [r for r in proxy.relayed() if r.method == "PATCH"]
        after = {hashlib.sha256(r.body).hexdigest() for r in writes[alive_for:]}
        # Only the batches already in flight when it died were tried again, not the rest.
        assert 1 <= len(after) <= 2, len(after)
        held = platforms.held("genesys")
        assert len(held) == alive_for * 10
        assert snapshot(config, GENESYS) == held  # exactly what the platform acknowledged

        proxy.rule = passing
        mark = platforms.writes.mark()
        honest = sync(config, limit=60)
        assert honest.code == 0, honest.finished.stderr
        assert platforms.held("genesys") == set(nanp_numbers(200, 7))
        resent = set().union(*(w.phones for w in platforms.writes.since(mark)))
        assert resent == set(nanp_numbers(200, 7)) - held  # nothing acknowledged sent twice


@pytest.mark.parametrize(
    "fault",
    [Fault.RESET_AFTER, Fault.HALF_CLOSE, Fault.TRUNCATE, Fault.LATENCY, Fault.TRICKLE],
)
def test_intermittent_faults_are_retried_to_an_exact_list(
    platforms: Platforms, tmp_path: Path, fault: Fault
) -> None:
    # Every third arrival of each request path meets the fault, the first one included; a
    # trickle (2 s each, the request timeout) spares first arrivals, to keep the test short.
    first = 1 if fault is Fault.TRICKLE else 0

    def rule(method: str, path: str, n: int) -> Fault:
        return fault if n % 3 == first else Fault.PASS

    numbers = nanp_numbers(120, 8)
    with fault_proxy(platforms.base_url, rule, trickle_interval=0.1, latency=0.3) as proxy:
        write_rows(tmp_path / "source.csv", numbers, seed=8)
        settings = {
            "base_url": proxy.url,
            "batch_size": 20,
            "concurrency": 2,
            "retry_budget_seconds": 30.0,
            "request_timeout_seconds": 2.0,
        }
        config = write_config(
            tmp_path, [genesys_target(platforms, **settings), cxone_target(platforms, **settings)]
        )

        run = sync(config, limit=90)

        assert run.code == 0, run.finished.stderr
        assert run.seconds < 60
        assert {r.fault for r in proxy.relayed()} == {fault, Fault.PASS}
        assert platforms.held("genesys") == set(numbers) == snapshot(config, GENESYS)
        assert platforms.held("cxone") == set(numbers) == snapshot(config, CXONE)


def test_a_waiting_run_says_so_at_each_heartbeat(
    platforms: Platforms, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DNCSYNC_HEARTBEAT_SECONDS", "0.3")
    with fault_proxy(platforms.base_url, always(Fault.RESET_BEFORE)) as proxy:
        write_rows(tmp_path / "source.csv", nanp_numbers(10, 9), seed=9)
        config = write_config(
            tmp_path,
            [genesys_target(platforms, base_url=proxy.url, retry_budget_seconds=4.0)],
        )

        run = sync(config, limit=60)

        assert run.code == PARTIAL_FAILURE
        beats = [
            line
            for line in run.finished.stderr.splitlines()
            if line.startswith(f"dncsync: waiting: {GENESYS}: no answer (ReadError) from ")
        ]
        assert len(beats) >= 3, run.finished.stderr
        assert all(f"127.0.0.1:{proxy.port}" in line and "gives up in" in line for line in beats)
