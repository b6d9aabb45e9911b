"""Write a realistic sample run report (HTML, JSON or text), built the way the engine builds one.

Used by scripts/screenshot_report.sh and the report tests; seeded, so the output is stable.

    python scripts/sample_report.py --format html --output /tmp/report.html [--scenario partial]
"""

from __future__ import annotations

import argparse
import random
import sys
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from dncsync.model import Accounting, Entry, ExpirationPolicy, Reason, SourceInfo
from dncsync.report import (
    RunReport,
    RunReportBuilder,
    VerificationStatus,
    WarningsReference,
    render,
)

START = datetime(2026, 11, 20, 14, 0, 0, tzinfo=UTC)


def _phone(rng: random.Random) -> str:
    return f"+1415{rng.randrange(2_000_000, 9_999_999):07d}"


def _push(
    builder: RunReportBuilder,
    name: str,
    *,
    platform: str,
    list_id: str,
    mode: str,
    numbers: int,
    batch_size: int,
    concurrency: int,
    start: datetime,
    rng: random.Random,
    rejected_records: int = 0,
) -> datetime:
    """Simulate one target's push: batches, a 429 storm with waits, a few retries."""
    target = builder.target(name, platform=platform, list_id=list_id, mode=mode)
    batches = -(-numbers // batch_size)
    lanes = [start + timedelta(seconds=0.2 * i) for i in range(concurrency)]
    storm_at = batches // 3
    for index in range(batches):
        lane = min(range(concurrency), key=lambda i: lanes[i])
        begin = lanes[lane]
        count = min(batch_size, numbers - index * batch_size)
        attempts = 1
        if storm_at <= index < storm_at + 2:
            # The platform said 429 with Retry-After: wait, then the retry goes through.
            wait = 2.0 + index - storm_at
            target.record_wait(begin + timedelta(seconds=0.1), wait, status=429, batch=index + 1)
            attempts = 2
            duration = 0.1 + wait + rng.uniform(0.3, 0.6)
        elif index == batches - 2:
            target.record_wait(begin + timedelta(seconds=0.3), 0.8, status=503, batch=index + 1)
            attempts = 2
            duration = 1.1 + rng.uniform(0.3, 0.6)
        else:
            duration = rng.uniform(0.35, 0.75)
        failures = []
        if rejected_records and index == batches - 1:
            failures = [
                (_phone(rng), "InvalidPhoneNumber", "Phone number is not valid for the group")
                for _ in range(rejected_records)
            ]
        target.record_batch(
            action="add",
            count=count,
            acknowledged=count - len(failures),
            attempts=attempts,
            started_at=begin,
            duration_seconds=duration,
            correlation_id=f"{rng.getrandbits(128):032x}",
            http_status=200 if platform == "cxone" else 204,
            failures=failures,
        )
        lanes[lane] = begin + timedelta(seconds=duration + 0.05)
    return max(lanes)


def build_sample(scenario: str = "partial") -> RunReport:
    """A two-target run: Genesys in upsert mode, CXone in mirror mode."""
    rng = random.Random(20261120)
    builder = RunReportBuilder(
        "20261120T140000Z-7f3a9c",
        started_at=START,
        config_digest="3b9e61c0d4f2a8e7b15c9d0e6f3a2b18c7d4e5f60a1b2c3d4e5f6a7b8c9d0e1f",
        version="0.1.0",
    )
    builder.add_source(
        SourceInfo(
            name="optouts",
            uri="s3://compliance/dnc/optouts.csv",
            sha256="9f2c4d1e8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d",
            bytes=148_223,
            rows=4_215,
            s3_version_id="3HL4kqtJlcpXroDTDmJ-rmSpXd3dIbrH",
            s3_etag='"5d41402abc4b2a76b9719d911017c592"',
        )
    )
    builder.add_source(
        SourceInfo(
            name="national-registry",
            uri="/srv/dnc/registry/415.txt",
            sha256="0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9",
            bytes=12_000,
            rows=1_000,
            kind="registry",
            registry_date=date(2026, 10, 5) if scenario == "partial" else date(2026, 11, 1),
        )
    )
    accounting = Accounting(
        rows=5_215,
        rows_with_value=5_215,
        values=5_215,
        accepted=5_000,
        duplicates=150,
        rejected=65,
        blank_lines=3,
        warnings={"unmapped_reason": 12} if scenario == "partial" else {},
        reject_reasons={"not_a_number": 41, "too_short": 17, "possible_not_valid": 7},
    )
    builder.set_accounting(accounting)  # both targets sync from both sources: the same figures
    genesys = builder.target(
        "genesys-main", platform="genesys", list_id="8d7e2f41-6c1a", mode="upsert"
    )
    genesys.set_accounting(accounting, ("optouts", "national-registry"))
    genesys.set_plan_counts(adds=5_000, unchanged=0, held_before=0)
    end = _push(
        builder,
        "genesys-main",
        platform="genesys",
        list_id="8d7e2f41-6c1a",
        mode="upsert",
        numbers=5_000,
        batch_size=500,
        concurrency=2,
        start=START + timedelta(seconds=1.5),
        rng=rng,
    )
    cxone = builder.target("cxone-main", platform="cxone", list_id="1042", mode="mirror")
    cxone.set_accounting(accounting, ("optouts", "national-registry"))
    cxone.set_plan_counts(adds=4_950, removes=12, unchanged=50, held_before=62)
    end_cx = _push(
        builder,
        "cxone-main",
        platform="cxone",
        list_id="1042",
        mode="mirror",
        numbers=4_950,
        batch_size=450,
        concurrency=3,
        start=START + timedelta(seconds=2.0),
        rng=rng,
        rejected_records=3 if scenario == "partial" else 0,
    )
    cxone.record_batch(
        action="remove",
        count=12,
        acknowledged=12,
        attempts=1,
        started_at=end_cx,
        duration_seconds=0.4,
        correlation_id=f"{rng.getrandbits(128):032x}",
        http_status=200,
    )
    pushed_on = (end_cx + timedelta(seconds=1)).date()
    ages = [1, 2, 3, 5, 8] * 30 + ([19] if scenario == "partial" else [])
    entries = [
        Entry(
            _phone(rng),
            Reason.CUSTOMER_REQUESTED,
            ExpirationPolicy.RELATIVE,
            date(2031, 11, 1),
            date(2026, 11, 20) - timedelta(days=rng.choice(ages)),
            "optouts",
        )
        for _ in range(400)
    ]
    for target in (genesys, cxone):
        target.note_pushed(entries, pushed_on)
    finished = max(end, end_cx) + timedelta(seconds=3)
    genesys.set_verification(
        VerificationStatus.MATCH, expected=5_000, actual=5_000, checked_at=finished
    )
    cxone.set_verification(
        VerificationStatus.MATCH if scenario != "partial" else VerificationStatus.DRIFT,
        expected=5_000,
        actual=5_000 if scenario != "partial" else 4_997,
        missing=0 if scenario != "partial" else 3,
        checked_at=finished,
    )
    report = builder.build(finished_at=finished + timedelta(seconds=2))
    if not accounting.warnings:
        return report
    warned = f"dncsync.db.runs/{report.run_id}/warnings.csv"
    return replace(report, warnings_file=WarningsReference(warned, 12))


def main(argv: list[str] | None = None) -> int:
    """Command line: write the sample in one format."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--format", choices=["html", "json", "text"], default="html")
    parser.add_argument("--scenario", choices=["partial", "success"], default="partial")
    parser.add_argument("--output", type=Path)
    args = parser.parse_args(argv)
    text = render(build_sample(args.scenario), args.format)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
