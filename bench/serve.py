"""Serve benchmark: how many single opt-outs a second `dncsync serve` takes with p99 ≤ 100 ms,
how fast each is held on both platforms, and that a SIGKILL under load loses none.

The emulator runs in this process (a thread, a real loopback socket) as issue 15 sets it:
100 ms of latency on every platform request, 1% injected faults, 300 requests a minute per
platform. `dncsync serve` runs as a subprocess, as an operator runs it, with both platforms as
targets. The load generator is a process of its own (this file, `load` mode): an open loop that
sends single opt-outs at a fixed rate over keep-alive connections and times each answer from
the moment it was due (so a stall counts against every request it delayed).

- Intake: each rate in `--rates` for `--duration` seconds on a fresh state; the highest rate
  whose p99 stays ≤ 100 ms (and every request answered 202) is reported.
- Propagation: from the intake store, each request's 202 (its commit) to held on every target.
- Kill: `--kill-rate` for `--kill-duration` s, serve SIGKILLed halfway and started again on the
  same port; the 202s the generator got are then checked held on both platforms: 0 lost.

    python bench/serve.py                                    # 250..1500/s, 60 s each, kill
    python bench/serve.py --rates 500 --duration 10 --kill-duration 10   # a quick look
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import suppress
from datetime import datetime
from pathlib import Path
from typing import Any

from dncsync.emulator import (
    DEFAULT_ACCESS_KEY_ID,
    DEFAULT_ACCESS_KEY_SECRET,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_TENANT_ID,
    EmulatorSettings,
    RateLimit,
    RunningEmulator,
    run_in_thread,
)
from dncsync.emulator.settings import FaultSettings

API_KEY = "bench-serve-key"
ENVIRONMENT = {
    "BENCH_CLIENT_ID": DEFAULT_CLIENT_ID,
    "BENCH_CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
    "BENCH_ACCESS_KEY_ID": DEFAULT_ACCESS_KEY_ID,
    "BENCH_ACCESS_KEY_SECRET": DEFAULT_ACCESS_KEY_SECRET,
    "DNCSYNC_API_KEYS": API_KEY,
}
P99_LIMIT_MS = 100.0
NO_PUSH = False  # --no-push
CONNECTIONS = 64


# --- the load generator (its own process) -----------------------------------------------


async def _one_connection(
    host: str, port: int, jobs: asyncio.Queue[tuple[float, str] | None], out: list[Any]
) -> None:
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    while True:
        job = await jobs.get()
        if job is None:
            break
        due, phone = job
        body = json.dumps({"phone": phone, "source": "bench"}).encode()
        request = (
            f"POST /v1/optouts HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {API_KEY}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            assert reader is not None
            writer.write(request)
            status_line = await reader.readline()
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.decode("latin-1").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            answer = await reader.readexactly(length)
            status = int(status_line.split()[1])
            done = time.monotonic()
            request_id = json.loads(answer).get("id") if status == 202 else None
            out.append((due, done, status, phone, request_id))
        except (OSError, asyncio.IncompleteReadError, IndexError, ValueError):
            out.append((due, time.monotonic(), 0, phone, None))  # no answer: no promise
            if writer is not None:
                writer.close()
            reader = writer = None


_AREA_CODES = (
    "201", "202", "203", "205", "206", "207", "212", "213", "214", "215", "305", "312", "313",
    "404", "415", "503", "512", "602", "617", "646", "650", "702", "713", "718", "805", "917",
    "972",
)  # fmt: skip


def bench_phone(number: int) -> str:
    """A distinct valid NANP number for each `number` (real area codes, exchanges 2xx-9xx)."""
    area = _AREA_CODES[number % len(_AREA_CODES)]
    rest = number // len(_AREA_CODES)
    exchange = 200 + rest % 799
    if exchange % 100 == 11:  # N11 is a service code, never an exchange
        exchange += 1
    line = rest // 799 % 10_000
    return f"+1{area}{exchange}{line:04d}"


async def _load(url: str, rate: float, duration: float, first: int) -> list[Any]:
    host, port = url.removeprefix("http://").split(":")
    jobs: asyncio.Queue[tuple[float, str] | None] = asyncio.Queue()
    out: list[Any] = []
    workers = [
        asyncio.create_task(_one_connection(host, int(port), jobs, out)) for _ in range(CONNECTIONS)
    ]
    start = time.monotonic() + 0.2
    total = int(rate * duration)
    for index in range(total):
        due = start + index / rate
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        phone = bench_phone(first + index)
        jobs.put_nowait((due, phone))
    for _ in workers:
        jobs.put_nowait(None)
    await asyncio.gather(*workers)
    return out


def load_main(args: argparse.Namespace) -> None:
    """`load` mode: send, then print every answer as JSON lines on stdout."""
    results = asyncio.run(_load(args.url, args.rate, args.duration, args.first))
    json.dump(results, sys.stdout)


# --- the orchestrator ---------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _config(folder: Path, emulator: RunningEmulator, name: str) -> tuple[Path, str, int]:
    list_id = emulator.state.genesys_create_list(f"bench {name}")
    group_id = emulator.state.cxone_create_group(f"bench {name}")
    folder.mkdir(parents=True, exist_ok=True)
    text = f"""
