"""`dncsync runs`, `dncsync report` and `dncsync audit verify` on a real state store."""

from __future__ import annotations

import json
import stat
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dncsync.audit import AuditLog, RunFiles
from dncsync.cli import app
from dncsync.cli._common import main_entry
from dncsync.report import RunReport, write_reports
from dncsync.state import StateStore

CONFIG = """
[state]
path = "state/dncsync.db"

[[target]]
name = "genesys-main"
platform = "genesys"
dnc_list_id = "list-1"

[[target]]
name = "cxone-main"
platform = "cxone"
tenant_id = "t-1"
dnc_group_id = 7
"""

Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    """Run `dncsync ARGS` in-process through the real entry point; returns (code, out, err)."""

    def run(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["dncsync", *args])
        with pytest.raises(SystemExit) as done:
            main_entry(app)
        out, err = capsys.readouterr()
        code = done.value.code
        return (code if isinstance(code, int) else 1), out, err

    return run


def record_run(
    store: StateStore,
    runs_dir: Path,
    run_id: str,
    started: datetime,
    *,
    targets: list[str],
    adds: int,
    removes: int,
    status: str = "success",
    report: RunReport | None = None,
) -> RunFiles:
    """A run the way `sync` records one: history row, sealed audit log, reports."""
    files = RunFiles.for_run(runs_dir, run_id)
    files.create_directory()
    with AuditLog.create(files.audit) as audit:
        for event in ("dnc.run_started", "dnc.planned", "dnc.batch_settled", "dnc.run_finished"):
            audit.append({"event": event, "run_id": run_id, "phone": "+1415555****"})
        seal = audit.close()
    store.run_started(run_id, "sync", started.isoformat(), "d" * 64, targets)
    paths: tuple[Path, Path] | None = write_reports(report, files) if report else None
    store.run_ended(
        run_id,
        ended_at=(started + timedelta(seconds=12.5)).isoformat(),
        status=status,
        summary={"targets": {t: {"adds": adds, "removes": removes} for t in targets}},
        report_path=str(paths[0]) if paths else None,
        html_report_path=str(paths[1]) if paths else None,
        audit_path=str(files.audit),
        audit_hash=seal.final_hash,
        audit_lines=seal.lines,
    )
    return files


@pytest.fixture
def history(tmp_path: Path, build_sample: Callable[[str], RunReport]) -> Path:
    """A config with three recorded runs; returns the config path."""
    config = tmp_path / "dncsync.toml"
    config.write_text(CONFIG, encoding="utf-8")
    runs_dir = tmp_path / "state" / "dncsync.db.runs"
    base = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
    with StateStore(tmp_path / "state" / "dncsync.db") as store:
        record_run(store, runs_dir, "20261120T140000Z-aaaa", base, targets=["genesys-main"],
                   adds=5000, removes=0)  # fmt: skip
        record_run(store, runs_dir, "20261121T140000Z-bbbb", base + timedelta(days=1),
                   targets=["genesys-main", "cxone-main"], adds=50, removes=3, status="partial",
                   report=build_sample("partial"))  # fmt: skip
        record_run(store, runs_dir, "20261122T140000Z-cccc", base + timedelta(days=2),
                   targets=["cxone-main"], adds=0, removes=0)  # fmt: skip
    return config


def test_runs_json_lists_runs_newest_first(cli: Cli, history: Path) -> None:
    code, out, _ = cli("runs", "--config", str(history), "--format", "json")
    assert code == 0
    runs = json.loads(out)
    assert [r["id"] for r in runs] == [
        "20261122T140000Z-cccc",
        "20261121T140000Z-bbbb",
        "20261120T140000Z-aaaa",
    ]
    assert runs[1]["adds"] == 100  # 50 on each of two targets
    assert runs[1]["removes"] == 6
    assert runs[1]["status"] == "partial"
    assert runs[1]["duration_seconds"] == 12.5


