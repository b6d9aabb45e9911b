"""Scale benchmark: memory, time and report size of `dncsync plan` and `dncsync sync` at 2M numbers.

The bundled emulator runs in this process (a thread serving a real loopback socket) with a high
rate limit and room for every number; one configuration has two targets, a Genesys list and a
CXone group, each with `capacity` set to hold every number. Each command runs as a subprocess,
as an operator runs it, and its own peak RSS is read from `os.wait4` by a small launcher
process (the rusage of that command alone: a child of this process would inherit its peak).
The steps, on fresh state and fresh lists:

1. `plan` against empty lists (the first run reads each list, finds it empty, plans N adds);
2. `sync`: N numbers pushed to both platforms;
3. `plan` again: the state holds N numbers per list, all unchanged;
4. `sync` of a 1% change (N/100 new numbers) against that state.

Each contender is a Python interpreter with dncsync installed (`--contender NAME=PYTHON`), so the
code at the start of a branch and the branch's own run side by side, same machine, same command:

    python bench/scale.py --numbers 2000000 \
        --contender baseline=/tmp/base/.venv/bin/python --contender memory=.venv/bin/python
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
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
    "PYTHONDONTWRITEBYTECODE": "",
}
_AREA_CODES = (
    "201", "202", "203", "205", "206", "207", "212", "213", "214", "215", "305", "312", "313",
    "404", "415", "503", "512", "602", "617", "646", "650", "702", "713", "718", "805", "917",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Measure:
    """One command's figures."""

    contender: str
    step: str
    seconds: float
    peak_rss_mb: float
    exit_code: int
    report_bytes: int | None  # report.json (sync only)
    numbers_file_bytes: int | None  # the per-number file beside it, when written
    sent: int  # numbers sent, both targets


def prefixes() -> list[int]:
    """NANP area code + exchange prefixes whose every line number is a valid number."""
    found = []
    for area in _AREA_CODES:
        for exchange in range(200, 1000):
            if all(
                phonenumbers.is_valid_number(phonenumbers.parse(f"+1{area}{exchange}{line}"))
                for line in ("0000", "5555", "9999")
            ):
                found.append(int(f"1{area}{exchange}"))
    return found


