"""What every platform target offers the engine: push a batch, read the list, and its limits.

A batch is one request's worth of numbers with one action and one platform expiration. The
engine groups and bounds batches (`plan.batches`); a target sends each one in the form its
platform needs and reports, number by number, what the platform acknowledged.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal, Protocol, Self

from dncsync.errors import Failure

Action = Literal["add", "remove"]


class BatchLike(Protocol):
    """Anything shaped like a batch: `WriteBatch` here, or the planner's `plan.Batch`."""

    @property
    def action(self) -> Action: ...

    @property
    def phones(self) -> tuple[str, ...]: ...

    @property
    def expires(self) -> date | None: ...

    @property
    def expires_each(self) -> tuple[date | None, ...]: ...


@dataclass(frozen=True, slots=True)
class WriteBatch:
    """Numbers to add or remove with their platform expiration."""

    action: Action
    phones: tuple[str, ...]  # E.164, e.g. +14155552671
    expires: date | None = None  # the LAST day (UTC) the platform holds them; None: no expiry
    # Per phone, overriding `expires` when not empty (CXone takes one per record; Genesys
    # sends one request per distinct expiration).
    expires_each: tuple[date | None, ...] = ()


def expirations(batch: BatchLike) -> list[date | None]:
    """Each phone's platform expiration (the last day held), in the batch's order."""
    if batch.expires_each:
        if len(batch.expires_each) != len(batch.phones):
            raise ValueError("expires_each must give one expiration per phone")
        return list(batch.expires_each)
    return [batch.expires] * len(batch.phones)


@dataclass(slots=True)
class BatchResult:
    """What the platform did with one batch, number by number, and what it cost.

    The one shape a batch's outcome has, from the target that sent it through the journal to
    the report: nothing downstream re-packs it.
    """

    action: Action = "add"
    count: int = 0  # numbers in the batch
    expires: date | None = None  # the batch's platform expiration (the last day held)
    acknowledged: list[str] = field(default_factory=list)  # numbers the platform took
    failed: dict[str, Failure] = field(default_factory=dict)  # number -> why (code, message)
    correlation_ids: list[str] = field(default_factory=list)  # Genesys ININ-Correlation-Id
    requests: int = 0  # logical requests (a 413 split makes more than one)
    attempts: int = 0  # HTTP attempts, retries included
    rate_limited: int = 0  # 429 answers met
    waited_seconds: float = 0.0  # waited on pacing and Retry-After
    started_at: float = 0.0  # on the monotonic clock
    duration_seconds: float = 0.0
    status: int | None = None  # the last HTTP status; None when the network failed
    # Numbers not sent because a setting said so (e.g. CXone `international = "skip"`):
    # neither acknowledged nor failed, never in the snapshot.
    skipped: dict[str, Failure] = field(default_factory=dict)  # number -> why not sent
    # The platform's results named no numbers and were paired with the records in order.
    paired_by_position: bool = False
    released: int = 0  # acknowledged numbers let go once settled: counted, no longer listed

    @property
    def acknowledged_count(self) -> int:
        """Numbers the platform acknowledged, whether still listed or let go."""
        return len(self.acknowledged) + self.released

    def settled(self) -> BatchResult:
        """This result without its list of acknowledged numbers (the journal and snapshot
        have them once settled): what a run keeps for its summary and report."""
        return dataclasses.replace(self, acknowledged=[], released=self.acknowledged_count)

    @classmethod
    def of(cls, batch: BatchLike, started_at: float) -> BatchResult:
        """An empty result for a batch about to be sent."""
        return cls(
            action=batch.action,
            count=len(batch.phones),
            expires=batch.expires,
            started_at=started_at,
        )

    @property
    def ok(self) -> bool:
        """Every number sent acknowledged (skipped numbers were not sent)."""
        return not self.failed

    @property
    def sent(self) -> int:
        """Numbers of the batch that were sent: all but the skipped ones."""
        return self.count - len(self.skipped)

    def error_summary(self, limit: int = 500) -> str | None:
        """The distinct failures (and reasons numbers were skipped) in one line, for the journal."""
        lines: list[str] = sorted(set(self.failed.values()))
        lines += [f"skipped {reason}" for reason in sorted(set(self.skipped.values()))]
        return "; ".join(lines)[:limit] or None


