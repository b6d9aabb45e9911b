"""Sync benchmark: how close `dncsync sync` gets to what a platform's rate limit allows.

For each platform, the bundled emulator runs in this process (a thread serving a real loopback
socket) with a rate limit of R requests per window; `dncsync sync` runs as a subprocess, as an
operator runs it, and pushes N numbers in batches of B, with N chosen so the push needs at least
`--windows` windows (a first-window burst cannot hide the limit). Then, one window later (as a
scheduled run would come later), a 1% change (N/100 new numbers) is synced.

The ceiling is what the limit allows: R / window × B numbers per second. Over k whole windows a
perfect client sends k windows' worth of requests in k - 1 windows and a moment (the first window
is used at once, the last starts at its first second), so its measured rate is k / (k - 1) of the
ceiling; with 10 windows, 111%.

Reported per run: numbers, writes (requests that succeeded), 429s met (from the emulator's
request log), the push time dncsync reports (first batch sent to last answer), numbers/s, and
numbers/s as a share of the ceiling.

    python bench/sync.py                      # 30 requests / 2 s, batches of 200, 10 windows
    python bench/sync.py --allowed 300 --window 60 --windows 5   # Genesys' documented 300/min
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import phonenumbers

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

ENVIRONMENT = {
    "BENCH_CLIENT_ID": DEFAULT_CLIENT_ID,
    "BENCH_CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
    "BENCH_ACCESS_KEY_ID": DEFAULT_ACCESS_KEY_ID,
    "BENCH_ACCESS_KEY_SECRET": DEFAULT_ACCESS_KEY_SECRET,
}
_AREA_CODES = (
    "201", "202", "203", "205", "206", "207", "212", "213", "214", "215", "305", "312", "313",
    "404", "415", "503", "512", "602", "617", "646", "650", "702", "713", "718", "805", "917",
    "972",
)  # fmt: skip
_WRITE_METHODS = {"POST", "PATCH", "DELETE"}


@dataclass(frozen=True, slots=True)
class Measure:
    """One sync's figures."""

    platform: str
    run: str  # full | 1% change
    numbers: int
    writes: int
    rate_limited: int  # 429 answers met, from the emulator's log
    requests: int  # every platform API request, retries included
    push_seconds: float
    numbers_per_second: float
    ceiling: float  # numbers/s the limit allows
    windows: float  # push time in windows

    @property
    def share(self) -> float:
        """Numbers/s as a share of the ceiling."""
        return self.numbers_per_second / self.ceiling


def numbers(count: int, seed: int, exclude: set[str] | None = None) -> list[str]:
    """`count` distinct valid North American numbers in E.164."""
    rng = random.Random(seed)
    taken = set(exclude or ())
    found: list[str] = []
    while len(found) < count:
        text = f"+1{rng.choice(_AREA_CODES)}{rng.randrange(200, 1000)}{rng.randrange(10_000):04d}"
        if text not in taken and phonenumbers.is_valid_number(phonenumbers.parse(text)):
            taken.add(text)
            found.append(text)
    return found


def write_source(path: Path, phones: list[str]) -> None:
    """The source: one number a row, as a compliance export lists them."""
    path.write_text("phone,reason\n" + "".join(f"{p},NATIONAL\n" for p in phones), "utf-8")


def write_config(
    folder: Path, emulator: RunningEmulator, platform_name: str, args: argparse.Namespace
) -> Path:
    """A one-target configuration for the emulator's list or group."""
    pace = args.configured_rpm or args.allowed * 60.0 / args.window
    common = (
        f'base_url = "{emulator.base_url}"\nbatch_size = {args.batch}\n'
        f"concurrency = {args.concurrency}\nrequests_per_minute = {pace}\n"
    )
    if platform_name == "genesys":
        list_id = emulator.state.genesys_create_list("bench")
        target = (
            'name = "genesys-bench"\nplatform = "genesys"\n'
            f'dnc_list_id = "{list_id}"\n'
            'client_id_env = "BENCH_CLIENT_ID"\nclient_secret_env = "BENCH_CLIENT_SECRET"\n'
        )
    else:
        group_id = emulator.state.cxone_create_group("bench")
        target = (
            'name = "cxone-bench"\nplatform = "cxone"\n'
            f'tenant_id = "{DEFAULT_TENANT_ID}"\ndnc_group_id = {group_id}\n'
            'access_key_id_env = "BENCH_ACCESS_KEY_ID"\n'
            'access_key_secret_env = "BENCH_ACCESS_KEY_SECRET"\n'
            'client_id_env = "BENCH_CLIENT_ID"\nclient_secret_env = "BENCH_CLIENT_SECRET"\n'
        )
    path = folder / "dncsync.toml"
    path.write_text(
        '[state]\npath = "dncsync.db"\n\n[[source]]\nname = "optouts"\nurl = "source.csv"\n\n'
        f"[[target]]\n{target}{common}",
        encoding="utf-8",
    )
    return path


