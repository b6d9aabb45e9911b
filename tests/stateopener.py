"""One state store opened again and again, on SQLite or on PostgreSQL (the `state` fixture)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class StateOpener:
    """Opens one state again and again, on SQLite or PostgreSQL; `code` does it in Python
    source, for a subprocess."""

    kind: str
    where: str

    def open(self) -> Any:
        """The state store."""
        if self.kind == "postgresql":
            from dncsync.state.postgres import PostgresStore

            return PostgresStore(self.where)
        from dncsync.state import StateStore

        return StateStore(self.where)

    @property
    def code(self) -> str:
        """Python source that opens the same store as `s`."""
        if self.kind == "postgresql":
            imported = "from dncsync.state.postgres import PostgresStore\n"
            return f"{imported}s = PostgresStore({self.where!r})\n"
        return f"from dncsync.state import StateStore\ns = StateStore({self.where!r})\n"

    def intake(self, targets: dict[str, Any]) -> Any:
        """The intake store beside this state (its own file, or the same database)."""
        if self.kind == "postgresql":
            from dncsync.state.postgres_intake import PostgresIntakeStore

            return PostgresIntakeStore(self.where, targets)
        from dncsync.state.intake import IntakeStore, intake_path

        return IntakeStore(intake_path(self.where), targets)
