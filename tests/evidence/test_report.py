"""Run reports: the accounting adds up, numbers are masked, every format says the same thing."""

from __future__ import annotations

import re
import stat
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest

from dncsync.audit import AuditSeal, RunFiles
from dncsync.model import Accounting, Entry, ExpirationPolicy, Reason, SourceInfo
from dncsync.plan import Plan, Write
from dncsync.report import (
    BatchStatus,
    ReportFormat,
    RunReport,
    RunReportBuilder,
    RunStatus,
    VerificationStatus,
    dumps,
    load_report,
    loads,
    render,
    verdict,
    write_reports,
)

START = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
FULL_NUMBER = re.compile(r"\+?\d{10,15}(?![\d*])")


@pytest.fixture
def sample(build_sample: Callable[[str], RunReport]) -> Callable[..., RunReport]:
    def make(scenario: str = "partial") -> RunReport:
        return build_sample(scenario)

    return make


def builder() -> RunReportBuilder:
    b = RunReportBuilder("run-1", started_at=START, config_digest="c" * 64, version="9.9.9")
    b.set_accounting(
        Accounting(rows=10, accepted=7, duplicates=2, rejected=1, values=10, rows_with_value=10)
    )
    return b


def entry(phone: str, collected: date | None, reason: Reason = Reason.CUSTOMER_REQUESTED) -> Entry:
    return Entry(phone, reason, ExpirationPolicy.NEVER, None, collected, "optouts")


@pytest.mark.parametrize("scenario", ["partial", "success"])
def test_sample_reports_add_up(scenario: str, sample: Callable[..., RunReport]) -> None:
    report = sample(scenario)
    assert report.accounting.balanced
    for target in report.targets:
        push = target.push
        assert push.numbers_sent == push.numbers_acknowledged + push.numbers_failed
        assert push.numbers_failed == sum(f.count for f in push.failures)
        assert push.batches_sent == len(push.batches)


def test_json_round_trips_exactly(sample: Callable[..., RunReport]) -> None:
    report = sample()
    assert loads(dumps(report)) == report


def test_json_shows_the_derived_figures(sample: Callable[..., RunReport]) -> None:
    text = dumps(sample())
    assert '"balanced": true' in text
    assert '"schema": "dncsync.run-report/1"' in text


def test_loads_refuses_other_json() -> None:
    with pytest.raises(ValueError, match="not a dncsync run report"):
        loads('{"hello": 1}')


@pytest.mark.parametrize("fmt", list(ReportFormat))
def test_no_full_phone_number_in_any_format(fmt: ReportFormat) -> None:
    b = builder()
    target = b.target("g", platform="genesys", list_id="L1", mode="mirror")
    plan = Plan(
        adds=[Write("+14155552671", None, None)],
        removes=["+14155552672"],
        expiries=["+14155552673"],
    )
    target.set_plan(plan)
    target.record_batch(
        action="add",
        count=3,
        acknowledged=1,
        attempts=2,
        started_at=START,
        duration_seconds=0.5,
        failures=[
            ("+14155552674", "InvalidPhoneNumber", "number +14155552674 is invalid"),
            ("+14155552675", "bad.request", "4155552675 rejected; token=abcdefabcdef"),
        ],
    )
    target.note_pushed([entry("+14155552676", date(2026, 10, 1))], START.date())
    b.warn("custom", "look at 4155552677 please", target="g")
    b.fail("Bearer eyJhbGciOiJIUzI1NiJ9.x.y refused for +14155552678")
    text = render(b.build(START + timedelta(seconds=5)), fmt)
    assert not FULL_NUMBER.search(text), FULL_NUMBER.search(text)
    assert "eyJhbGciOiJIUzI1NiJ9" not in text
    assert "abcdefabcdef" not in text
    assert "+1415555****" in text