def sync(config: Path) -> dict[str, Any]:
    """Run `dncsync sync` as a subprocess; its one target's JSON summary."""
    finished = subprocess.run(
        [sys.executable, "-m", "dncsync", "sync", "--config", str(config), "--format", "json"],
        capture_output=True,
        text=True,
        env={**os.environ, **ENVIRONMENT},
        check=False,
    )
    if finished.returncode != 0:
        raise SystemExit(f"dncsync sync exited {finished.returncode}: {finished.stderr[-2000:]}")
    summary: dict[str, Any] = json.loads(finished.stdout)
    (target,) = summary["targets"].values()
    return dict(target)


def measure(
    emulator: RunningEmulator,
    config: Path,
    platform_name: str,
    run: str,
    args: argparse.Namespace,
) -> Measure:
    """Sync once and read the figures from the summary and the emulator's request log."""
    since = len(emulator.state.requests())
    target = sync(config)
    api = [
        r
        for r in emulator.state.requests(since)
        if r.path.startswith(("/api/v2/", "/inContactAPI/"))
    ]
    writes = [r for r in api if r.method in _WRITE_METHODS and 200 <= r.status < 300]
    ceiling = args.allowed / args.window * args.batch
    return Measure(
        platform=platform_name,
        run=run,
        numbers=int(target.get("sent", 0)),
        writes=len(writes),
        rate_limited=sum(1 for r in api if r.status == 429),
        requests=len(api),
        push_seconds=float(target.get("push_seconds") or 0.0),
        numbers_per_second=float(target.get("numbers_per_second") or 0.0),
        ceiling=ceiling,
        windows=float(target.get("push_seconds") or 0.0) / args.window,
    )


def bench_platform(platform_name: str, args: argparse.Namespace) -> list[Measure]:
    """The full sync and the 1% change for one platform."""
    limit = RateLimit(args.allowed, args.window)
    settings = EmulatorSettings(rate_limit=limit, cxone_rate_limit=limit, seed=args.seed)
    count = args.allowed * args.windows * args.batch
    phones = numbers(count, args.seed)
    with tempfile.TemporaryDirectory() as tmp, run_in_thread(settings) as emulator:
        folder = Path(tmp)
        config = write_config(folder, emulator, platform_name, args)
        write_source(folder / "source.csv", phones)
        full = measure(emulator, config, platform_name, "full", args)
        # A scheduled run comes later than one window: start the change in a fresh one.
        time.sleep(args.window)
        added = numbers(max(1, count // 100), args.seed + 1, set(phones))
        write_source(folder / "source.csv", [*phones, *added])
        change = measure(emulator, config, platform_name, "1% change", args)
        held = (
            set(emulator.state.genesys_numbers(next(iter(emulator.state.genesys.lists))))
            if platform_name == "genesys"
            else {
                "+1" + p for p in emulator.state.cxone_held(next(iter(emulator.state.cxone.groups)))
            }
        )
        if held != {*phones, *added}:
            raise SystemExit(f"{platform_name}: the platform does not hold the source exactly")
    return [full, change]


def machine() -> str:
    """CPU model, cores and Python version, for the record."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}"


def table(results: list[Measure], args: argparse.Namespace) -> str:
    """The results as a Markdown table."""
    lines = [
        "| platform | run | numbers | writes | 429s met | requests | push s | windows "
        "| numbers/s | ceiling numbers/s | of ceiling |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for m in results:
        lines.append(
            f"| {m.platform} | {m.run} | {m.numbers:,} | {m.writes} | {m.rate_limited} "
            f"| {m.requests} | {m.push_seconds:.2f} | {m.windows:.1f} "
            f"| {m.numbers_per_second:,.0f} | {m.ceiling:,.0f} | {m.share:.0%} |"
        )
    ideal = args.windows / (args.windows - 1) if args.windows > 1 else math.inf
    lines.append("")
    lines.append(
        f"Limit {args.allowed} requests / {args.window:g} s "
        f"({args.allowed * 60 / args.window:g}/min), batches of {args.batch}, "
        f"concurrency {args.concurrency}; a perfect client's full run measures "
        f"{ideal:.0%} of the ceiling over {args.windows} windows."
    )
    return "\n".join(lines)


def main() -> None:
    """Parse the options, run the benchmark, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--allowed", type=int, default=30, help="requests per window (R)")
    parser.add_argument("--window", type=float, default=2.0, help="window length, seconds")
    parser.add_argument("--batch", type=int, default=200, help="numbers per request")
    parser.add_argument("--windows", type=int, default=10, help="windows the full push needs")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument(
        "--configured-rpm",
        type=float,
        default=None,
        help="the target's requests_per_minute (default: the limit itself)",
    )
    parser.add_argument("--platforms", default="genesys,cxone")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    results: list[Measure] = []
    for name in args.platforms.split(","):
        results.extend(bench_platform(name.strip(), args))
    print(f"Machine: {machine()}")
    print(f"Command: python bench/sync.py {' '.join(sys.argv[1:])}".rstrip())
    print()
    print(table(results, args))
    if args.json is not None:
        args.json.write_text(
            json.dumps([{**asdict(m), "share": m.share} for m in results], indent=2), "utf-8"
        )


if __name__ == "__main__":
    main()
