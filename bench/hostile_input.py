"""Peak memory of `dncsync validate` on hostile input: one enormous line, plain or gzipped.

Writes the files once into --out (kept for the next run), then runs
`python -m dncsync validate FILE --format json` on each under GNU time and prints the exit
code, the error line, the wall time and the peak RSS. Cases:

- `line-1g.csv`: a header, one row, then one line of 1 GiB with no line end;
- `line-4g.csv.gz`: a header, then one gzip member that expands to a 4 GiB line (~4 MB on
  disk);
- `noeol-200m.csv`: 200 MiB with no line end at all (not even a header);
- `wide-header.csv`: a header of 4M one-letter columns, just under the 8 MiB line cap;
- `wide-row.csv`: a row of 2.8M distinct two-digit fields, just under the cap (the worst a
  line under the cap can cost: Python's csv module makes a string of each field).

Every case should end with exit 2 and one line naming the source and the line, at a peak RSS
far below 512 MB (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path

MIB = 1 << 20
CHUNK = b"7" * MIB


def _write_plain(path: Path, head: bytes, mebibytes: int) -> None:
    with path.open("wb") as handle:
        handle.write(head)
        for _ in range(mebibytes):
            handle.write(CHUNK)


def _write_gzip(path: Path, head: bytes, mebibytes: int) -> None:
    """One gzip member, streamed: `head` then `mebibytes` MiB without a line end."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: a gzip header and trailer
    with path.open("wb") as handle:
        handle.write(packer.compress(head))
        for _ in range(mebibytes):
            handle.write(packer.compress(CHUNK))
        handle.write(packer.flush())


def _write_wide(path: Path, head: bytes, field: Callable[[int], bytes], tail: bytes) -> None:
    """`head`, then one line of fields made by `field(i)`, just under the line cap."""
    budget = 8 * MIB - len(head) - len(tail) - 16
    with path.open("wb") as handle:
        handle.write(head)
        written, index = 0, 0
        while written < budget:
            piece = field(index) + b","
            handle.write(piece)
            written += len(piece)
            index += 1
        handle.write(tail)


CASES: dict[str, Callable[[Path], None]] = {
    "line-1g.csv": lambda p: _write_plain(p, b"phone\n2125550123\n", 1024),
    "line-4g.csv.gz": lambda p: _write_gzip(p, b"phone\n", 4096),
    "noeol-200m.csv": lambda p: _write_plain(p, b"", 200),
    "wide-header.csv": lambda p: _write_wide(p, b"", lambda _: b"a", b"phone\n2125550123\n"),
    "wide-row.csv": lambda p: _write_wide(p, b"phone\n", lambda i: b"%02d" % (i % 100), b"1\n"),
}


def run(path: Path) -> tuple[int, str, float, float]:
    """Exit code, last stderr line, wall seconds, peak RSS in MB (GNU time, else rusage)."""
    command = [sys.executable, "-m", "dncsync", "validate", str(path), "--format", "json"]
    with tempfile.NamedTemporaryFile("r") as report:
        gnu_time = "/usr/bin/time"
        use_time = os.path.exists(gnu_time)
        wrapped = [gnu_time, "-f", "%M", "-o", report.name, *command] if use_time else command
        start = time.perf_counter()
        child = subprocess.Popen(wrapped, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, stderr = child.communicate()
        wall = time.perf_counter() - start
        lines = report.read().split()
    kilobytes = int(lines[-1]) if use_time and lines else 0
    message = stderr.decode(errors="replace").strip().splitlines()
    return child.returncode, message[-1] if message else "", wall, kilobytes / 1024


def main() -> None:
    """Write the cases (once), run each, print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out" / "hostile")
    parser.add_argument("--cases", nargs="*", default=list(CASES), choices=list(CASES))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    print("| input | on disk | exit | wall s | peak RSS MB | stderr |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    for name in args.cases:
        path = args.out / name
        if not path.exists():
            CASES[name](path)
        code, line, wall, rss = run(path)
        size = f"{path.stat().st_size / MIB:,.1f} MiB"
        print(f"| `{name}` | {size} | {code} | {wall:.2f} | {rss:.0f} | `{line}` |", flush=True)


if __name__ == "__main__":
    main()