def test_batches_and_failures_are_counted() -> None:
    b = builder()
    t = b.target("cx", platform="cxone", list_id="7", mode="upsert")
    t.record_batch(
        action="add", count=100, acknowledged=100, attempts=1, started_at=START,
        duration_seconds=1.0, correlation_id="c-1",
    )  # fmt: skip
    t.record_batch(
        action="add", count=100, acknowledged=98, attempts=3, started_at=START,
        duration_seconds=2.0, failures=[("+14155550001", "InvalidPhoneNumber", "")],
        error_code="partial",
    )  # fmt: skip
    t.record_batch(
        action="remove", count=50, acknowledged=0, attempts=1, started_at=START,
        duration_seconds=0.2, http_status=400, error_code="bad.request",
    )  # fmt: skip
    t.record_wait(START + timedelta(seconds=1), 2.5, status=429, batch=2)
    t.record_wait(START + timedelta(seconds=4), 1.0, status=503, batch=2)
    push = b.build().target("cx").push
    assert [x.status for x in push.batches] == [
        BatchStatus.ACKNOWLEDGED,
        BatchStatus.PARTIAL,
        BatchStatus.FAILED,
    ]
    assert (push.numbers_sent, push.numbers_acknowledged, push.numbers_failed) == (250, 198, 52)
    assert (push.batches_acknowledged, push.batches_failed) == (1, 2)
    assert (push.requests, push.retries, push.rate_limited) == (5, 2, 1)
    assert push.waited_seconds == pytest.approx(3.5)
    # One failure listed by number; one not listed (under the batch error); a whole batch.
    assert push.failure_codes == {"bad.request": 50, "InvalidPhoneNumber": 1, "partial": 1}
    assert sum(f.count for f in push.failures) == push.numbers_failed
    assert push.throughput_per_second == pytest.approx(198 / 2.0)


def test_status_is_the_worst_of_the_targets() -> None:
    b = builder()
    b.target("ok")
    assert b.build().status is RunStatus.SUCCESS
    b.target("partly").record_batch(
        action="add", count=2, acknowledged=1, attempts=1, started_at=START,
        duration_seconds=0.1,
    )  # fmt: skip
    assert b.build().status is RunStatus.PARTIAL
    b.target("stopped").stop("would remove 40% of the list (cap 1%); --allow-mass-removal")
    report = b.build()
    assert report.status is RunStatus.SAFETY_STOP
    assert report.target("stopped").stop_reason is not None
    b.fail("the configuration is invalid")
    assert b.build().status is RunStatus.FAILED


def test_a_stale_registry_source_is_a_warning() -> None:
    b = builder()
    for name, registry_date in (("fresh", date(2026, 10, 20)), ("stale", date(2026, 10, 19))):
        b.add_source(SourceInfo(name, f"/{name}.txt", "0" * 64, 10, 1, "registry", registry_date))
    b.add_source(SourceInfo("file", "/f.csv", "0" * 64, 10, 1))
    report = b.build()
    assert [(f.source, f.age_days, f.stale) for f in report.freshness] == [
        ("fresh", 31, False),
        ("stale", 32, True),
    ]
    stale = [w for w in report.warnings if w.code == "registry_stale"]
    assert len(stale) == 1
    assert "'stale'" in stale[0].message


def test_entries_older_than_ten_business_days_are_flagged() -> None:
    b = builder()
    t = b.target("g")
    pushed = date(2026, 12, 2)
    t.note_pushed(
        [
            entry("+14155550001", date(2026, 11, 16)),  # 11 business days: late
            entry("+14155550002", date(2026, 11, 17)),  # 10: on time
            entry("+14155550003", None),  # no date: not checked
            entry("+14155550004", date(2025, 1, 2), Reason.NATIONAL),
        ],
        pushed,
    )
    late = b.build().target("g").timeliness
    assert (late.checked, late.late) == (3, 2)
    assert late.late_by_reason == {"CUSTOMER_REQUESTED": 1, "NATIONAL": 1}
    assert late.sample[0].phone == "+1415555****"
    assert late.sample[0].business_days == 11
    assert any(w.code == "late_entries" for w in b.build().warnings)


def test_an_unbalanced_accounting_is_flagged_not_hidden() -> None:
    b = builder()
    b.set_accounting(
        Accounting(rows=10, accepted=7, duplicates=2, rejected=0, values=10, rows_with_value=10)
    )
    report = b.build()
    assert not report.accounting.balanced
    assert report.warnings[0].code == "accounting_unbalanced"
    assert "DOES NOT ADD UP" in render(report, "text")


def test_verdicts_read_as_a_person_would_say_them(sample: Callable[..., RunReport]) -> None:
    assert verdict(sample("partial")).headline == "Partly failed — action needed"
    assert verdict(sample("success")).headline == "Success"
    b = builder()
    b.target("g").set_verification(VerificationStatus.DRIFT, missing=3)
    assert "differs" in verdict(b.build()).headline


def test_reports_are_written_owner_only_beside_the_audit_log(tmp_path: Path) -> None:
    files = RunFiles.for_run(tmp_path / "runs", "run-1")
    b = builder()
    b.set_audit(str(files.audit), AuditSeal("a" * 64, 12))
    report = b.build(START)
    json_path, html_path = write_reports(report, files)
    for path in (json_path, html_path):
        assert path.parent == files.audit.parent
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_report(json_path) == report


