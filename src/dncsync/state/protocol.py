"""What the run lifecycle needs of a state store, whatever keeps it.

`StateStore` (SQLite, `state.sqlite`) is the embedded implementation. The run, its steps and
the history commands talk to this protocol, so a second store (a server database shared by
several processes) is a new class, not a new copy of the run.

The rules every implementation keeps: state is keyed by a list's identity (platform host
and list id, `Platform.list_identity`), never by a target's name; the snapshot changes only
in the transaction that settles an acknowledged batch (or that corrects it from the
platform's own list); a batch is journaled as intended before it is sent; a lock per list
stops overlapping runs at once and is released when its holder dies, and so is each run's
own lock, so a run whose process died reads as `interrupted`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from dncsync.columnar.index import Keys
from dncsync.plan import Batch
from dncsync.snapshot import Held
from dncsync.targets.base import BatchResult


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One row of run history."""

    id: str
    command: str
    started_at: str
    ended_at: str | None
    status: str
    config_digest: str | None
    targets: list[str]
    summary: dict[str, Any]
    report_path: str | None
    html_report_path: str | None
    audit_path: str | None
    audit_hash: str | None
    audit_lines: int | None


class Store(Protocol):
    """A state store: snapshots, the batch journal, first sightings, run history, locks."""

    def close(self) -> None:
        """Release the store."""
        ...

    def lock(self, key: str, label: str | None = None) -> AbstractContextManager[None]:
        """Hold a list's run lock, or raise `AlreadyRunning` at once (`label` for messages)."""
        ...

    def adopt(self, name: str, key: str) -> bool:
        """Move state kept under a target's name before list identities to the list's key."""
        ...

    def resolve(self, name: str, key: str) -> str:
        """The key a read-only run reads a list under (a legacy name until it is adopted)."""
        ...

    def snapshot(self, key: str) -> Mapping[str, Held]:
        """What the platform holds for a list, as far as acknowledged writes and reads show."""
        ...

    def holding(self, key: str, phones: Sequence[str]) -> set[str]:
        """The numbers among `phones` the list's snapshot holds."""
        ...

    def last_read(self, key: str) -> datetime | None:
        """When the platform's whole list was last read (None: never)."""
        ...

    def mark_read(self, key: str, label: str | None = None) -> None:
        """Record that the platform's whole list was read now and the snapshot agrees."""
        ...

    def replace_snapshot(self, key: str, held: Iterable[tuple[str, Held]], run_id: str) -> None:
        """Replace a list's snapshot with what the platform was read to hold."""
        ...

    def first_seen(
        self, phones: Iterable[str], today: date, *, record: bool = True
    ) -> dict[str, date]:
        """The day each number was first seen (today for new ones, recorded unless asked not)."""
        ...

    def source_objects(self, source: str) -> dict[str, Keys]:
        """Each object an earlier sync read from a source of many objects, with its numbers
        (sorted E.164 digits as integers)."""
        ...

    def record_source_objects(
        self, source: str, read: Mapping[str, Keys], forget: Iterable[str] = ()
    ) -> None:
        """Remember the numbers of the objects just read (replacing what an object held
        before); drop the `forget` ones."""
        ...

    def batch_intended(self, run_id: str, key: str, batch: Batch) -> int:
        """Journal a batch about to be sent; its journal id."""
        ...

    def batch_settled(
        self, batch_id: int, key: str, batch: Batch, result: BatchResult, *, run_id: str
    ) -> None:
        """Journal the platform's answer and apply the acknowledged numbers to the snapshot."""
        ...

    def journal(self, key: str | None = None) -> list[dict[str, Any]]:
        """The batch journal, oldest first."""
        ...

    def run_started(
        self, run_id: str, command: str, started_at: str, config_digest: str, targets: list[str]
    ) -> None:
        """Record a run as started."""
        ...

    def run_ended(
        self,
        run_id: str,
        *,
        ended_at: str,
        status: str,
        summary: dict[str, Any],
        report_path: str | None = None,
        html_report_path: str | None = None,
        audit_path: str | None = None,
        audit_hash: str | None = None,
        audit_lines: int | None = None,
    ) -> None:
        """Record how a run ended and where its evidence lies."""
        ...

    def runs(self, target: str | None = None, limit: int | None = None) -> list[RunRecord]:
        """Run history, newest first."""
        ...

    def run(self, run_id: str) -> RunRecord | None:
        """One run's record."""
        ...
