"""Ingest benchmark and its seeded messy DNC data: phone values written the ways exports write them.

Shared by the benchmark (`bench/ingest.py`), the differential script and the tests, so the data
the speed figures come from is the data the verdict checks run on. The mix (per 100 values):
~65 US numbers in national and `+1`/`1-` formats, ~8 from 25 other countries (`+cc` and `011`),
~14 junk or invalid (too short, too long, unassigned ranges, words, spreadsheet errors, empty),
~2 extensions, ~1 vanity, and, in files, ~20% repeats of earlier numbers in another format.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path

# Real US area codes (assigned) plus a few that are not, so some "valid-looking" rows are not.
US_AREA_CODES = tuple(
    (  # noqa: SIM905 (a table reads better as text)
        "201 202 203 205 206 207 208 209 210 212 213 214 215 216 217 218 219 224 225 228 229 231 "
        "234 239 240 248 251 252 253 254 256 260 262 267 269 270 272 276 281 301 302 303 304 305 "
        "307 308 309 310 312 313 314 315 316 317 318 319 320 321 323 325 330 331 334 336 337 339 "
        "347 351 352 360 361 385 386 401 402 404 405 406 407 408 409 410 412 413 414 415 417 419 "
        "423 424 425 430 432 434 435 440 442 443 458 469 470 475 478 479 480 484 501 502 503 504 "
        "505 507 508 509 510 512 513 515 516 517 518 520 530 531 534 539 540 541 551 559 561 562 "
        "563 567 570 571 573 574 575 580 585 586 601 602 603 605 606 607 608 609 610 612 614 615 "
        "616 617 618 619 620 623 626 628 629 630 631 636 641 646 650 651 657 660 661 662 667 669 "
        "678 681 682 701 702 703 704 706 707 708 712 713 714 715 716 717 718 719 720 724 725 727 "
        "731 732 734 737 740 747 754 757 760 762 763 765 769 770 772 773 774 775 779 781 785 786 "
        "801 802 803 804 805 806 808 810 812 813 814 815 816 817 818 828 830 831 832 843 845 847 "
        "848 850 856 857 858 859 860 862 863 864 865 870 872 878 901 903 904 906 907 908 909 910 "
        "912 913 914 915 916 917 918 919 920 925 928 929 931 936 937 938 940 941 947 949 951 952 "
        "954 956 959 970 971 972 973 978 979 980 984 985 986 989 800 888 877 866 855 844 833"
    ).split()
)
UNASSIGNED_AREA_CODES = ("123", "099", "111", "555", "000", "999", "190", "370", "960")

# (calling code, national significant number template) from phonenumbers' example numbers:
# the last digits are randomised, so most stay valid and some fall into unassigned ranges.
FOREIGN = (
    ("44", "7400123456"),
    ("44", "2079460958"),
    ("49", "15123456789"),
    ("49", "30901820"),
    ("33", "612345678"),
    ("33", "123456789"),
    ("91", "8123456789"),
    ("91", "7410410123"),
    ("52", "2221234567"),
    ("55", "11961234567"),
    ("61", "412345678"),
    ("61", "212345678"),
    ("81", "9012345678"),
    ("81", "312345678"),
    ("86", "13123456789"),
    ("39", "3123456789"),
    ("39", "0212345678"),
    ("34", "612345678"),
    ("31", "612345678"),
    ("63", "9051234567"),
    ("234", "8021234567"),
    ("27", "711234567"),
    ("82", "1020000000"),
    ("46", "701234567"),
    ("41", "781234567"),
    ("48", "512345678"),
    ("353", "850123456"),
    ("972", "502345678"),
    ("971", "501234567"),
    ("65", "81234567"),
    ("64", "211234567"),
    ("7", "9123456789"),
    ("90", "5012345678"),
    ("57", "3211234567"),
    ("20", "1001234567"),
    ("1", "4165550199"),
)

JUNK = (
    "",
    " ",
    "N/A",
    "n/a",
    "none",
    "unknown",
    "refused",
    "-",
    "0",
    "#VALUE!",
    "#N/A",
    "#REF!",
    "#NAME?",
    "#ERROR!",
    "TRUE",
    "NULL",
    "null",
    "call me",
    "see notes",
    "1.41555E+10",
    "4.15555E+09",
    "555-0100",
    "12345",
    "911",
    "0000000000",
    "1234567890",
    "123-456-7890",
    "+1 000 000 0000",
    "+10000000000",
    "(000) 000-0000",
    "999-999-9999",
    "+999 123 4567",
    "+0 415 555 2671",
    "00",
    "+",
    "++1",
    "tel:",
    "phone",
    "xxx-xxx-xxxx",
)

VANITY = (
    "1-800-FLOWERS",
    "1-800-GOT-JUNK",
    "1 (800) CALL-ATT",
    "800-MATTRES",
    "+1 888 NEW CARS",
    "1-877-KARS4KIDS",
    "(888) 5BUY NOW",
)

US_FORMATS = (
    "({a}) {b}-{c}",
    "{a}-{b}-{c}",
    "{a}.{b}.{c}",
    "{a} {b} {c}",
    "{a}{b}{c}",
    "1-{a}-{b}-{c}",
    "1 ({a}) {b}-{c}",
    "+1 {a} {b} {c}",
    "+1 ({a}) {b}-{c}",
    "+1-{a}-{b}-{c}",
    "+1{a}{b}{c}",
    "1{a}{b}{c}",
    "1.{a}.{b}.{c}",
    " ({a}) {b}-{c} ",
    "({a}){b}-{c}",
    "{a}/{b}-{c}",
)
EXTENSIONS = ("{n} ext. {x}", "{n} x{x}", "{n} ext {x}", "{n} #{x}", "{n}, ext. {x}", "{n} x {x}")


def us_number(rng: random.Random) -> tuple[str, str, str]:
    """Area code, exchange and line of a US number (mostly assigned ranges)."""
    area = rng.choice(UNASSIGNED_AREA_CODES) if rng.random() < 0.04 else rng.choice(US_AREA_CODES)
    exchange = f"{rng.randint(200, 999)}" if rng.random() < 0.97 else f"{rng.randint(0, 199):03d}"
    return area, exchange, f"{rng.randint(0, 9999):04d}"


def format_us(rng: random.Random, parts: tuple[str, str, str]) -> str:
    """One of the national and international shapes a US number is written in."""
    a, b, c = parts
    return rng.choice(US_FORMATS).format(a=a, b=b, c=c)


def foreign_number(rng: random.Random) -> tuple[str, str]:
    """A calling code and a national significant number from one of 25+ countries."""
    cc, template = rng.choice(FOREIGN)
    keep = max(2, len(template) - 4)
    tail = "".join(rng.choice("0123456789") for _ in range(len(template) - keep))
    return cc, template[:keep] + tail


def format_foreign(rng: random.Random, cc: str, nsn: str) -> str:
    """International shapes: `+cc`, `011 cc`, grouped or not, sometimes with a trunk `(0)`."""
    shape = rng.random()
    half = len(nsn) // 2
    if shape < 0.35:
        return f"+{cc} {nsn[:half]} {nsn[half:]}"
    if shape < 0.6:
        return f"+{cc}{nsn}"
    if shape < 0.8:
        return f"011 {cc} {nsn[:half]} {nsn[half:]}"
    if shape < 0.9:
        return f"+{cc}-{nsn[:3]}-{nsn[3:]}"
    if shape < 0.95:
        return f"011{cc}{nsn}"
    return f"+{cc} (0){nsn}"


def fresh_value(rng: random.Random) -> tuple[str, tuple[str, ...] | None]:
    """One new messy value, and the number's parts when it is a number worth repeating."""
    pick = rng.random()
    if pick < 0.74:
        us = us_number(rng)
        return format_us(rng, us), us
    if pick < 0.82:
        foreign = foreign_number(rng)
        return format_foreign(rng, *foreign), foreign
    if pick < 0.96:
        junk = rng.random()
        if junk < 0.5:
            return rng.choice(JUNK), None
        if junk < 0.7:  # too long
            return format_us(rng, us_number(rng)) + str(rng.randint(1, 99999)), None
        if junk < 0.85:  # too short
            return f"{rng.randint(200, 999)}-{rng.randint(0, 9999):04d}", None
        return "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 20))), None
    if pick < 0.99:
        number = format_us(rng, us_number(rng))
        return rng.choice(EXTENSIONS).format(n=number, x=rng.randint(1, 99999)), None
    return rng.choice(VANITY), None


