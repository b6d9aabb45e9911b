"""`dncsync state migrate`: a SQLite state (and its intake file) moved into PostgreSQL.

Every row of every table: snapshots, the batch journal, first sightings, run history with
its evidence references (report and audit paths, the audit chain's seals), source objects,
legacy names, and the intake's requests, deliveries and idempotency answers. One
transaction on the database: it starts only on an empty dncsync state, copies with COPY,
counts each table on both sides before it commits, and rolls back whole on any difference,
so the move either loses no row or changes nothing.

The SQLite file is opened as a run would open it (its own migrations applied first) and is
only read; keep it as the backup it now is.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from dncsync.errors import ConfigError, InputError
from dncsync.state.intake import IntakeStore, intake_path
from dncsync.state.pgconnection import Shim, one
from dncsync.state.postgres import PostgresStore
from dncsync.state.sqlite import StateStore

STATE_TABLES = (
    "targets",
    "snapshot",
    "first_seen",
    "runs",
    "batches",
    "legacy_names",
    "source_objects",
)
INTAKE_TABLES = ("requests", "deliveries", "idempotency")


@dataclass(frozen=True, slots=True)
class Moved:
    """Rows per table, as counted on both sides."""

    rows: dict[str, int]

    @property
    def total(self) -> int:
        """All rows moved."""
        return sum(self.rows.values())


def migrate_state(source: Path, url: str, password_env: str) -> Moved:
    """Copy the SQLite state at `source` (and its intake file) into the database at `url`."""
    if not source.is_file():
        raise InputError(f"{source}: no SQLite state file there (give --from the state file)")
    StateStore(source).close()  # its own migrations first: the columns are then today's
    intake = intake_path(source)
    if intake.exists():
        IntakeStore(intake, {}).close()  # creates any table an older file lacks
    target = PostgresStore(url, password_env)  # migrated: every table exists, empty or not
    try:
        db = target._work
        held = [t for t in (*STATE_TABLES, *INTAKE_TABLES) if _count_pg(db, t)]
        if held:
            raise ConfigError(
                f"{target.path}: already holds a dncsync state (rows in {', '.join(held)}); "
                "migrate into a new, empty database; nothing was copied"
            )
        moved: dict[str, int] = {}
        db.execute("BEGIN")
        try:
            for path, tables in ((source, STATE_TABLES), (intake, INTAKE_TABLES)):
                if not path.exists():
                    continue
                with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as lite:
                    for table in tables:
                        moved[table] = _copy(lite, db, table)
                lite.close()
            db.execute(
                "SELECT setval(pg_get_serial_sequence('batches', 'id'), "
                "coalesce(max(id), 0) + 1, false) FROM batches"
            )
            for table, count in moved.items():
                landed = _count_pg(db, table)
                if landed != count:
                    raise ConfigError(
                        f"{target.path}: {table}: {count} rows read but {landed} written; "
                        "nothing was copied (the transaction was rolled back)"
                    )
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        return Moved(moved)
    finally:
        target.close()


def _count_pg(db: Shim, table: str) -> int:
    return int(one(db.execute(f"SELECT count(*) FROM {table}"))[0])  # noqa: S608 - our names


def _copy(lite: sqlite3.Connection, db: Shim, table: str) -> int:
    """COPY one table's rows across; how many were read."""
    cursor = lite.execute(f"SELECT * FROM {table}")  # noqa: S608 - our table names
    columns = [column[0] for column in cursor.description]
    count = 0
    quoted = ", ".join(f'"{name}"' for name in columns)
    with (
        db.connection.cursor() as pg,
        pg.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy,
    ):
        for row in cursor:
            copy.write_row(row)
            count += 1
    return count


__all__ = ["INTAKE_TABLES", "STATE_TABLES", "Moved", "migrate_state"]
