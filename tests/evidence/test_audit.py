"""The audit chain verifies, and any edit, deletion, reordering or cut is caught at its line."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dncsync.audit import GENESIS, AuditChainBroken, AuditLog, AuditSeal, RunFiles, verify

EVENTS = 12


def write_log(path: Path, events: int = EVENTS) -> AuditSeal:
    with AuditLog.create(path) as audit:
        for index in range(events):
            audit.append(
                {
                    "event": "dnc.batch_pushed",
                    "run_id": "run-1",
                    "batch": index + 1,
                    "count": 500,
                    "correlation_id": f"corr-{index:04d}",
                    "note": 'ünïcode and "quotes"',
                }
            )
        return audit.close()


@pytest.fixture
def log(tmp_path: Path) -> tuple[Path, AuditSeal]:
    path = tmp_path / "audit.jsonl"
    return path, write_log(path)


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def test_an_untouched_log_verifies(log: tuple[Path, AuditSeal]) -> None:
    path, seal = log
    verdict = verify(path, seal.final_hash, seal.lines)
    assert verdict.ok, verdict.problem
    assert verdict.lines == EVENTS == seal.lines
    assert verdict.final_hash == seal.final_hash


def test_the_file_is_owner_only(log: tuple[Path, AuditSeal]) -> None:
    path, _ = log
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_an_existing_file_is_never_overwritten(log: tuple[Path, AuditSeal]) -> None:
    path, _ = log
    with pytest.raises(FileExistsError):
        AuditLog.create(path)


def test_an_empty_log_chains_from_genesis(tmp_path: Path) -> None:
    seal = write_log(tmp_path / "empty.jsonl", events=0)
    assert seal == AuditSeal(GENESIS, 0)
    assert verify(tmp_path / "empty.jsonl", seal.final_hash, 0).ok


def test_events_cannot_forge_the_chain_fields(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    with AuditLog.create(path) as audit:
        audit.append({"event": "x", "seq": 99, "prev": "f" * 64, "hash": "0" * 64})
        seal = audit.close()
    assert verify(path, seal.final_hash, seal.lines).ok
    assert b'"event_seq":99' in path.read_bytes()


@pytest.mark.parametrize("line", [1, 2, 6, EVENTS - 1, EVENTS])
@pytest.mark.parametrize("where", ["event", "seq", "prev", "hash", "first", "last"])
def test_a_one_byte_edit_breaks_the_chain_at_that_line(
    log: tuple[Path, AuditSeal], line: int, where: str
) -> None:
    path, seal = log
    lines = lines_of(path)
    target = bytearray(lines[line - 1])
    offset = {
        "event": target.index(b"dnc.batch") + 4,
        "seq": target.index(b'"seq":') + 6,
        "prev": target.index(b'"prev":"') + 10,
        "hash": target.index(b'"hash":"') + 20,
        "first": 0,
        "last": len(target) - 2,  # the closing brace, before the newline
    }[where]
    target[offset] = ord("7") if target[offset] != ord("7") else ord("8")
    lines[line - 1] = bytes(target)
    path.write_bytes(b"".join(lines))
    verdict = verify(path, seal.final_hash, seal.lines)
    assert not verdict.ok
    assert verdict.broken_line == line, verdict.problem
    assert verdict.problem is not None
    assert verdict.problem.startswith(f"line {line}:")


@settings(max_examples=60, deadline=None, derandomize=True)
@given(data=st.data())
def test_any_single_byte_change_is_caught_at_its_line(tmp_path_factory: pytest.TempPathFactory,
                                                      data: st.DataObject) -> None:  # fmt: skip
    path = tmp_path_factory.mktemp("audit") / "audit.jsonl"
    seal = write_log(path, events=5)
    raw = bytearray(path.read_bytes())
    position = data.draw(st.integers(0, len(raw) - 1), label="position")
    new = data.draw(st.integers(0, 255).filter(lambda b: b != raw[position]), label="byte")
    line = raw[:position].count(b"\n") + 1
    raw[position] = new
    path.write_bytes(bytes(raw))
    verdict = verify(path, seal.final_hash, seal.lines)
    assert not verdict.ok
    # A changed newline merges two lines or splits one: the first damaged line is named.
    assert verdict.broken_line == line, verdict.problem


def test_a_deleted_line_is_named(log: tuple[Path, AuditSeal]) -> None:
    path, seal = log
    lines = lines_of(path)
    del lines[4]
    path.write_bytes(b"".join(lines))
    verdict = verify(path, seal.final_hash, seal.lines)
    assert verdict.broken_line == 5
    assert verdict.problem is not None
    assert "deleted or moved" in verdict.problem


def test_reordered_lines_are_named(log: tuple[Path, AuditSeal]) -> None:
    path, seal = log
    lines = lines_of(path)
    lines[6], lines[7] = lines[7], lines[6]
    path.write_bytes(b"".join(lines))
    verdict = verify(path, seal.final_hash, seal.lines)
    assert verdict.broken_line == 7


def test_a_cut_tail_is_caught_against_the_recorded_length(log: tuple[Path, AuditSeal]) -> None:
    path, seal = log
    lines = lines_of(path)
    path.write_bytes(b"".join(lines[:-3]))
    assert verify(path).ok  # the chain alone cannot see a clean cut...
    verdict = verify(path, seal.final_hash, seal.lines)  # ...the seal can
    assert not verdict.ok
    assert verdict.broken_line == EVENTS - 2
    assert verdict.problem is not None
    assert "tail was cut" in verdict.problem


def test_a_line_cut_in_the_middle_is_caught(log: tuple[Path, AuditSeal]) -> None:
    path, seal = log
    data = path.read_bytes()
    path.write_bytes(data[:-30])
    verdict = verify(path, seal.final_hash, seal.lines)
    assert verdict.broken_line == EVENTS


def test_a_removed_final_newline_is_caught(log: tuple[Path, AuditSeal]) -> None:
    path, seal = log
    path.write_bytes(path.read_bytes()[:-1])
    verdict = verify(path, seal.final_hash, seal.lines)
    assert verdict.broken_line == EVENTS


def test_an_appended_line_is_caught(tmp_path: Path, log: tuple[Path, AuditSeal]) -> None:
    path, seal = log
    with AuditLog.resume(path) as audit:
        audit.append({"event": "forged"})
    verdict = verify(path, seal.final_hash, seal.lines)
    assert verdict.broken_line == EVENTS + 1


def test_a_rewritten_chain_is_caught_by_the_recorded_final_hash(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    seal = write_log(path)
    os.remove(path)
    with AuditLog.create(path) as audit:  # a whole new, self-consistent chain
        for index in range(EVENTS):
            audit.append({"event": "dnc.batch_pushed", "batch": index + 1, "count": 499})
    assert verify(path).ok
    verdict = verify(path, seal.final_hash, seal.lines)
    assert not verdict.ok
    assert verdict.problem is not None
    assert "rewritten" in verdict.problem


def test_resume_continues_the_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    write_log(path, events=3)
    with AuditLog.resume(path) as audit:
        audit.append({"event": "dnc.run_resumed"})
        seal = audit.close()
    assert seal.lines == 4
    assert verify(path, seal.final_hash, 4).ok


def test_resume_refuses_a_broken_file(log: tuple[Path, AuditSeal]) -> None:
    path, _ = log
    path.write_bytes(path.read_bytes().replace(b"corr-0003", b"corr-9999"))
    with pytest.raises(AuditChainBroken, match="line 4"):
        AuditLog.resume(path)


def test_run_files_live_in_one_folder_per_run(tmp_path: Path) -> None:
    files = RunFiles.for_run(tmp_path / "dncsync.db.runs", "20261120T140000Z-7f3a9c")
    assert files.audit.parent == files.report_json.parent == files.report_html.parent
    files.create_directory()
    assert stat.S_IMODE(files.directory.stat().st_mode) == 0o700
    for bad in ("", "../x", "a/b", ".hidden"):
        with pytest.raises(ValueError, match="not a run id"):
            RunFiles.for_run(tmp_path, bad)
