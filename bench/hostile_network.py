"""Hostile-conditions benchmark: how long `dncsync sync` takes, and how much memory, when the
network or the platform is hostile.

Each case runs `dncsync sync` as a subprocess (as an operator runs it) against the emulator in
this process, through the test suite's fault proxy or with its hostile answers
(`tests/hostile/proxy.py`, `tests/hostile/platform.py`), and reports the wall time, the exit
code, the child's peak RSS (GNU time's `%M`) and the error line. Nothing is asserted: the
figures go to docs/benchmarks.md.

    python bench/hostile_network.py                       # every case, budget 10 s, timeout 5 s
    python bench/hostile_network.py --cases giant_streamed dead --budget 30 --timeout 10
    python bench/hostile_network.py --dncsync-src /tmp/older/src --limit 120   # an older dncsync

A case that runs past `--limit` seconds is killed and shown as such.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from e2e.support import (  # noqa: E402 - the tests' emulator helpers, from their folder
    CREDENTIAL_ENV,
    Platforms,
    emulator_settings,
    genesys_target,
    serve,
    write_config,
)
from hostile.platform import Hostile, HostileMiddleware  # noqa: E402
from hostile.proxy import Fault, always, fault_proxy  # noqa: E402


@dataclass(frozen=True, slots=True)
class Result:
    """One case's figures."""

    case: str
    seconds: float
    code: int | None  # None: killed at the limit
    peak_rss_mb: float
    line: str  # the error line, abridged


def source(folder: Path, count: int) -> None:
    """`count` New York numbers (+1 212 2xx xxxx), one a row."""
    rows = (f"+1212{200 + n // 10_000:03d}{n % 10_000:04d},NATIONAL\n" for n in range(count))
    (folder / "source.csv").write_text("phone,reason\n" + "".join(rows), encoding="utf-8")


def run(argv: list[str], env: dict[str, str], limit: float) -> tuple[float, int | None, float, str]:
    """Run a command; its wall time, exit code (None if killed), peak RSS (MB), last line.

    The peak RSS is GNU time's (`%M`): its child is forked from it, a small process, whereas a
    child forked from this one would count this process's memory at the fork.
    """
    started = time.monotonic()
    with tempfile.TemporaryFile() as err, tempfile.NamedTemporaryFile("r") as rss:
        process = subprocess.Popen(
            ["/usr/bin/time", "-f", "%M", "-o", rss.name, *argv],
            stdout=subprocess.DEVNULL,
            stderr=err,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,  # a kill at the limit reaches time's child too
        )
        try:
            code: int | None = process.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            code = None
        seconds = time.monotonic() - started
        err.seek(0)
        lines = err.read().decode("utf-8", "replace").strip().splitlines()
        text = rss.read().strip().splitlines()
    peak = float(text[-1]) / 1024 if text and text[-1].isdigit() else float("nan")
    return seconds, code, peak, (lines[-1] if lines else "")


@contextmanager
def plain(platforms: Platforms, hold: float) -> Iterator[str]:
    """The platform itself."""
    yield platforms.base_url


def proxied(fault: Fault) -> Callable[[Platforms, float], AbstractContextManager[str]]:
    """The platform behind the fault proxy, every request meeting `fault`; the proxy holds a
    connection `hold` seconds at most (longer than the run may last)."""

    @contextmanager
    def through(platforms: Platforms, hold: float) -> Iterator[str]:
        with fault_proxy(
            platforms.base_url, always(fault), trickle_interval=0.2, hold_seconds=hold
        ) as proxy:
            yield proxy.url

    return through


@dataclass(frozen=True, slots=True)
class Case:
    """A hostile condition: what the platform answers, how it is reached, how many numbers."""

    name: str
    title: str
    scenario: str | None = None
    reach: Callable[[Platforms, float], AbstractContextManager[str]] = plain
    numbers: int = 1_000
    held: int = 0  # numbers the platform holds already (read back on the first run)
    timeout: float | None = None  # request_timeout_seconds for this case, else --timeout


CASES = (
    Case("giant_declared", "1.5 GB answer, Content-Length declared", "giant_declared"),
    Case("giant_streamed", "1.5 GB answer, streamed (no Content-Length)", "giant_streamed"),
    Case("giant_export", "export above the cap (257 MB, streamed)", "giant_export", timeout=60),
    Case(
        "export_1m",
        "honest export, 1,000,000 numbers",
        numbers=1_000_000,
        held=1_000_000,
        timeout=60,
    ),
    Case("dead", "every connection reset", reach=proxied(Fault.RESET_BEFORE)),
    Case("stalled", "every request accepted, never answered", reach=proxied(Fault.HANG)),
    Case("trickle", "every answer trickled, a byte per 0.2 s", reach=proxied(Fault.TRICKLE)),
)


def bench(case: Case, args: argparse.Namespace) -> Result:
    """One case, in a fresh folder against a fresh emulator."""
    env = {**os.environ, **CREDENTIAL_ENV}
    if args.dncsync_src:  # the subprocess runs that source tree's dncsync
        env["PYTHONPATH"] = args.dncsync_src
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="dncsync-hostile-")))
        platforms = stack.enter_context(serve(emulator_settings(export_delay_seconds=0.05)))
        hostile = Hostile(case.scenario)
        platforms.running.app.add_middleware(HostileMiddleware, hostile=hostile)
        if case.held:
            platforms.running.state.genesys_edit(
                platforms.list_id,
                add=[f"+1212{200 + n // 10_000:03d}{n % 10_000:04d}" for n in range(case.held)],
            )
        source(folder, case.numbers)
        base_url = stack.enter_context(case.reach(platforms, args.limit + 30))
        config = write_config(
            folder,
            [
                genesys_target(
                    platforms,
                    base_url=base_url,
                    retry_budget_seconds=args.budget,
                    request_timeout_seconds=case.timeout or args.timeout,
                    export_poll_seconds=0.05,
                )
            ],
        )
        argv = [sys.executable, "-m", "dncsync", "sync", "--config", str(config)]
        seconds, code, rss, line = run(argv, env, args.limit)
    return Result(case.name, seconds, code, rss, line)


def machine() -> str:
    """CPU model, cores and Python, for the figures' context."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main() -> None:
    """Run the chosen cases and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="*", default=[c.name for c in CASES])
    parser.add_argument("--budget", type=float, default=10.0, help="retry_budget_seconds")
    parser.add_argument("--timeout", type=float, default=5.0, help="request_timeout_seconds")
    parser.add_argument("--limit", type=float, default=300.0, help="kill a run after this")
    parser.add_argument("--dncsync-src", help="run the dncsync of this src/ folder instead")
    args = parser.parse_args()
    chosen = [case for case in CASES if case.name in args.cases]
    print(f"machine: {machine()}")
    print(f"retry_budget_seconds = {args.budget:g}, request_timeout_seconds = {args.timeout:g}")
    print()
    print("| case | wall s | exit | peak RSS MB | error line (abridged) |")
    print("| --- | ---: | ---: | ---: | --- |")
    for case in chosen:
        result = bench(case, args)
        code = "killed" if result.code is None else str(result.code)
        line = result.line.removeprefix("dncsync: error: ").split(" failed: ", 1)[-1]
        line = line if len(line) <= 110 else line[:109] + "…"
        print(
            f"| {case.title} | {result.seconds:.1f} | {code} | {result.peak_rss_mb:.0f} | "
            f"{line.replace('|', '/')} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
