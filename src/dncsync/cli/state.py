"""`dncsync state migrate --from dncsync.db --to postgresql://...`: move a state to PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dncsync.config import database_url_problem
from dncsync.errors import InputError

app = typer.Typer(
    name="state",
    help="Manage the state store (move a SQLite state to PostgreSQL for serve replicas).",
    no_args_is_help=True,
)


@app.command("migrate")
def migrate_command(
    source: Annotated[
        Path, typer.Option("--from", help="The SQLite state file (its .intake file comes too).")
    ],
    to: Annotated[
        str,
        typer.Option(
            "--to",
            help="The PostgreSQL database (postgresql://user@host:5432/db), new and empty; "
            "its password from --password-env.",
        ),
    ],
    password_env: Annotated[
        str, typer.Option(help="The environment variable holding the database's password.")
    ] = "DNCSYNC_DATABASE_PASSWORD",  # noqa: S107 - a variable's name
) -> None:
    """Copy every row of a SQLite state into an empty PostgreSQL state, or nothing.

    Then point `[state] url` at the database (with `runs_dir`: the evidence folder stays
    where it is). Exits 0 with the rows per table, 2 on a missing file or an unusable URL,
    3 when the database already holds a state.
    """
    problem = database_url_problem(to)
    if problem is not None:
        raise InputError(f"--to: {problem.removeprefix('url: ').removeprefix('url ')}")
    from dncsync.state.transfer import migrate_state

    moved = migrate_state(source, to, password_env)
    for table, count in moved.rows.items():
        print(f"{table}: {count:,} rows")
    print(f"dncsync state migrate: {moved.total:,} rows moved from {source}; nothing lost")


__all__ = ["app"]
