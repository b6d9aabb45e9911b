"""A real sync (the run, emulator over a real socket, faults and 429 storms) leaves evidence
that adds up, verifies, and never carries a full number or a secret."""

from __future__ import annotations

import asyncio
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import stamina
import structlog

from dncsync import config as config_module
from dncsync.audit import RunFiles, verify
from dncsync.demo import create_list_and_group
from dncsync.emulator import (
    DEFAULT_ACCESS_KEY_ID,
    DEFAULT_ACCESS_KEY_SECRET,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_TENANT_ID,
    EmulatorSettings,
    FaultSettings,
    RateLimit,
    run_in_thread,
)
from dncsync.logs import LogFormat, configure_logging, register_secret
from dncsync.outcome import RunResult
from dncsync.report import BatchStatus, RunReport, render
from dncsync.report.evidence import runs_dir_for
from dncsync.run import RunOptions, run_sync

pytestmark = pytest.mark.slow

ENVIRONMENT = {
    "EV_CLIENT_ID": DEFAULT_CLIENT_ID,
    "EV_CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
    "EV_ACCESS_KEY_ID": DEFAULT_ACCESS_KEY_ID,
    "EV_ACCESS_KEY_SECRET": DEFAULT_ACCESS_KEY_SECRET,
}
# Any 10+ digit run not followed by the mask: a full number in some form.
FULL_NUMBER = re.compile(r"(?<![\w.])\+?\d{10,15}(?![\d*\w])")


def write_source(path: Path) -> int:
    """300 rows: US numbers in several forms, duplicates, junk, and three UK numbers."""
    rows = ["phone,reason,date_collected"]
    for n in range(240):
        rows.append(f"(415) 555-{1000 + n:04d},customer request,2026-10-{1 + n % 28:02d}")
    for n in range(30):
        rows.append(f"+1 415 555 {1000 + n:04d},litigator,2026-11-01")  # duplicates
    for junk in ("n/a", "#VALUE!", "12345", "555-0100") * 6 + ("", "", "", ""):
        rows.append(f"{junk},customer request,")
    for n in range(3):
        rows.append(f"+44 20 7946 {n:04d},customer request,2026-11-10")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return len(rows) - 1


@dataclass
class Synced:
    report: RunReport
    files: RunFiles
    console: str
    tokens: list[str]
    rows: int


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Synced:
    """One sync to Genesys and CXone under faults, with the evidence the run leaves."""
    tmp_path = tmp_path_factory.mktemp("evidence")
    monkeypatch = pytest.MonkeyPatch()
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    faults = FaultSettings(
        storm_rate=0.3, storm_length=2, error_rate=0.1, paths=("*phonenumbers*", "*/records")
    )
    settings = EmulatorSettings(
        rate_limit=RateLimit(1_000_000, 60.0), retry_after=0, faults=faults, seed=7,
        export_delay_seconds=0,
    )  # fmt: skip
    console = io.StringIO()
    with run_in_thread(settings) as emulator, stamina.set_testing(True, attempts=30):
        list_id, group_id = asyncio.run(create_list_and_group(emulator.base_url, "evidence"))
        rows = write_source(tmp_path / "optouts.csv")
        config = tmp_path / "dncsync.toml"
        common = 'batch_size = 40\nrequests_per_minute = 60000\nclient_id_env = "EV_CLIENT_ID"\n'
        common += 'client_secret_env = "EV_CLIENT_SECRET"\n'
        config.write_text(
            f"""
[state]
path = "dncsync.db"

[[source]]
name = "optouts"
url = "optouts.csv"

[[target]]
name = "genesys-main"
platform = "genesys"
base_url = "{emulator.base_url}"
dnc_list_id = "{list_id}"
{common}
[[target]]
name = "cxone-main"
platform = "cxone"
base_url = "{emulator.base_url}"
tenant_id = "{DEFAULT_TENANT_ID}"
dnc_group_id = {group_id}
international = "skip"
access_key_id_env = "EV_ACCESS_KEY_ID"
access_key_secret_env = "EV_ACCESS_KEY_SECRET"
{common}""",
            encoding="utf-8",
        )
        parsed, base = config_module.load(config)
        configure_logging(LogFormat.JSON, level="debug", stream=console)
        register_secret(*ENVIRONMENT.values())
        result: RunResult
        result = run_sync(parsed, base, RunOptions(), command="sync")
        evidence = result.evidence
        assert evidence is not None
        files = evidence.files
        assert files == RunFiles.for_run(runs_dir_for(parsed, base), result.run_id)
        tokens = [*emulator.state.genesys_tokens, *emulator.state.cxone_tokens]
    monkeypatch.undo()
    structlog.reset_defaults()
    return Synced(evidence.report, files, console.getvalue(), tokens, rows)