def messy_values(seed: int, count: int, repeats: float = 0.2) -> Iterator[str]:
    """`count` messy values, a `repeats` share of them an earlier number in another format."""
    rng = random.Random(seed)
    recent: list[tuple[str, ...]] = []
    for _ in range(count):
        if recent and rng.random() < repeats:
            earlier = rng.choice(recent)
            if len(earlier) == 3:
                yield format_us(rng, (earlier[0], earlier[1], earlier[2]))
            else:
                yield format_foreign(rng, earlier[0], earlier[1])
            continue
        value, parts = fresh_value(rng)
        yield value
        if parts is None:
            continue
        if len(recent) < 50_000:
            recent.append(parts)
        else:
            recent[rng.randrange(len(recent))] = parts


REASONS = (
    "customer request",
    "Customer Requested",
    "opt-out",
    "litigator",
    "national dnc",
    "state dnc",
    "company policy",
    "",
    "web unsubscribe",
    "NATIONAL",
    "CUSTOMER_REQUESTED",
)
SOURCES = ("crm", "web-form", "ivr", "legal", "registry")


def _csv_field(value: str) -> str:
    if any(ch in value for ch in ',"\n\r'):
        return '"' + value.replace('"', '""') + '"'
    return value


def write_csv(path: Path, rows: int, seed: int = 1, repeats: float = 0.2) -> None:
    """A seeded messy DNC export: phone, reason, source, date collected (ISO and US dates)."""
    rng = random.Random(seed + 7)
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("phone_number,reason,source,date_collected\r\n")
        lines = []
        for value in messy_values(seed, rows, repeats):
            year, month, day = rng.randint(2019, 2026), rng.randint(1, 12), rng.randint(1, 28)
            collected = (
                f"{year}-{month:02d}-{day:02d}"
                if rng.random() < 0.8
                else f"{month:02d}/{day:02d}/{year}"
            )
            lines.append(
                f"{_csv_field(value)},{rng.choice(REASONS)},{rng.choice(SOURCES)},{collected}\r\n"
            )
            if len(lines) >= 10_000:
                out.write("".join(lines))
                lines.clear()
        out.write("".join(lines))


