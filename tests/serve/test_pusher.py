"""The pusher and the serve process's end: micro-batches, the list lock, SIGTERM, SIGKILL."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from dncsync.state import StateStore
from e2e.support import Platforms, cxone_target, genesys_target, list_key, poll

from .support import HEADERS, Served, serve_config

pytestmark = pytest.mark.slow


async def _post_all(url: str, phones: list[str]) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=url, headers=HEADERS, timeout=30) as client:
        answers = await asyncio.gather(
            *(client.post("/v1/optouts", json={"phone": p}) for p in phones)
        )
    assert all(a.status_code == 202 for a in answers), [a.text for a in answers[:3]]
    return [a.json() for a in answers]


def _phones(count: int, start: int = 0) -> list[str]:
    return [f"+1212555{start + i:04d}" for i in range(count)]


def _runs(state: Path) -> list[tuple[str, str]]:
    """(command, status) of every run, oldest first, as `dncsync runs` sees them (a run whose
    process died shows `interrupted`)."""
    store = StateStore(state)
    try:
        return [(r.command, r.status) for r in reversed(store.runs())]
    finally:
        store.close()


def test_micro_batches_wait_for_a_locked_list_then_drain_on_sigterm(
    tmp_path: Path, platforms: Platforms
) -> None:
    config = serve_config(tmp_path, platforms, serve={"flush_seconds": 0.2, "max_batch": 25})
    served = Served(config)
    state = tmp_path / "state" / "dncsync.db"
    try:
        before = platforms.mark()
        answers = asyncio.run(_post_all(served.url, _phones(60)))
        for answer in answers:
            served.held_everywhere(answer["id"])
        writes = platforms.number_writes(before)
        # Micro-batches of at most 25: far fewer writes than opt-outs, on both platforms.
        assert {w.platform for w in writes} == {"genesys", "cxone"}
        assert len(writes) <= 2 * (60 // 25 + 3)
        assert platforms.held("genesys") == platforms.held("cxone") == set(_phones(60))

        # A sync holding Genesys's list: the pusher leaves it alone, CXone goes on.
        store = StateStore(state)
        lock = store.lock(list_key(config, "genesys-e2e"), "genesys-e2e")
        lock.__enter__()
        try:
            (late,) = asyncio.run(_post_all(served.url, ["+13125550100"]))
            poll(
                lambda: served.request(late["id"])["targets"]["cxone-e2e"]["status"] == "held",
                deadline_seconds=20,
                what="cxone held",
                interval=0.05,
            )
            assert served.request(late["id"])["targets"]["genesys-e2e"]["status"] == "pending"
        finally:
            lock.__exit__(None, None, None)
            store.close()
        served.held_everywhere(late["id"])

        # SIGTERM: new opt-outs refused while draining, then exit 0 with everything held.
        served.signal(signal.SIGTERM)
    finally:
        code = served.wait()
    assert code == 0, served.stderr()
    assert "every opt-out received is held on every target" in served.stderr()
    assert _runs(state)[-1] == ("serve", "success")
    # The sealed run's report lists the requests by state, numbers masked.
    (report_json,) = (tmp_path / "state").glob("dncsync.db.runs/*/report.json")
    intake = json.loads(report_json.read_text(encoding="utf-8"))["intake"]
    assert intake["received_this_run"] == 61
    assert intake["by_status"] == {"held": 61}
    assert len(intake["requests_by_state"]["held"]) == 61
    html = report_json.with_name("report.html").read_text(encoding="utf-8")
    assert "Opt-outs received (intake)" in html
    assert "+1212555****" in html
    assert "2125550001" not in html


def test_a_drain_that_runs_out_of_time_exits_143_with_the_pending_count(
    tmp_path: Path, platforms: Platforms
) -> None:
    unreachable = genesys_target(
        platforms,
        name="genesys-down",
        base_url="http://127.0.0.1:9",
        dnc_list_id="down",
        retry_budget_seconds=30.0,
    )
    config = serve_config(
        tmp_path,
        platforms,
        serve={"drain_seconds": 1},
        targets=[unreachable, cxone_target(platforms)],
    )
    served = Served(config)
    try:
        (answer,) = asyncio.run(_post_all(served.url, ["+14155550142"]))
        late = served.post({"phone": "+14155550143", "received_at": "2026-01-02T15:00:00Z"})
        assert late.json()["deadline"] == "2026-01-16"
        poll(
            lambda: served.request(answer["id"])["targets"]["cxone-e2e"]["status"] == "held",
            deadline_seconds=20,
            what="cxone held",
            interval=0.05,
        )
        metrics = httpx.get(f"{served.url}/metrics").text
        assert "dncsync_intake_past_deadline 1.0" in metrics
        assert "dncsync_intake_pending 2.0" in metrics
        served.signal(signal.SIGINT)
    finally:
        code = served.wait()
    assert code == 143, served.stderr()
    assert "with 2 opt-out deliveries still pending" in served.stderr()
    assert _runs(tmp_path / "state" / "dncsync.db")[-1] == ("serve", "interrupted")
    history = subprocess.run(
        [sys.executable, "-m", "dncsync", "runs", "--config", str(config)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "2 pending; oldest pending received 2026-01-02 15:00:00 UTC" in history
    assert "(deadline 2026-01-16)" in history
    assert "1 PAST THEIR DEADLINE" in history


def test_sigkill_under_load_then_restart_loses_nothing(
    tmp_path: Path, platforms: Platforms
) -> None:
    config = serve_config(tmp_path, platforms, serve={"flush_seconds": 0.05, "max_batch": 20})
    state = tmp_path / "state" / "dncsync.db"
    served = Served(config)
    accepted: list[dict[str, Any]] = []
    phones = _phones(400, start=1000)

    def load() -> None:
        with httpx.Client(base_url=served.url, headers=HEADERS, timeout=5) as client:
            for phone in phones:
                try:
                    answer = client.post("/v1/optouts", json={"phone": phone})
                except httpx.HTTPError:
                    return  # killed mid-request: no answer, so no promise was made
                if answer.status_code == 202:
                    accepted.append(answer.json())

    loader = threading.Thread(target=load)
    loader.start()
    poll(lambda: len(accepted) >= 100, deadline_seconds=30, what="load", interval=0.005)
    served.kill()
    loader.join(timeout=30)
    platforms.settle()
    sent_before = _sent(platforms)
    held_before = platforms.held("genesys") | platforms.held("cxone")
    assert accepted
    assert len(accepted) < len(phones)
    assert _runs(state)[-1] == ("serve", "interrupted")

    restarted = Served(config)
    try:
        for answer in accepted:
            restarted.held_everywhere(answer["id"], deadline_seconds=30)
        assert ("serve", "interrupted") in _runs(state)
        platforms.settle()
        resent = [p for p in _sent(platforms, after=sent_before[1])[0] if p in held_before]
        # Only numbers of the batches in flight at the kill can go again: at most one
        # micro-batch per in-flight slot (concurrency 4) and platform.
        assert len(resent) <= 2 * 4 * 20
    finally:
        assert restarted.stop() == 0, restarted.stderr()
    committed = {a["phone"] for a in accepted}
    assert committed <= platforms.held("genesys")
    assert committed <= platforms.held("cxone")


def _sent(platforms: Platforms, after: int = 0) -> tuple[list[str], int]:
    """E.164 numbers in write bodies after the `after`-th applied write, and the new mark."""
    writes = platforms.writes.since(after)
    found = [phone for write in writes for phone in write.phones]
    return found, platforms.writes.mark()