[state]
path = "state/dncsync.db"

[serve]
flush_seconds = 1
rate_per_second = 1000000
drain_seconds = 25

[[target]]
name = "genesys"
platform = "genesys"
base_url = "{emulator.base_url}"
dnc_list_id = "{list_id}"
client_id_env = "BENCH_CLIENT_ID"
client_secret_env = "BENCH_CLIENT_SECRET"
requests_per_minute = 300
{"intake = false" if NO_PUSH else ""}

[[target]]
name = "cxone"
platform = "cxone"
base_url = "{emulator.base_url}"
tenant_id = "{DEFAULT_TENANT_ID}"
dnc_group_id = {group_id}
access_key_id_env = "BENCH_ACCESS_KEY_ID"
access_key_secret_env = "BENCH_ACCESS_KEY_SECRET"
client_id_env = "BENCH_CLIENT_ID"
client_secret_env = "BENCH_CLIENT_SECRET"
requests_per_minute = 300
{"intake = false" if NO_PUSH else ""}
"""
    path = folder / "dncsync.toml"
    path.write_text(text, encoding="utf-8")
    return path, list_id, group_id


class Serve:
    """A `dncsync serve` subprocess."""

    def __init__(self, config: Path, port: int) -> None:
        self.log = (config.parent / f"serve-{time.time_ns()}.log").open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "dncsync",
                "serve",
                "--config",
                str(config),
                "--port",
                str(port),
            ],
            stdout=self.log,
            stderr=self.log,
            env={**os.environ, **ENVIRONMENT},
        )
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                return
            if self.process.poll() is not None:
                raise SystemExit(f"serve exited at start: see {self.log.name}")
            time.sleep(0.05)
        raise SystemExit("serve did not start listening within 60 s")

    def cpu_seconds(self) -> float:
        """User and system CPU the serve process used so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self, signum: int = signal.SIGTERM) -> int:
        """Signal it and wait; the exit code."""
        self.process.send_signal(signum)
        code = self.process.wait(timeout=120)
        self.log.close()
        return code


def _run_load(url: str, rate: float, duration: float, first: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, __file__, "load", "--url", url, "--rate", str(rate),
         "--duration", str(duration), "--first", str(first)],
        stdout=subprocess.PIPE,
    )  # fmt: skip


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _wait_all_held(intake: Path, seconds: float) -> int:
    """Wait until no delivery is open; the open count at the end."""
    deadline = time.monotonic() + seconds
    while True:
        with sqlite3.connect(f"file:{intake}?mode=ro", uri=True) as db:
            open_count = int(
                db.execute(
                    "SELECT COUNT(*) FROM deliveries WHERE status IN ('pending', 'failed')"
                ).fetchone()[0]
            )
        if open_count == 0 or time.monotonic() > deadline:
            return open_count
        time.sleep(0.25)


def _propagation(intake: Path) -> list[float]:
    """Per request: seconds from its commit (the 202) to held on the last target."""
    with sqlite3.connect(f"file:{intake}?mode=ro", uri=True) as db:
        return propagation_seconds(db.execute(PROPAGATION).fetchall())


# Per request: when committed, when held on its last target, on how many, out of how many.
PROPAGATION = (
    "SELECT r.accepted_at, MAX(d.held_at), COUNT(d.held_at), COUNT(*) FROM requests r "
    "JOIN deliveries d ON d.request_id = r.id GROUP BY r.id"
)


def propagation_seconds(rows: list[Any]) -> list[float]:
    """Seconds from the 202 to held on every target, of each request held everywhere
    (rows as `PROPAGATION` selects them, from the SQLite or the PostgreSQL intake)."""
    seconds = []
    for accepted, held, held_count, targets in rows:
        if held is None or held_count < targets:
            continue
        start = datetime.fromisoformat(accepted.replace("Z", "+00:00"))
        end = datetime.fromisoformat(held.replace("Z", "+00:00"))
        seconds.append((end - start).total_seconds())
    return seconds


