"""Which state store a configuration names: a SQLite file (`[state] path`, the default) or a
PostgreSQL database shared by several replicas (`[state] url`, docs/deploy.md).

The one place that asks; everything else talks to `state.protocol.Store` and `IntakeStore`.
psycopg is imported only for a URL, so a SQLite deployment does not need it installed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from dncsync.config import Config, resolve_path
from dncsync.state import StateStore, Store
from dncsync.state.intake import IntakeStore, intake_path


def state_path(config: Config, base: Path) -> Path:
    """The SQLite state file a configuration names (meaningless with `url`)."""
    return Path(resolve_path(base, config.state.path))


def open_store(
    config: Config, base: Path, file_store: Callable[[Path], Store] = StateStore
) -> Store:
    """The state store, opened (and migrated)."""
    if config.state.url is not None:
        from dncsync.state.postgres import PostgresStore

        return PostgresStore(config.state.url, config.state.password_env)
    return file_store(state_path(config, base))


def open_intake(
    config: Config, base: Path, targets: Mapping[str, Sequence[str] | None]
) -> IntakeStore:
    """The intake store beside the state (its own file, or the state's database)."""
    if config.state.url is not None:
        from dncsync.state.postgres_intake import PostgresIntakeStore

        return PostgresIntakeStore(config.state.url, targets, config.state.password_env)
    return IntakeStore(intake_path(state_path(config, base)), targets)


def intake_exists(config: Config, base: Path) -> bool:
    """Whether any opt-out may have been taken in (a database always may)."""
    return config.state.url is not None or intake_path(state_path(config, base)).exists()


def where(config: Config, base: Path) -> str:
    """The state as messages name it."""
    if config.state.url is not None:
        from dncsync.state.pgconnection import shown

        return shown(config.state.url)
    return str(state_path(config, base))
