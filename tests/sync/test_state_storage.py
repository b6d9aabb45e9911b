"""The state store refuses a file that is not its own, and says which file and what to do."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest

from dncsync.errors import ConfigError, InputError
from dncsync.state import StateStore


def test_a_file_that_is_not_a_database_is_a_configuration_error(tmp_path: Path) -> None:
    path = tmp_path / "dncsync.db"
    path.write_bytes(b"these are not the bytes of a database\n" * 200)
    with pytest.raises(ConfigError) as refused:
        StateStore(path)
    assert str(refused.value).startswith(
        f"{path}: not a dncsync state file, or a damaged one (file is not a database); "
        "restore it from a backup, or move it aside"
    )


def test_another_programs_database_is_refused_and_left_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "theirs.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE customers (id INTEGER)")
    db.close()
    before = path.read_bytes()
    with pytest.raises(ConfigError, match="it holds tables dncsync does not know: customers"):
        StateStore(path)
    assert path.read_bytes() == before  # not even switched to WAL


def test_a_state_from_a_newer_dncsync_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "dncsync.db"
    StateStore(path).close()
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO migrations VALUES ('0042_later', '2030-01-01')")
    db.close()
    with pytest.raises(ConfigError, match=r"written by a newer dncsync .*0042_later"):
        StateStore(path)


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("a-file/dncsync.db", "cannot create the state file: a part of the path is a file"),
        ("folder", "the state file is a folder: give a file name"),
    ],
)
def test_a_state_path_that_cannot_be_a_file_is_an_input_error(
    tmp_path: Path, where: str, message: str
) -> None:
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "folder").mkdir()
    with pytest.raises(InputError, match=message):
        StateStore(tmp_path / where)


def test_a_failed_write_rolls_back_and_names_the_file(tmp_path: Path) -> None:
    # SQLite's page limit on the store's connection stands in for a full disk: SQLITE_FULL,
    # as ENOSPC gives (tests/e2e/test_storage.py fills a real one where it can mount one).
    path = tmp_path / "dncsync.db"
    store = StateStore(path)
    db = store._db
    db.execute(f"PRAGMA max_page_count = {db.execute('PRAGMA page_count').fetchone()[0] + 2}")
    phones = [f"+1212555{n:04d}" for n in range(5000)]
    with pytest.raises(InputError) as full:
        store.first_seen(phones, date(2026, 1, 1))
    assert str(full.value).startswith(f"{path}: cannot use the state file: the disk is full")
    assert not db.in_transaction  # rolled back: nothing half written
    assert db.execute("SELECT count(*) FROM first_seen").fetchone()[0] == 0
    db.execute("PRAGMA max_page_count = 1073741823")
    store.first_seen(phones[:10], date(2026, 1, 1))  # the store still works
    store.close()