def intake_step(
    emulator: RunningEmulator, root: Path, rate: float, duration: float
) -> dict[str, Any]:
    """One rate on a fresh state: latency of the 202s, then propagation."""
    folder = root / f"rate-{int(rate)}"
    config, _, _ = _config(folder, emulator, f"rate {rate}")
    serve = Serve(config, _free_port())
    try:
        cpu_before = serve.cpu_seconds()
        loader = _run_load(serve.url, rate, duration, first=int(rate) * 1_000_000)
        out, _ = loader.communicate()
        cpu_used = serve.cpu_seconds() - cpu_before
        answers = json.loads(out)
        latencies = [(done - due) * 1000 for due, done, status, _, _ in answers]
        statuses: dict[str, int] = {}
        for _, _, status, _, _ in answers:
            statuses[str(status)] = statuses.get(str(status), 0) + 1
        still_open = _wait_all_held(folder / "state" / "dncsync.db.intake", 120)
        propagation = _propagation(folder / "state" / "dncsync.db.intake")
    finally:
        code = serve.stop()
    sent = len(answers)
    achieved = sent / duration
    return {
        "rate": rate,
        "duration_s": duration,
        "sent": sent,
        "statuses": statuses,
        "p50_ms": round(_percentile(latencies, 0.50), 1),
        "p99_ms": round(_percentile(latencies, 0.99), 1),
        "max_ms": round(max(latencies), 1),
        "achieved_per_s": round(achieved, 1),
        # The serve process's CPU per request (taking in and pushing both): its capacity on
        # an idle core, whatever else the machine was doing.
        "serve_cpu_ms_per_request": round(cpu_used * 1000 / max(1, sent), 2),
        "holds_p99": _percentile(latencies, 0.99) <= P99_LIMIT_MS and statuses == {"202": sent},
        "propagation_p50_s": round(_percentile(propagation, 0.50), 2),
        "propagation_p99_s": round(_percentile(propagation, 0.99), 2),
        "open_after_120s": still_open,
        "serve_exit": code,
    }


def kill_step(
    emulator: RunningEmulator, root: Path, rate: float, duration: float
) -> dict[str, Any]:
    """SIGKILL serve halfway through the load, start it again: every 202 must end held."""
    folder = root / "kill"
    config, list_id, group_id = _config(folder, emulator, "kill")
    port = _free_port()
    serve = Serve(config, port)
    loader = _run_load(serve.url, rate, duration, first=900_000_000)
    time.sleep(duration / 2)
    serve.process.send_signal(signal.SIGKILL)
    serve.process.wait()
    serve.log.close()
    restarted = Serve(config, port)
    out, _ = loader.communicate()
    answers = json.loads(out)
    accepted = {request_id: phone for _, _, status, phone, request_id in answers if status == 202}
    still_open = _wait_all_held(folder / "state" / "dncsync.db.intake", 120)
    code = restarted.stop()
    with sqlite3.connect(f"file:{folder / 'state' / 'dncsync.db.intake'}?mode=ro", uri=True) as db:
        held = {
            row[0]
            for row in db.execute(
                "SELECT request_id FROM deliveries GROUP BY request_id "
                "HAVING SUM(status = 'held') = COUNT(*)"
            )
        }
    genesys = set(emulator.state.genesys_numbers(list_id))
    cxone_digits = set(emulator.state.cxone_held(group_id))
    on_both = {
        rid for rid, phone in accepted.items() if phone in genesys and phone[2:] in cxone_digits
    }
    lost = [rid for rid in accepted if rid not in held or rid not in on_both]
    return {
        "rate": rate,
        "duration_s": duration,
        "sent": len(answers),
        "accepted_202": len(accepted),
        "unanswered": sum(1 for a in answers if a[2] != 202),
        "lost": len(lost),
        "open_after_120s": still_open,
        "restart_exit": code,
    }


EMULATOR = "100 ms latency, 1% faults (error, cut, after_write), 300 requests/min"


def emulator_settings() -> EmulatorSettings:
    """The platforms as issue 15 sets them: `EMULATOR`, per platform."""
    return EmulatorSettings(
        latency_ms=100,
        faults=FaultSettings.uniform(0.01, ("error", "cut", "after_write")),
        rate_limit=RateLimit(300, 60.0),
    )


def machine() -> dict[str, Any]:
    """What the figures were measured on (the load average at the end is added after)."""
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "system": platform.platform(),
        "load_average_at_start": os.getloadavg(),
    }


def main() -> None:
    """Parse, run the steps, print one JSON document."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="mode")
    load = sub.add_parser("load")
    load.add_argument("--url", required=True)
    load.add_argument("--rate", type=float, required=True)
    load.add_argument("--duration", type=float, required=True)
    load.add_argument("--first", type=int, default=0)
    parser.add_argument("--rates", default="250,500,1000,1500")
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--kill-rate", type=float, default=500.0)
    parser.add_argument("--kill-duration", type=float, default=30.0)
    parser.add_argument("--skip-kill", action="store_true")
    parser.add_argument(
        "--no-push", action="store_true", help="targets with intake = false: the API alone"
    )
    args = parser.parse_args()
    if args.mode == "load":
        load_main(args)
        return
    global NO_PUSH
    NO_PUSH = args.no_push
    report: dict[str, Any] = {"machine": machine(), "emulator": EMULATOR, "intake": []}
    with tempfile.TemporaryDirectory() as tmp, run_in_thread(emulator_settings()) as emulator:
        for rate in (float(r) for r in args.rates.split(",")):
            step = intake_step(emulator, Path(tmp), rate, args.duration)
            report["intake"].append(step)
            print(json.dumps(step), file=sys.stderr)
        holding = [s["rate"] for s in report["intake"] if s["holds_p99"]]
        report["highest_rate_holding_p99"] = max(holding) if holding else None
        if not args.skip_kill:
            report["kill"] = kill_step(emulator, Path(tmp), args.kill_rate, args.kill_duration)
        report["machine"]["load_average_at_end"] = os.getloadavg()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