# --------------------------------------------------------------------------------------------
# The dialect matrix: the same rows written the ways exporters write CSV. The quoted files come
# from writers dncsync does not control (Python's csv module, pyarrow's CSV writer), so the
# figures are about RFC 4180 as others write it, not about one generator's habits.

NOTES = (
    "", "", "", "", "called back", "no answer", "left voicemail",
    "Doe, Jane", 'said "stop calling"', "line one\nline two", "first\r\nsecond; third",
    "a|b\tc", '""',
)  # fmt: skip
# (name, delimiter, csv quoting or "pyarrow", line end, special characters kept)
DIALECTS: tuple[tuple[str, str, int | str, str, bool], ...] = (
    ("comma, unquoted (reference)", ",", 3, "\r\n", False),  # csv.QUOTE_NONE
    ("comma, quoted where needed", ",", 0, "\r\n", True),  # csv.QUOTE_MINIMAL
    ("comma, every field quoted", ",", 1, "\r\n", True),  # csv.QUOTE_ALL
    ("comma, every field quoted, LF", ",", 1, "\n", True),
    ("tab, quoted where needed", "\t", 0, "\r\n", True),
    ("semicolon, every field quoted", ";", 1, "\r\n", True),
    ("pipe, quoted where needed, LF", "|", 0, "\n", True),
    ("pyarrow writer (strings quoted)", ",", "pyarrow", "\n", True),
)