def test_runs_filters_by_target_and_limits(cli: Cli, history: Path) -> None:
    _, out, _ = cli("runs", "-c", str(history), "-f", "json", "--target", "genesys-main")
    assert [r["id"][-4:] for r in json.loads(out)] == ["bbbb", "aaaa"]
    _, out, _ = cli("runs", "-c", str(history), "-f", "json", "--limit", "1")
    assert [r["id"][-4:] for r in json.loads(out)] == ["cccc"]


def test_runs_text_is_a_table(cli: Cli, history: Path) -> None:
    code, out, _ = cli("runs", "--config", str(history))
    assert code == 0
    for text in ("20261121T140000Z-bbbb", "partial", "12.5 s", "genesys-main, cxone-main"):
        assert text in out


def test_runs_with_no_state_store_yet_is_empty(cli: Cli, tmp_path: Path) -> None:
    config = tmp_path / "dncsync.toml"
    config.write_text(CONFIG, encoding="utf-8")
    code, out, _ = cli("runs", "--config", str(config), "--format", "json")
    assert (code, json.loads(out)) == (0, [])
    assert not (tmp_path / "state" / "dncsync.db").exists()


@pytest.mark.parametrize("fmt", ["json", "text", "html"])
def test_report_renders_a_stored_report(cli: Cli, history: Path, fmt: str) -> None:
    code, out, _ = cli("report", "20261121T140000Z-bbbb", "-c", str(history), "--format", fmt)
    assert code == 0
    assert "20261120T140000Z-7f3a9c" in out  # the sample report's own run id


def test_report_by_prefix_and_latest_and_to_a_file(cli: Cli, history: Path, tmp_path: Path) -> None:
    out_file = tmp_path / "out" / "r.html"
    out_file.parent.mkdir()
    code, out, _ = cli("report", "20261121", "-c", str(history), "-f", "html", "-o", str(out_file))
    assert code == 0
    assert out.strip() == str(out_file)
    assert out_file.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert stat.S_IMODE(out_file.stat().st_mode) == 0o600
    code, _, err = cli("report", "latest", "-c", str(history))
    assert code == 2
    assert "has no report" in err


def test_report_for_an_unknown_run_is_one_line(cli: Cli, history: Path) -> None:
    code, out, err = cli("report", "nope", "-c", str(history))
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert "no run 'nope'" in err


def test_audit_verify_passes_on_an_intact_log(cli: Cli, history: Path) -> None:
    code, out, _ = cli("audit", "verify", "20261120T140000Z-aaaa", "-c", str(history))
    assert code == 0
    assert "audit log intact" in out
    assert "matches the seal" in out


def test_audit_verify_names_the_edited_line(cli: Cli, history: Path) -> None:
    audit = history.parent / "state" / "dncsync.db.runs" / "20261120T140000Z-aaaa" / "audit.jsonl"
    data = bytearray(audit.read_bytes())
    third = data.index(b"dnc.batch_settled")
    data[third] = ord("D")  # one byte, on line 3
    audit.write_bytes(bytes(data))
    code, _, err = cli("audit", "verify", "20261120T140000Z-aaaa", "-c", str(history))
    assert code == 6
    assert "line 3" in err
    code, out, _ = cli("audit", "verify", "20261120T140000Z-aaaa", "-c", str(history), "-f", "json")
    assert code == 6
    assert json.loads(out)["broken_line"] == 3


def test_audit_verify_catches_a_cut_tail(cli: Cli, history: Path) -> None:
    audit = history.parent / "state" / "dncsync.db.runs" / "20261122T140000Z-cccc" / "audit.jsonl"
    lines = audit.read_bytes().splitlines(keepends=True)
    audit.write_bytes(b"".join(lines[:-1]))
    code, _, err = cli("audit", "verify", "latest", "-c", str(history))
    assert code == 6
    assert "line 4" in err
    assert "cut" in err
