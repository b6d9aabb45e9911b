"""Logs carry the run id, never a full phone number, never a secret."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import structlog
from hypothesis import given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs

from dncsync.audit import AuditLog, read_events
from dncsync.logs import (
    LogFormat,
    configure_logging,
    get_logger,
    mask_phone,
    mask_text,
    recording,
    redact_text,
    register_secret,
    scrub,
    shared_processors,
)

FULL_NUMBER = re.compile(r"\d{10,}")


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("+14155552671", "+1415555****"),
        ("+4930901820", "+493090****"),
        ("+44 20 7946 0958", "+44 20 7946 ****"),
        ("+1 (415) 555-2671", "+1 (415) 555-****"),
        ("4155552671", "415555****"),
        ("14155552671", "1415555****"),
        ("0114930901820", "011493090****"),
        ("(415) 555-2671", "(415) 555-****"),
        ("415-555-2671", "415-555-****"),
        ("415.555.2671", "415.555.****"),
        ("call 4155552671 now", "call 415555**** now"),
        ("numbers: +14155552671,+14155552672", "numbers: +1415555****,+1415555****"),
    ],
)
def test_phone_numbers_keep_their_prefix_and_lose_the_last_four_digits(
    text: str, masked: str
) -> None:
    assert mask_text(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-20T14:00:00.123456+00:00",  # timestamps
        "2026-11-20 14:00:00",
        "9f2c4d1e8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d",  # a SHA-256
        "0123456789012345678901234567890123456789",  # a long digit digest
        "3f2b8a1c-6d4e-4f1a-9b2c-7d8e9f0a1b2c",  # a UUID
        "batch 12 of 500 numbers took 0.4135552671 s",  # a float
        "https://api.mypurecloud.com/api/v2/outbound/dnclists/abc/phonenumbers",
        "1.2.3",
    ],
)
def test_text_that_is_not_a_phone_number_is_left_alone(text: str) -> None:
    assert mask_text(text) == text


def test_mask_phone_masks_the_last_four_digits() -> None:
    assert mask_phone("+14155552671") == "+1415555****"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("token", "eyJhbGciOi.secret-token"),
        ("access_token", "abc123abc123"),
        ("refresh_token", "r-123456"),
        ("client_secret", "s3cr3t-value"),
        ("CLIENT_SECRET", "s3cr3t-value"),
        ("password", "hunter22"),
        ("Authorization", "Basic Zm9vOmJhcg=="),
        ("access_key_secret", "ak-secret-1"),
        ("secret", "x-secret-x"),
    ],
)
def test_secret_keys_are_redacted(key: str, value: str) -> None:
    cleaned = scrub({"event": "dnc.token_fetched", key: value})
    assert cleaned[key] == "***"
    assert value not in json.dumps(cleaned)


def test_secrets_inside_values_are_redacted() -> None:
    text = (
        "GET https://user:pw@host/x?access_token=abc.def&page=2 "
        "headers={'Authorization': 'Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig'} "
        "url=https://bucket.s3/x?X-Amz-Signature=deadbeef&X-Amz-Credential=AKIA/2026"
    )
    cleaned = redact_text(text)
    for secret in ("abc.def", "eyJhbGciOiJIUzI1NiJ9", "deadbeef", "AKIA/2026", "user:pw"):
        assert secret not in cleaned
    assert "page=2" in cleaned
    assert "Bearer ***" in cleaned


def test_registered_secret_values_are_scrubbed_wherever_they_appear() -> None:
    register_secret("client-secret-value-42", None, "")
    cleaned = scrub({"event": "oops", "detail": {"body": "id=x&secret=client-secret-value-42"}})
    assert "client-secret-value-42" not in json.dumps(cleaned)


def test_nested_values_and_keys_are_masked() -> None:
    cleaned = scrub(
        {
            "event": "dnc.batch_failed",
            "failures": [{"phone": "+14155552671", "error": "InvalidPhoneNumber"}],
            "by_number": {"+14155552672": "refused"},
            "phoneNumber": 4155552673,  # CXone sends integers
            "count": 4155552674,  # a count is not a number to mask (keyed as a count)
        }
    )
    text = json.dumps(cleaned)
    assert "+1415555****" in text
    assert "2671" not in text
    assert "2672" not in text
    assert "2673" not in text
    assert cleaned["count"] == 4155552674


def test_every_event_carries_the_run_id_and_is_masked() -> None:
    configure_logging(LogFormat.JSON, stream=io.StringIO())
    log = get_logger("test")
    with capture_logs(processors=shared_processors()) as events, recording("run-1"):
        log.info("dnc.source_read", uri="s3://b/k.csv", sample="+14155552671")
        log.warning("dnc.batch_retry", attempt=2, token="t0k3n-value")
    assert [e["run_id"] for e in events] == ["run-1", "run-1"]
    assert events[0]["sample"] == "+1415555****"
    assert events[1]["token"] == "***"
    assert all("timestamp" in e for e in events)


def test_json_console_output_has_no_full_numbers_or_secrets() -> None:
    out = io.StringIO()
    configure_logging(LogFormat.JSON, stream=out)
    log = structlog.get_logger()
    with recording("run-2"):
        log.info("dnc.batch_pushed", phones=["+14155552671", "+14155552672"])
        log.error("dnc.auth_failed", client_secret="abcdef123", body="Bearer abc.def.ghi")
        try:
            raise ValueError("refused 4155552671")
        except ValueError:
            log.exception("dnc.crash")
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(lines) == 3
    assert all(line["run_id"] == "run-2" for line in lines)
    text = out.getvalue()
    assert not FULL_NUMBER.search(text)
    assert "abcdef123" not in text
    assert "abc.def.ghi" not in text
    assert "refused 415555****" in text


def test_console_format_is_masked_too() -> None:
    out = io.StringIO()
    configure_logging(LogFormat.CONSOLE, stream=out)
    with recording("run-3"):
        structlog.get_logger().info("dnc.plan", sample="+14155552671")
    assert "+1415555****" in out.getvalue()
    assert "run-3" in out.getvalue()
    assert not FULL_NUMBER.search(out.getvalue())


def test_audit_file_keeps_events_the_console_level_hides(tmp_path: Path) -> None:
    out = io.StringIO()
    configure_logging(LogFormat.JSON, stream=out, level="warning")
    audit = AuditLog.create(tmp_path / "audit.jsonl")
    log = structlog.get_logger()
    with recording("run-4", audit):
        log.info("dnc.run_started")
        log.warning("dnc.registry_stale", age_days=45)
    log.info("dnc.after_the_run")  # not recorded: the run's block has ended
    seal = audit.close()
    events = read_events(tmp_path / "audit.jsonl")
    assert [e["event"] for e in events] == ["dnc.run_started", "dnc.registry_stale"]
    assert all(e["run_id"] == "run-4" for e in events)
    assert seal.lines == 2
    printed = [json.loads(line)["event"] for line in out.getvalue().splitlines()]
    assert printed == ["dnc.registry_stale"]


def test_quiet_prints_nothing_but_still_audits(tmp_path: Path) -> None:
    out = io.StringIO()
    configure_logging(LogFormat.CONSOLE, stream=out, quiet=True)
    with AuditLog.create(tmp_path / "a.jsonl") as audit, recording("run-5", audit):
        structlog.get_logger().error("dnc.failed", phone="+14155552671")
    assert out.getvalue() == ""
    assert read_events(tmp_path / "a.jsonl")[0]["phone"] == "+1415555****"


@settings(max_examples=200, derandomize=True)
@given(text=st.text(alphabet="+0123456789 ()-.*abc:T", max_size=40))
def test_masking_twice_changes_nothing(text: str) -> None:
    once = mask_text(text)
    assert mask_text(once) == once


_LATE_IMPORT = """
import sys
from dncsync.logs import LogFormat, configure_logging
configure_logging(LogFormat.JSON, level="info")
assert "structlog" not in sys.modules, "configuring alone loads structlog"
import dncsync.run.sync  # a module that logs: loads structlog, which applies the setup
dncsync.run.sync.log.info("batch sent", phone="+14155552671")
"""


@pytest.mark.parametrize("order", ["configure first", "import first"])
def test_setup_applies_whichever_comes_first_configure_or_import(order: str) -> None:
    """structlog loads lazily (start-up time); the setup must reach it either way."""
    script = _LATE_IMPORT
    if order == "import first":
        script = "import dncsync.run.sync\n" + script.replace(
            'assert "structlog" not in sys.modules, "configuring alone loads structlog"', ""
        )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    event = json.loads(done.stderr.strip().splitlines()[-1])
    assert event["event"] == "batch sent"
    assert event["phone"] == "+1415555****"
    assert done.stdout == ""