def dialect_rows(rows: int, seed: int = 1) -> Iterator[list[str]]:
    """The matrix's rows: phone, reason, source, date collected, notes (a CRM's free text)."""
    rng = random.Random(seed + 11)
    for value in messy_values(seed, rows):
        year, month, day = rng.randint(2019, 2026), rng.randint(1, 12), rng.randint(1, 28)
        yield [
            value, rng.choice(REASONS), rng.choice(SOURCES), f"{year}-{month:02d}-{day:02d}",
            rng.choice(NOTES),
        ]  # fmt: skip


def write_dialects(folder: Path, rows: int) -> list[tuple[str, Path]]:
    """Every dialect of the same rows, written in one pass; (name, path) each."""
    import csv
    import re

    import pyarrow as pa
    import pyarrow.csv as pcsv

    header = ["phone_number", "reason", "source", "date_collected", "notes"]
    paths = [(name, folder / f"dialect-{index}-{rows}.csv") for index, (name, *_) in
             enumerate(DIALECTS)]  # fmt: skip
    if all(path.exists() for _, path in paths):
        return paths
    if rows > 1_000_000 and rows % 1_000_000 == 0:
        # Writing 10M rows eight ways takes most of an hour in Python: the 1M files, repeated.
        for (_, one), (_, path) in zip(write_dialects(folder, 1_000_000), paths, strict=True):
            _repeat(one, path, rows // 1_000_000)
        return paths
    special = re.compile(r'[,;|\t"\r\n]')
    handles = [path.open("w", encoding="utf-8", newline="") for _, path in paths]
    try:
        writers: list[object] = []
        for (_, delimiter, quoting, end, _), handle in zip(DIALECTS, handles, strict=True):
            if quoting == "pyarrow":
                writers.append(None)
                continue
            writer = csv.writer(
                handle, delimiter=delimiter, quoting=int(quoting), lineterminator=end,
                escapechar=None if quoting != 3 else "\\",
            )  # fmt: skip
            writer.writerow(header)
            writers.append(writer)
        arrow_out = handles[[q for _, _, q, _, _ in DIALECTS].index("pyarrow")]
        arrow_writer: pcsv.CSVWriter | None = None
        chunk: list[list[str]] = []

        def flush() -> None:
            nonlocal arrow_writer
            if not chunk:
                return
            table = pa.table({name: [row[i] for row in chunk] for i, name in enumerate(header)})
            if arrow_writer is None:
                arrow_writer = pcsv.CSVWriter(arrow_out.buffer, table.schema)
            arrow_writer.write_table(table)
            for writer, (*_, keep) in zip(writers, DIALECTS, strict=True):
                if writer is None:
                    continue
                plain = chunk if keep else [[special.sub(" ", f) for f in row] for row in chunk]
                writer.writerows(plain)  # type: ignore[attr-defined]
            chunk.clear()

        for row in dialect_rows(rows):
            chunk.append(row)
            if len(chunk) >= 50_000:
                flush()
        flush()
        if arrow_writer is not None:
            arrow_writer.close()
    finally:
        for handle in handles:
            handle.close()
    return paths


def _repeat(source: Path, target: Path, times: int) -> None:
    """`source`'s rows `times` over, under its header once."""
    import shutil

    with target.open("wb") as out:
        for copy in range(times):
            with source.open("rb") as rows:
                if copy:
                    rows.readline()
                shutil.copyfileobj(rows, out)


def _figures(python: str, path: Path) -> dict[str, object]:
    """The summary figures `dncsync validate` gives for a file."""
    import subprocess

    done = subprocess.run(
        [python, "-m", "dncsync", "validate", str(path), "--format", "json"],
        capture_output=True,
        check=True,
    )
    summary = json.loads(done.stdout)
    keys = ("rows", "values", "accepted", "duplicates", "rejected", "reject_reasons", "warnings")
    return {key: summary[key] for key in keys}


def dialect_matrix(python: str, rows: int, runs: int, out: Path) -> list[tuple[str, float, float]]:
    """Each dialect's median wall time, the runs interleaved round-robin (side by side)."""
    import resource
    import statistics
    import sys

    paths = write_dialects(out, rows)
    walls: dict[str, list[float]] = {name: [] for name, _ in paths}
    cpus: dict[str, list[float]] = {name: [] for name, _ in paths}
    peaks: dict[str, float] = {name: 0.0 for name, _ in paths}
    for _ in range(runs):
        for name, path in paths:
            # CPU seconds of the whole process tree: what the run costs whatever else the
            # machine runs (wall time on a shared machine counts the others' work too).
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            wall, rss = timed(_validate(python, str(path), out))
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus[name].append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
            walls[name].append(wall)
            peaks[name] = max(peaks[name], rss)
    results = [(name, statistics.median(walls[name]), peaks[name]) for name, _ in paths]
    cpu = {name: statistics.median(cpus[name]) for name, _ in paths}
    reference = results[0][1]
    # The quoted dialects hold the same values: every one must give the same figures. (Past
    # 1M rows the files repeat the 1M files' rows: checked there, at a tenth of the time.)
    paths_checked = paths[1:] if rows <= 1_000_000 else []
    figures = {name: _figures(python, path) for name, path in paths_checked}
    if len({json.dumps(f, sort_keys=True) for f in figures.values()}) > 1:
        raise SystemExit(f"the dialects disagree: {figures}")
    if figures:
        print(f"every quoted dialect: {json.dumps(next(iter(figures.values())))}", file=sys.stderr)
    head = ("rows", "dialect", "rows/s", "x ref", "CPU s", "CPU x ref", "peak MB")
    print("| {:>11} | {:<34} | {:>12} | {:>5} | {:>6} | {:>9} | {:>7} |".format(*head))
    print(f"| {'-' * 11}: | {'-' * 34} | {'-' * 12}: | {'-' * 5}: | {'-' * 6}: | {'-' * 9}: "
          f"| {'-' * 7}: |")  # fmt: skip
    reference_cpu = cpu[results[0][0]]
    for name, wall, rss in results:
        print(
            f"| {rows:>11,} | {name:<34} | {rows / wall:>12,.0f} | {reference / wall:>5.2f} "
            f"| {cpu[name]:>6.2f} | {reference_cpu / cpu[name]:>9.2f} | {rss:>7.0f} |",
            flush=True,
        )
    print(file=sys.stderr)
    return results


# --------------------------------------------------------------------------------------------
# The benchmark: whole processes, timed from outside, peak RSS from the kernel (wait4).

BASELINE_READ = """
import csv, sys
path = sys.argv[1]
accepted, rejected, seen = 0, 0, set()
with open(path, newline="", encoding="utf-8", errors="replace") as handle:
    rows = csv.reader(handle)
    next(rows)
    for row in rows:
        if not row:
            continue
        raw = row[0]
"""
BASELINES = {
    # The tutorial's check: fast, and wrong both ways (+10000000000 passes, (415) 555-2671 fails).
    "csv + E.164 regex": "import re\nE164 = re.compile(r'^\\+[1-9]\\d{1,14}$')\n"
    + BASELINE_READ
    + """        if E164.match(raw):
            seen.add(raw)
        else:
            rejected += 1
print(len(seen), rejected)
""",
    "csv + phonenumbers": "import phonenumbers as pn\n"
    + BASELINE_READ
    + """        try:
            number = pn.parse(raw, "US")
        except pn.NumberParseException:
            rejected += 1
            continue
        if pn.is_valid_number(number):
            seen.add(pn.format_number(number, pn.PhoneNumberFormat.E164))
        else:
            rejected += 1
print(len(seen), rejected)
""",
}
BASELINES["csv + rphonenumbers"] = BASELINES["csv + phonenumbers"].replace(
    "import phonenumbers as pn", "import rphonenumbers as pn"
)


def timed(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one child process run to completion.

    The peak RSS comes from GNU time wrapped around the command where it exists: a child's
    ru_maxrss from wait4 also counts the pages of the (possibly large) process that spawned it.
    """
    import os
    import subprocess
    import tempfile
    import time

    gnu_time = "/usr/bin/time"
    with tempfile.NamedTemporaryFile("r") as report:
        wrapped = [gnu_time, "-f", "%M", "-o", report.name, *command]
        use_time = os.path.exists(gnu_time)
        start = time.perf_counter()
        child = subprocess.Popen(
            wrapped if use_time else command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        stderr = child.stderr.read().decode() if child.stderr else ""
        if child.returncode != 0:
            raise SystemExit(f"{command[:4]} failed ({child.returncode}): {stderr.strip()}")
        lines = report.read().split()
        kilobytes = int(lines[-1]) if use_time and lines else usage.ru_maxrss
    return wall, kilobytes / 1024


def measure(command: list[str], runs: int) -> tuple[float, float]:
    """Median wall time and the largest peak RSS over `runs` runs."""
    import statistics

    results = [timed(command) for _ in range(runs)]
    return statistics.median(wall for wall, _ in results), max(rss for _, rss in results)


def differential(count: int, seed: int = 20261122) -> None:
    """Fast path against phonenumbers (parse + is_valid_number + E.164) on `count` values."""
    import phonenumbers as pn

    from dncsync.columnar.phones import normalize_column
    from dncsync.model import Strictness

    values = list(messy_values(seed, count))
    wrong = 0
    for start in range(0, count, 100_000):
        chunk = values[start : start + 100_000]
        column = normalize_column(chunk, "US", Strictness.VALID)
        fast: dict[int, str | None] = {row: None for row in range(len(chunk))}
        for row, key in zip(column.accepted.tolist(), column.keys.tolist(), strict=True):
            fast[row] = f"+{key}"
        for row, raw in enumerate(chunk):
            try:
                number = pn.parse(raw, "US")
                expected = (
                    pn.format_number(number, pn.PhoneNumberFormat.E164)
                    if pn.is_valid_number(number)
                    else None
                )
            except pn.NumberParseException:
                expected = None
            if fast[row] != expected:
                wrong += 1
                print(f"MISMATCH {raw!r}: fast {fast[row]} phonenumbers {expected}")
    print(f"differential: {count:,} values (seed {seed}), {wrong} mismatches")


def _validate(python: str, source: str, out: Path) -> list[str]:
    """The timed dncsync command: the whole validate run, writing entries and rejects."""
    return [
        python, "-m", "dncsync", "validate", source, "--format", "json",
        "--output", str(out / "entries.csv"), "--rejects", str(out / "rejects.csv"),
    ]  # fmt: skip


def _s3_rows(python: str, path: Path, rows: int, out: Path, runs: int) -> tuple[float, float]:
    """dncsync validate on the same file served by moto's S3 server on a loopback port."""
    import os

    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        env = {
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": f"http://{host}:{port}",
        }
        client = boto3.client(
            "s3",
            endpoint_url=env["AWS_ENDPOINT_URL"],
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
            region_name="us-east-1",
        )
        client.create_bucket(Bucket="bench")
        client.upload_file(str(path), "bench", path.name)
        saved = {key: os.environ.get(key) for key in env}
        os.environ.update(env)
        try:
            return measure(_validate(python, f"s3://bench/{path.name}", out), runs)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    finally:
        server.stop()


def _byte_compile() -> None:
    """Compile dncsync's modules as `pip install` does, so no run pays for compiling them.

    An editable install run with PYTHONDONTWRITEBYTECODE=1 (as here) would otherwise compile
    every dncsync module in every timed process.
    """
    import compileall

    import dncsync

    compileall.compile_dir(Path(dncsync.__file__).parent, quiet=1)


def main() -> None:
    """Write the messy files, run every contender on them, print one table."""
    import argparse
    import logging
    import sys

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--runs", type=int, default=5, help="runs per contender (median)")
    parser.add_argument(
        "--baseline-runs", type=int, default=None, help="runs for the per-row baselines"
    )
    parser.add_argument("--skip", nargs="*", default=[], help="contenders to leave out")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    parser.add_argument("--memory-check", action="store_true", help="1M rows vs the same x5")
    parser.add_argument(
        "--unique",
        type=int,
        nargs="*",
        default=[],
        help="also run dncsync on N rows of distinct numbers (no repeats): peak RSS",
    )
    parser.add_argument("--s3", action="store_true", help="also read the files from moto's S3")
    parser.add_argument(
        "--differential", type=int, default=0, help="compare verdicts on N messy values and exit"
    )
    parser.add_argument(
        "--dialects", action="store_true", help="the CSV dialect matrix at each --rows, and exit"
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.differential:
        differential(args.differential)
        return
    python = sys.executable
    if args.dialects:
        _byte_compile()
        for rows in args.rows:
            dialect_matrix(python, rows, args.runs, args.out)
        return
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server: no request lines
    _byte_compile()
    table: list[tuple[int, str, float, float, float]] = []

    def record(rows: int, name: str, wall: float, rss: float) -> None:
        table.append((rows, name, rows / wall, wall, rss))
        print(f"  {rows:>11,}  {name:<34} {rows / wall:>12,.0f} rows/s", file=sys.stderr)

    if args.memory_check:
        import shutil

        once = args.out / "unique-1m.csv"
        write_csv(once, 1_000_000, seed=3, repeats=0.0)
        five = args.out / "unique-1m-x5.csv"
        with five.open("wb") as out:
            for copy in range(5):
                with once.open("rb") as source:
                    if copy:
                        source.readline()  # the header once
                    shutil.copyfileobj(source, out)
        for path, rows in ((once, 1_000_000), (five, 5_000_000)):
            wall, rss = measure([python, "-m", "dncsync", "validate", str(path)], 1)
            record(rows, "dncsync validate (1M unique)", wall, rss)
    for rows in args.rows:
        path = args.out / f"messy-{rows}.csv"
        if not path.exists():
            write_csv(path, rows)
        contenders = {"dncsync validate": _validate(python, str(path), args.out)}
        contenders |= {name: [python, "-c", code, str(path)] for name, code in BASELINES.items()}
        for name, command in contenders.items():
            if name in args.skip:
                continue
            runs = args.runs if name == "dncsync validate" or "regex" in name else None
            wall, rss = measure(command, runs or args.baseline_runs or args.runs)
            record(rows, name, wall, rss)
        if args.s3:
            wall, rss = _s3_rows(python, path, rows, args.out, args.runs)
            record(rows, "dncsync validate (S3, moto)", wall, rss)
    for rows in args.unique:
        path = args.out / f"unique-{rows}.csv"
        if not path.exists():
            write_csv(path, rows, seed=3, repeats=0.0)
        wall, rss = measure(_validate(python, str(path), args.out), 1)
        record(rows, "dncsync validate (distinct numbers)", wall, rss)
    head = ("rows", "contender", "rows/s", "wall s", "peak RSS MB")
    print("| {:>11} | {:<34} | {:>12} | {:>8} | {:>11} |".format(*head))
    print(f"| {'-' * 11}: | {'-' * 34} | {'-' * 12}: | {'-' * 8}: | {'-' * 11}: |")
    for rows, name, rate, wall, rss in table:
        print(f"| {rows:>11,} | {name:<34} | {rate:>12,.0f} | {wall:>8.2f} | {rss:>11.0f} |")


if __name__ == "__main__":
    main()