def numbers(count: int, skip: int = 0) -> np.ndarray[Any, np.dtype[np.uint64]]:
    """`count` distinct valid numbers (E.164 digits), after the first `skip`, shuffled."""
    heads = np.array(prefixes(), dtype=np.uint64)
    index = np.arange(skip, skip + count, dtype=np.uint64)
    keys = heads[index // np.uint64(10_000)] * np.uint64(10_000) + index % np.uint64(10_000)
    return np.random.default_rng(skip).permutation(keys)


def write_source(path: Path, keys: np.ndarray[Any, np.dtype[np.uint64]]) -> None:
    """One number a row, with a reason and a date collected, as a compliance export lists them."""
    with path.open("w", encoding="utf-8") as out:
        out.write("phone,reason,date_collected\n")
        for start in range(0, keys.size, 100_000):
            part = keys[start : start + 100_000].tolist()
            out.write("".join(f"+{k},CUSTOMER_REQUESTED,2026-11-20\n" for k in part))


def write_config(folder: Path, emulator: RunningEmulator, count: int) -> Path:
    """Two targets, a Genesys list and a CXone group, each able to hold every number."""
    list_id = emulator.state.genesys_create_list("scale")
    group_id = emulator.state.cxone_create_group("scale")
    common = f"capacity = {count * 2}\nrequests_per_minute = 600000\nconcurrency = 4\n"
    path = folder / "dncsync.toml"
    path.write_text(
        '[state]\npath = "dncsync.db"\n\n[[source]]\nname = "optouts"\nurl = "source.csv"\n\n'
        f'[[target]]\nname = "genesys-scale"\nplatform = "genesys"\n'
        f'base_url = "{emulator.base_url}"\ndnc_list_id = "{list_id}"\n'
        'client_id_env = "BENCH_CLIENT_ID"\nclient_secret_env = "BENCH_CLIENT_SECRET"\n'
        f"{common}\n"
        f'[[target]]\nname = "cxone-scale"\nplatform = "cxone"\n'
        f'base_url = "{emulator.base_url}"\n'
        f'tenant_id = "{DEFAULT_TENANT_ID}"\ndnc_group_id = {group_id}\n'
        'access_key_id_env = "BENCH_ACCESS_KEY_ID"\n'
        'access_key_secret_env = "BENCH_ACCESS_KEY_SECRET"\n'
        'client_id_env = "BENCH_CLIENT_ID"\nclient_secret_env = "BENCH_CLIENT_SECRET"\n'
        f"{common}",
        encoding="utf-8",
    )
    return path


# A child's ru_maxrss starts from its parent's high-water mark: Linux keeps the peak of the
# image a process replaced at exec, and subprocess forks (or vforks) this process, whose
# emulator holds millions of numbers. So each command is started by a small launcher, and its
# peak is the one `os.wait4` gives the launcher: the command's own.
_LAUNCHER = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(child.pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def command(python: str, step: str, config: Path, folder: Path) -> tuple[float, int, int, str]:
    """Run one dncsync command; its wall seconds, peak RSS (KiB), exit code and stdout."""
    out, err = folder / f"{step}.out", folder / f"{step}.err"
    peak = folder / f"{step}.peak"
    verb = step.split()[0]
    options = ["--config", str(config), "--format", "json"]
    started = time.monotonic()
    with out.open("w") as stdout, err.open("w") as stderr:
        code = subprocess.call(
            [python, "-c", _LAUNCHER, str(peak), python, "-m", "dncsync", verb, *options],
            stdout=stdout,
            stderr=stderr,
            env={**os.environ, **ENVIRONMENT},
        )
    seconds = time.monotonic() - started
    return seconds, int(peak.read_text()), code, out.read_text()


def measure(name: str, python: str, step: str, config: Path, folder: Path) -> Measure:
    """One step of one contender."""
    seconds, rss_kib, code, stdout = command(python, step, config, folder)
    if code != 0:
        tail = (folder / f"{step}.err").read_text()[-2000:]
        print(f"{name} {step}: exit {code}\n{tail}", file=sys.stderr)
    summary: dict[str, Any] = json.loads(stdout) if stdout.strip() else {}
    report = (summary.get("evidence") or {}).get("report_json")
    report_bytes = numbers_bytes = None
    if report and Path(report).exists():
        report_bytes = Path(report).stat().st_size
        beside = Path(report).with_name("report-numbers.csv.gz")
        numbers_bytes = beside.stat().st_size if beside.exists() else None
    sent = sum(int(t.get("sent", 0)) for t in summary.get("targets", {}).values())
    return Measure(name, step, seconds, rss_kib / 1024, code, report_bytes, numbers_bytes, sent)


def bench_contender(name: str, python: str, count: int) -> list[Measure]:
    """The four steps on fresh state and a fresh emulator."""
    limit = RateLimit(1_000_000, 1.0)
    settings = EmulatorSettings(
        rate_limit=limit,
        cxone_rate_limit=limit,
        list_capacity=count * 2,
        org_capacity=count * 4,
        tenant_capacity=count * 4,
    )
    results: list[Measure] = []
    with tempfile.TemporaryDirectory() as tmp, run_in_thread(settings) as emulator:
        folder = Path(tmp)
        config = write_config(folder, emulator, count)
        first = numbers(count)
        write_source(folder / "source.csv", first)
        for step in ("plan", "sync"):
            results.append(measure(name, python, step, config, folder))
            print(results[-1], file=sys.stderr)
        results.append(measure(name, python, "plan (state held)", config, folder))
        print(results[-1], file=sys.stderr)
        changed = np.concatenate([first, numbers(max(1, count // 100), skip=count)])
        write_source(folder / "source.csv", changed)
        results.append(measure(name, python, "sync (1% change)", config, folder))
        print(results[-1], file=sys.stderr)
    return results


def machine() -> str:
    """CPU model, cores and Python version, for the record."""
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return f"{model}, {os.cpu_count()} cores, Python {sys.version.split()[0]}"


def table(results: list[Measure]) -> str:
    """The results as a Markdown table."""
    lines = [
        "| step | contender | exit | wall s | peak RSS MB | report.json MB "
        "| report-numbers.csv.gz MB | numbers sent |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    order = list(dict.fromkeys(m.step for m in results))
    for step in order:
        for m in (m for m in results if m.step == step):
            report = "" if m.report_bytes is None else f"{m.report_bytes / 1e6:.2f}"
            beside = "" if m.numbers_file_bytes is None else f"{m.numbers_file_bytes / 1e6:.2f}"
            lines.append(
                f"| {m.step} | {m.contender} | {m.exit_code} | {m.seconds:.1f} "
                f"| {m.peak_rss_mb:,.0f} | {report} | {beside} | {m.sent:,} |"
            )
    return "\n".join(lines)


def main() -> None:
    """Parse the options, run each contender, print the table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--numbers", type=int, default=2_000_000)
    parser.add_argument(
        "--contender",
        action="append",
        default=None,
        help="NAME=PYTHON: an interpreter with dncsync installed (default: this one)",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    contenders = [c.split("=", 1) for c in args.contender or [f"this={sys.executable}"]]
    results: list[Measure] = []
    for name, python in contenders:
        results.extend(bench_contender(name, python, args.numbers))
    print(f"Machine: {machine()}")
    print(f"Command: python bench/scale.py {' '.join(sys.argv[1:])}".rstrip())
    print()
    print(table(results))
    if args.json is not None:
        args.json.write_text(json.dumps([asdict(m) for m in results], indent=2), "utf-8")


if __name__ == "__main__":
    main()