@dataclass(frozen=True, slots=True)
class ListFacts:
    """What one cheap request tells of a list: that it exists and takes numbers, its size,
    and the platform's clock when it answered."""

    size: int | None  # numbers the platform says the list holds (Genesys: eventually)
    platform_time: datetime | None  # the answer's `Date` header
    local_time: datetime  # this machine's clock when the answer came
    problem: str | None = None  # why the list, though there, would block no dialing


@dataclass(frozen=True, slots=True)
class Check:
    """One read-only preflight check of a target (`dncsync check`)."""

    name: str
    ok: bool
    detail: str


@dataclass(frozen=True, slots=True)
class RemoteRecord:
    """One number as the platform stores it."""

    phone: str  # E.164 when the platform's form can be read back, else the stored string
    expires: date | None  # the last day (UTC) the platform holds it; None: no expiry
    held: bool  # True while the platform blocks it (not yet expired)


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a platform's API allows, read by the planner, the pusher and the report."""

    default_batch_size: int  # numbers per write request unless the target says otherwise
    max_body_bytes: int | None  # the request body cap, if any
    max_expiry_days: int | None  # how far ahead a platform expiration may be, if capped
    expiry_per_record: bool  # one expiration per number (else one per request)
    capacity: int  # numbers one list (or group) holds at most
    capacity_scope: Literal["list", "account"]  # whether `capacity` bounds a list or the account
    account_capacity: int  # numbers an account (a Genesys org, a CXone tenant) holds at most
    size_is_eventual: bool  # the list's reported size may lag what it holds
    number_form: str  # how numbers are written, for docs and the report
    reads_by: Literal["export", "pages"]  # how the whole list is read back


class Target(Protocol):
    """One DNC list on one platform."""

    @property
    def name(self) -> str: ...

    @property
    def platform(self) -> str:
        """The platform's configuration name."""
        ...

    @property
    def capabilities(self) -> Capabilities:
        """What the platform's API allows."""
        ...

    @property
    def batch_size(self) -> int: ...

    @property
    def concurrency(self) -> int: ...

    @property
    def max_body_bytes(self) -> int | None:
        """The platform's request body cap, if any."""
        ...

    @property
    def max_expiry_days(self) -> int | None:
        """How many days ahead a platform expiration may be, if capped."""
        ...

    async def push(self, batch: BatchLike) -> BatchResult:
        """Send one batch; per-number results. Raises AuthError/ConfigError when fatal."""
        ...

    def skips(self, phone: str) -> bool:
        """True for a number this target is configured not to send (reported as skipped)."""
        ...

    async def describe(self) -> ListFacts:
        """One cheap read of the list: raises `ListNotFound` (or `ConfigError` when the list
        cannot take numbers), else its size and the platform's clock."""
        ...

    def records(self) -> AsyncIterator[RemoteRecord]:
        """Every number the list stores, streamed (Genesys: export; CXone: paging)."""
        ...

    async def read_all(self) -> list[RemoteRecord]:
        """Every number the list stores."""
        ...

    def variant(self) -> dict[str, str]:
        """What its answers showed of the platform's unconfirmed points (`targets.variant`)."""
        ...

    @property
    def signed_in(self) -> bool:
        """Whether the platform has issued this target a token."""
        ...

    async def read_check(self) -> Check:
        """One read of the list, as a sync would make it (read permission shown)."""
        ...

    async def usage_check(self) -> Check:
        """Which campaigns or skills use the list, where the credentials may read them."""
        ...

    async def aclose(self) -> None:
        """Close the HTTP client if the target opened it."""
        ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(self, *exc_info: object) -> None: ...