def test_the_report_accounts_for_every_row_and_every_number(synced: Synced) -> None:
    report, rows = synced.report, synced.rows
    accounting = report.accounting
    assert accounting.rows == rows
    assert accounting.balanced
    assert accounting.accepted == 243  # 240 US + 3 UK
    assert accounting.duplicates == 30
    for target in report.targets:
        push = target.push
        assert push.numbers_sent == push.numbers_acknowledged + push.numbers_failed
        assert push.numbers_sent + push.numbers_skipped == target.plan.writes
        assert push.batches_sent == len(push.batches)
        assert all(b.status is BatchStatus.ACKNOWLEDGED for b in push.batches)
        assert push.numbers_failed == 0
    genesys, cxone = report.target("genesys-main"), report.target("cxone-main")
    assert genesys.push.batches_sent == 7
    # CXone with `international = "skip"`: the last batch holds the three UK numbers only;
    # they are skipped, not failed, and the batch sent nothing, so it is no batch record.
    assert cxone.push.batches_sent == 6
    assert cxone.push.numbers_skipped == 3
    assert cxone.push.skipped_codes == {"dncsync.international_skipped": 3}
    assert cxone.push.failures == ()
    assert "numbers_skipped" in {w.code for w in report.warnings}
    assert report.status.value == "success"  # skipped numbers alone do not fail a run
    # The faults met along the way are in the evidence.
    assert genesys.push.rate_limited + cxone.push.rate_limited > 0
    assert genesys.push.retries + cxone.push.retries > 0
    assert all(b.correlation_id for b in genesys.push.batches)
    # Timeliness: every pushed entry carried a date collected.
    assert genesys.timeliness.checked == 243
    assert genesys.timeliness.late > 0  # collected in October, pushed in November


def test_the_audit_log_verifies_against_its_seal(synced: Synced) -> None:
    report, files = synced.report, synced.files
    assert report.audit is not None
    verdict = verify(files.audit, report.audit.final_hash, report.audit.lines)
    assert verdict.ok, verdict.problem
    events = [json.loads(line) for line in files.audit.read_text(encoding="utf-8").splitlines()]
    assert len({e["run_id"] for e in events}) == 1
    names = {e["event"] for e in events}
    assert {"dnc.planned", "dnc.batch_settled", "dnc.run_finished"} <= names


def test_no_full_number_or_secret_anywhere(synced: Synced) -> None:
    files = synced.files
    texts = {
        "audit log": files.audit.read_text(encoding="utf-8"),
        "report.json": files.report_json.read_text(encoding="utf-8"),
        "report.html": files.report_html.read_text(encoding="utf-8"),
        "warnings.csv": files.warnings.read_text(encoding="utf-8"),
        "text report": render(synced.report, "text"),
        "console": synced.console,
    }
    assert synced.tokens, "the emulator issued no token?"
    assert "net.token_fetched" in synced.console  # the console saw the token events
    for where, text in texts.items():
        match = FULL_NUMBER.search(text)
        assert match is None, f"{where}: {match and match.group(0)}"
        for secret in (*ENVIRONMENT.values(), *synced.tokens):
            assert secret not in text, f"{where} carries a credential"
    assert "+1415555****" in texts["audit log"]