class _Assets(HTMLParser):
    """Collects every attribute that could load something from elsewhere."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        for name, value in attrs:
            if name in {"src", "href", "xlink:href", "action", "data"} and value:
                self.links.append(value)


def test_html_is_self_contained(sample: Callable[..., RunReport]) -> None:
    page = render(sample(), "html")
    parser = _Assets()
    parser.feed(page)
    assert parser.links == []
    assert "script" not in parser.tags
    assert "link" not in parser.tags
    assert "img" not in parser.tags
    assert "default-src 'none'" in page
    assert "@import" not in page
    assert "url(http" not in page
    assert "<svg" in page  # the timeline chart is inline


def test_html_escapes_what_platforms_send() -> None:
    b = builder()
    b.target("<b>x</b>").record_batch(
        action="add", count=1, acknowledged=0, attempts=1, started_at=START,
        duration_seconds=0.1, failures=[("+14155550001", "<script>", "<img src=x onerror=1>")],
    )  # fmt: skip
    page = render(b.build(), "html")
    assert "<script>" not in page
    assert "<img" not in page
    assert "<b>x</b>" not in page
    assert "&lt;script&gt;" in page


def test_text_report_has_the_key_facts(sample: Callable[..., RunReport]) -> None:
    text = render(sample(), "text")
    for fact in (
        "20261120T140000Z-7f3a9c",
        "rows 5,215 = with a value 5,215 + filtered 0 + without a value 0",
        "values 5,215 = accepted 5,000 + duplicates 150 + rejected 65   adds up",
        "sha256 9f2c4d1e",
        "S3 version 3HL4kqtJlcpXroDTDmJ-rmSpXd3dIbrH",
        "registry dated 2026-10-05",
        "InvalidPhoneNumber",
        "verify   drift",
    ):
        assert fact in text


def test_a_targets_batch_result_is_recorded_as_is() -> None:
    from dncsync.errors import Failure
    from dncsync.targets.base import BatchResult, WriteBatch

    batch = WriteBatch("add", ("+14155550001", "+14155550002", "+14155550003"), date(2027, 1, 1))
    result = BatchResult.of(batch, 0.0)
    invalid = Failure("InvalidPhoneNumber", "Phone number is not valid")
    result = BatchResult(
        action=result.action,
        count=result.count,
        expires=result.expires,
        acknowledged=["+14155550001"],
        failed={"+14155550002": invalid, "+14155550003": invalid},
        correlation_ids=["corr-1", "corr-2"],
        requests=1,
        attempts=3,
        rate_limited=2,
        waited_seconds=4.5,
        duration_seconds=5.25,
        status=200,
    )
    b = builder()
    b.target("cx", platform="cxone").record_result(result, started_at=START)
    push = b.build().target("cx").push
    (record,) = push.batches
    assert (record.count, record.failed, record.attempts) == (3, 2, 3)
    assert record.status is BatchStatus.PARTIAL
    assert record.correlation_id == "corr-2"
    assert record.error_code == "InvalidPhoneNumber"
    assert record.expires == date(2027, 1, 1)
    assert (push.rate_limited, push.waited_seconds, push.retries) == (2, 4.5, 2)
    assert [f.phone for f in push.failures] == ["+1415555****", "+1415555****"]
    assert push.failures[0].message == "Phone number is not valid"


def test_skipped_numbers_and_batches_paired_by_position_are_reported_apart() -> None:
    from dncsync.errors import Failure
    from dncsync.targets.base import BatchResult

    skipped = Failure("dncsync.international_skipped", "not sent (international = skip)")
    mixed = BatchResult(
        count=3,
        acknowledged=["+14155550001", "+14155550002"],
        skipped={"+493090182011": skipped},
        requests=1,
        attempts=1,
        status=200,
        paired_by_position=True,
    )
    only_skipped = BatchResult(count=1, skipped={"+442079460123": skipped})
    b = builder()
    target = b.target("cx", platform="cxone")
    assert target.record_result(mixed, started_at=START) is not None
    assert target.record_result(only_skipped, started_at=START) is None  # nothing was sent
    report = b.build()
    push = report.target("cx").push
    (record,) = push.batches
    assert (record.count, record.skipped, record.failed) == (2, 1, 0)
    assert record.status is BatchStatus.ACKNOWLEDGED
    assert record.paired_by_position
    assert (push.numbers_sent, push.numbers_acknowledged, push.numbers_failed) == (2, 2, 0)
    assert push.numbers_skipped == 2
    assert push.skipped_codes == {"dncsync.international_skipped": 2}
    assert push.batches_paired_by_position == 1
    assert report.status is RunStatus.SUCCESS  # skipped numbers alone are no failure
    assert {"numbers_skipped", "paired_by_position"} <= {w.code for w in report.warnings}
    assert "paired by position" in render(report, "text")
    assert "paired by position" in render(report, "html")
    assert loads(dumps(report)) == report
