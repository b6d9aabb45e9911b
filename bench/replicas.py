"""Replica benchmark: intake throughput and intake-to-held latency of `dncsync serve` on one
SQLite node, one PostgreSQL replica and two PostgreSQL replicas, in one run.

The emulator and the load generator are bench/serve.py's (100 ms of platform latency, 1%
faults, 300 requests a minute per platform; an open loop of single opt-outs, each timed from
the moment it was due). PostgreSQL is the server the tests start (tests/pgserver.py: the
binaries of the `test` extra, on a free loopback port), with fsync on as SQLite's
side has it (`synchronous=FULL`). With two replicas the
load is split evenly between them, as a load balancer would.

    python bench/replicas.py                              # 500/s for 30 s per setup
    python bench/replicas.py --rate 250 --duration 10     # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psycopg

# Appended, not prepended: tests/serve/ must not shadow bench/serve.py.
sys.path.append(str(Path(__file__).resolve().parent.parent / "tests"))

import serve as single  # bench/serve.py: the emulator settings, Serve, the load generator
from dncsync.emulator import RunningEmulator, run_in_thread
from pgserver import PgServer, binaries

Fetch = Callable[[str], list[tuple[Any, ...]]]


def _config(folder: Path, emulator: RunningEmulator, name: str, url: str | None) -> Path:
    """bench/serve.py's configuration, its state on `url` when given."""
    path, _, _ = single._config(folder, emulator, name)
    if url is not None:
        text = path.read_text(encoding="utf-8").replace(
            'path = "state/dncsync.db"', f'url = "{url}"\nruns_dir = "state/runs"'
        )
        path.write_text(text, encoding="utf-8")
    return path


def _open_count(fetch: Fetch) -> int:
    rows = fetch("SELECT COUNT(*) FROM deliveries WHERE status IN ('pending', 'failed')")
    return int(rows[0][0])


def _propagation(fetch: Fetch) -> list[float]:
    return single.propagation_seconds(fetch(single.PROPAGATION))


def step(
    emulator: RunningEmulator,
    root: Path,
    name: str,
    replicas: int,
    url: str | None,
    rate: float,
    duration: float,
    first: int,
) -> dict[str, Any]:
    """One setup: `replicas` serve processes, `rate` opt-outs a second split among them."""
    folder = root / name
    config = _config(folder, emulator, name, url)
    if url is None:
        intake = folder / "state" / "dncsync.db.intake"

        def fetch(sql: str) -> list[tuple[Any, ...]]:
            with sqlite3.connect(f"file:{intake}?mode=ro", uri=True) as db:
                return db.execute(sql).fetchall()

    else:

        def fetch(sql: str) -> list[tuple[Any, ...]]:
            with psycopg.connect(url) as db:
                return db.execute(sql).fetchall()  # type: ignore[arg-type]

    serves = [single.Serve(config, single._free_port()) for _ in range(replicas)]
    try:
        started = time.monotonic()
        loaders = [
            single._run_load(s.url, rate / replicas, duration, first + i * 10_000_000)
            for i, s in enumerate(serves)
        ]
        answers: list[Any] = []
        for loader in loaders:
            out, _ = loader.communicate()
            answers += json.loads(out)
        deadline = time.monotonic() + 180
        while (still_open := _open_count(fetch)) and time.monotonic() < deadline:
            time.sleep(0.25)
        all_held_after = time.monotonic() - started
        propagation = _propagation(fetch)
        platform_429s = sum(_rate_limited(s.url) for s in serves)
    finally:
        codes = [s.stop() for s in serves]
    latencies = [(done - due) * 1000 for due, done, _, _, _ in answers]
    statuses: dict[str, int] = {}
    for _, _, status, _, _ in answers:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    return {
        "setup": name,
        "replicas": replicas,
        "rate": rate,
        "duration_s": duration,
        "sent": len(answers),
        "statuses": statuses,
        "achieved_per_s": round(len(answers) / duration, 1),
        "p50_ms": round(single._percentile(latencies, 0.50), 1),
        "p99_ms": round(single._percentile(latencies, 0.99), 1),
        "propagation_p50_s": round(single._percentile(propagation, 0.50), 2),
        "propagation_p99_s": round(single._percentile(propagation, 0.99), 2),
        "all_held_after_s": round(all_held_after, 1),
        "open_at_end": still_open,
        "platform_429s": platform_429s,
        "serve_exits": codes,
    }


def _rate_limited(url: str) -> int:
    """The 429 answers a serve process got from the platforms, from its /metrics."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    return round(
        sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("dncsync_push_rate_limited_total")
        )
    )


def main() -> None:
    """Run the three setups at one rate; print one JSON document."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--duration", type=float, default=30.0)
    args = parser.parse_args()
    found = binaries()
    if found is None:
        raise SystemExit("no PostgreSQL binaries: pip install -e '.[test]'")
    settings = single.emulator_settings()
    report: dict[str, Any] = {"machine": single.machine(), "emulator": single.EMULATOR, "steps": []}
    server = PgServer(found, durable=True)  # fsync on: SQLite's side fsyncs too
    try:
        with tempfile.TemporaryDirectory() as tmp, run_in_thread(settings) as emulator:
            setups = [("sqlite-1", 1, False), ("postgresql-1", 1, True), ("postgresql-2", 2, True)]
            for index, (name, replicas, on_pg) in enumerate(setups):
                if on_pg:
                    with server.database() as url:
                        result = step(
                            emulator, Path(tmp), name, replicas, url, args.rate,
                            args.duration, (index + 1) * 100_000_000,
                        )  # fmt: skip
                else:
                    result = step(
                        emulator, Path(tmp), name, replicas, None, args.rate,
                        args.duration, (index + 1) * 100_000_000,
                    )  # fmt: skip
                report["steps"].append(result)
                print(json.dumps(result), file=sys.stderr)
        report["machine"]["load_average_at_end"] = os.getloadavg()
    finally:
        server.stop()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
