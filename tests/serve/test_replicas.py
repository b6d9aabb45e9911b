"""Two `dncsync serve` replicas on one PostgreSQL state, one SIGKILLed while pushing.

Real parts throughout: a PostgreSQL server on loopback, two serve subprocesses, the emulator
over sockets. Every opt-out answered 202 by either replica ends held on both platforms, and
the only numbers sent twice are those of the killed replica's batches in flight.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx
import psycopg
import pytest

from dncsync.state.pgschema import LIST_LOCKS
from dncsync.state.postgres import PostgresStore
from e2e.support import Platforms, poll

from .support import HEADERS, Served, serve_config

pytestmark = [pytest.mark.slow, pytest.mark.long]

OPTOUTS = 5_000
MAX_BATCH = 100
CONCURRENCY = 4  # the targets' default: micro-batches in flight per target


async def _post(urls: list[str], phones: list[str], answered: list[str] | None = None) -> list[str]:
    """POST each number to the replicas in turn; the numbers no replica answered 202 for
    (`answered` collects the others as they come)."""
    limit = asyncio.Semaphore(32)
    refused: list[str] = []
    done = answered if answered is not None else []
    async with httpx.AsyncClient(headers=HEADERS, timeout=10) as client:

        async def one(index: int, phone: str) -> None:
            async with limit:
                try:
                    url = urls[index % len(urls)]
                    answer = await client.post(f"{url}/v1/optouts", json={"phone": phone})
                    if answer.status_code == 202:
                        done.append(phone)
                        return
                except httpx.HTTPError:
                    pass  # a killed replica: no answer, no promise made
                refused.append(phone)

        await asyncio.gather(*(one(i, p) for i, p in enumerate(phones)))
    return refused


def _resent(platforms: Platforms) -> int:
    """Numbers written to a platform more than once (each extra write counted)."""
    sent = Counter(
        (write.platform, phone)
        for write in platforms.writes.since(0)
        if write.action == "add" and write.applied
        for phone in write.phones
    )
    return sum(count - 1 for count in sent.values())


def test_two_replicas_one_sigkilled_while_pushing_every_opt_out_ends_held(
    tmp_path: Path, platforms: Platforms, pg_url: str
) -> None:
    config = serve_config(
        tmp_path,
        platforms,
        serve={"flush_seconds": 0.05, "max_batch": MAX_BATCH},
        state_url=pg_url,
    )
    phones = [f"+1212{5550000 + i:07d}" for i in range(OPTOUTS)]
    doomed, survivor = Served(config), Served(config)
    try:
        first, rest = phones[:2_000], phones[2_000:]
        assert asyncio.run(_post([doomed.url, survivor.url], first)) == []
        poll(
            lambda: len(platforms.held("genesys") & set(first)) >= 200 or None,
            deadline_seconds=60,
            what="pushing to start",
            interval=0.01,
        )
        answered: list[str] = []

        async def post_while_killing() -> list[str]:
            posting = asyncio.create_task(_post([doomed.url, survivor.url], rest, answered))
            deadline = asyncio.get_running_loop().time() + 60
            while len(answered) < 500:  # the kill lands while requests are in flight
                assert asyncio.get_running_loop().time() < deadline, "no answers"
                await asyncio.sleep(0.005)
            doomed.kill()
            return await posting

        retried = asyncio.run(post_while_killing())
        assert retried  # the kill cut some requests off
        # A client (or a load balancer) sends what got no 202 to the replica still standing.
        assert asyncio.run(_post([survivor.url], retried)) == []

        wanted = set(phones)
        poll(
            lambda: (
                (wanted <= platforms.held("genesys") and wanted <= platforms.held("cxone")) or None
            ),
            deadline_seconds=180,
            what="every opt-out held on both platforms",
            interval=0.2,
        )
        platforms.settle()
        resent = _resent(platforms)
        # Only the killed replica's batches in flight go again: at most CONCURRENCY
        # micro-batches of MAX_BATCH per platform.
        assert resent <= 2 * CONCURRENCY * MAX_BATCH, resent
        store = PostgresStore(pg_url)
        try:
            statuses = [run.status for run in store.runs()]
        finally:
            store.close()
        assert "interrupted" in statuses  # the killed replica's run, seen by the other
    finally:
        doomed.kill()
        code = survivor.stop()
    assert code == 0, survivor.stderr()


def _end_lock_sessions(url: str, served: Served) -> int:
    """End the sessions in which `served` holds a list lock, as the server does to a replica
    its keepalives no longer reach; how many."""
    with psycopg.connect(url, autocommit=True) as admin:
        ended = admin.execute(
            "SELECT pg_terminate_backend(l.pid, 5000) FROM pg_locks l "
            "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' "
            "AND l.granted AND l.classid = %s AND a.application_name = %s",
            (LIST_LOCKS, f"dncsync-{served.process.pid}"),
        ).fetchall()
    return len(ended)


def test_a_replica_whose_lock_sessions_end_mid_push_stops_writing_and_takes_part_again(
    tmp_path: Path, start_emulator: Callable[..., Platforms], pg_url: str
) -> None:
    # 50 ms per platform request: a push holds its list's lock long enough to lose it.
    platforms = start_emulator(latency_ms=50)
    config = serve_config(
        tmp_path,
        platforms,
        serve={"flush_seconds": 0.05, "max_batch": 50},
        state_url=pg_url,
    )
    phones = [f"+1212{5560000 + i:07d}" for i in range(1_500)]
    cut_off, other = Served(config), Served(config)
    try:
        assert asyncio.run(_post([cut_off.url, other.url], phones)) == []
        ended = 0
        deadline = time.monotonic() + 60
        while "dnc.list_lock_lost" not in cut_off.stderr():
            assert time.monotonic() < deadline, "the cut-off replica never lost a lock mid-push"
            ended += _end_lock_sessions(pg_url, cut_off)
            time.sleep(0.005)
        wanted = set(phones)
        poll(
            lambda: (
                (wanted <= platforms.held("genesys") and wanted <= platforms.held("cxone")) or None
            ),
            deadline_seconds=120,
            what="every opt-out held on both platforms",
            interval=0.2,
        )
        platforms.settle()
        # Each lost lock can cost at most the batches then in flight, on each platform.
        assert _resent(platforms) <= ended * 2 * CONCURRENCY * 50
        assert cut_off.process.poll() is None  # it carried on, reconnected
    finally:
        codes = (cut_off.stop(), other.stop())
    assert codes == (0, 0), cut_off.stderr()[-2000:]
