"""Drift: what a platform really holds against what it should, in both directions.

Pure: `compare()` takes the desired entries (from the sources), the target's snapshot (what
dncsync believes the platform holds) and the platform's whole list (read back through the
target's `read_all()`), and sorts every number into one bucket:

    desired, held, expiry right     ok
    desired, held, expires earlier  expiry_mismatch  (drift: the platform would release it early)
    desired, not held               missing          (drift)
    held, not desired:
        not put there by dncsync    foreign          (someone's opt-out; kept in every mode,
                                                      not drift; with `remove_foreign` in
                                                      mirror mode: unexpected)
        ours, mirror mode           unexpected       (drift: sync removes it)
        ours, upsert                retained         (upsert never removes; not drift)
        ours, upsert, retention
          ended, expiry configured  unexpected       (drift: sync expires it)

Separately it measures how far the snapshot itself drifted from the platform (numbers removed
or added in the platform's UI), and `corrected_snapshot()` gives the snapshot to store so that
the next plan sends exactly what repairs the list: missing numbers are no longer in it (so
they are re-added), unexpected ones are (so mirror mode removes them), and expiry mismatches
carry the platform's expiry (so they are updated). Numbers found on the platform that
dncsync did not put there enter the snapshot marked as not ours, so no plan removes them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from dncsync.model import Entry
from dncsync.plan import Mode, platform_expiry
from dncsync.privacy import SAMPLE_SIZE, mask_phone
from dncsync.snapshot import Held, PhoneCollector
from dncsync.targets.base import RemoteRecord


@dataclass(frozen=True, slots=True)
class Drift:
    """How one target's platform list differs from what it should hold.

    The number tuples hold full numbers, for `--repair`; `summary()` only shows them masked.
    """

    target: str
    mode: str
    expected: int  # numbers the platform should hold (desired, retention not ended)
    held: int  # numbers the platform holds (not expired on the platform)
    missing: Sequence[str]  # sorted; kept as digits (a first read may find millions)
    unexpected: tuple[str, ...]
    foreign: tuple[str, ...]
    expiry_mismatch: tuple[str, ...]
    retained: int  # upsert: ours, gone from the sources, kept on purpose
    snapshot_stale: int  # in the snapshot, not on the platform (removed on the platform side)
    snapshot_unknown: int  # on the platform, not in the snapshot (added on the platform side)

    @classmethod
    def combine(cls, parts: Sequence[Drift]) -> Drift:
        """The drift of a target whose numbers are spread over several lists."""
        first = parts[0]
        if len(parts) == 1:
            return first

        def joined(name: str) -> tuple[str, ...]:
            return tuple(sorted(p for part in parts for p in getattr(part, name)))

        return cls(
            target=first.target,
            mode=first.mode,
            expected=sum(p.expected for p in parts),
            held=sum(p.held for p in parts),
            missing=joined("missing"),
            unexpected=joined("unexpected"),
            foreign=joined("foreign"),
            expiry_mismatch=joined("expiry_mismatch"),
            retained=sum(p.retained for p in parts),
            snapshot_stale=sum(p.snapshot_stale for p in parts),
            snapshot_unknown=sum(p.snapshot_unknown for p in parts),
        )

    @property
    def drifted(self) -> bool:
        """True when the platform does not hold what it should."""
        return bool(self.missing or self.unexpected or self.expiry_mismatch)

    def summary(self) -> dict[str, Any]:
        """Counts and masked samples, JSON-ready."""
        return {
            "status": "drift" if self.drifted else "match",
            "mode": self.mode,
            "expected": self.expected,
            "held": self.held,
            "missing": len(self.missing),
            "unexpected": len(self.unexpected),
            "foreign": len(self.foreign),
            "expiry_mismatch": len(self.expiry_mismatch),
            "retained": self.retained,
            "snapshot_stale": self.snapshot_stale,
            "snapshot_unknown": self.snapshot_unknown,
            "sample": {
                "missing": [mask_phone(p) for p in self.missing[:SAMPLE_SIZE]],
                "unexpected": [mask_phone(p) for p in self.unexpected[:SAMPLE_SIZE]],
                "foreign": [mask_phone(p) for p in self.foreign[:SAMPLE_SIZE]],
                "expiry_mismatch": [mask_phone(p) for p in self.expiry_mismatch[:SAMPLE_SIZE]],
            },
        }


def _expires_early(platform: date | None, should: date | None) -> bool:
    """True when the platform would stop blocking a number before it should."""
    if platform is None:
        return False
    return should is None or platform < should


def compare(
    entries: Iterable[Entry],
    snapshot: Mapping[str, Held],
    remote: Iterable[RemoteRecord],
    *,
    target: str,
    mode: Mode,
    today: date,
    max_expiry_days: int | None = None,
    expire_after_retention: bool = False,
    remove_foreign: bool = False,
) -> Drift:
    """Sort every number into ok / missing / unexpected / foreign / retained / mismatched."""
    held = {r.phone: r for r in remote if r.held}
    # The entries are read once, not kept: at millions of numbers a dict of them is the cost.
    # Only the desired numbers the platform holds are remembered, to tell what else it holds.
    expected = 0
    desired: set[str] = set()
    missing = PhoneCollector()
    mismatch: list[str] = []
    for entry in entries:
        if entry.expired(today):
            continue
        expected += 1
        record = held.get(entry.phone)
        if record is None:
            missing.append(entry.phone)
            continue
        desired.add(entry.phone)
        if _expires_early(
            record.expires, platform_expiry(entry.expires_at, today, max_expiry_days)
        ):
            mismatch.append(entry.phone)
    unexpected: list[str] = []
    foreign: list[str] = []
    retained = 0
    for phone in held:
        if phone in desired:
            continue
        ours = snapshot.get(phone)
        if ours is None or not ours.ours:
            removable = remove_foreign and mode is Mode.MIRROR
            (unexpected if removable else foreign).append(phone)
        elif mode is Mode.MIRROR or (
            expire_after_retention and ours.retention_end is not None and ours.retention_end < today
        ):
            unexpected.append(phone)
        else:
            retained += 1
    return Drift(
        target=target,
        mode=mode.value,
        expected=expected,
        held=len(held),
        missing=missing.sorted(),
        unexpected=tuple(sorted(unexpected)),
        foreign=tuple(sorted(foreign)),
        expiry_mismatch=tuple(sorted(mismatch)),
        retained=retained,
        snapshot_stale=sum(1 for phone in snapshot if phone not in held),
        snapshot_unknown=sum(1 for phone in held if phone not in snapshot),
    )


def corrected_snapshot(
    entries: Iterable[Entry],
    snapshot: Mapping[str, Held],
    remote: Iterable[RemoteRecord],
    drift: Drift,
    *,
    today: date,
) -> list[tuple[str, Held]]:
    """The snapshot to store: what the platform holds, so the next plan repairs the drift."""
    records = [record for record in remote if record.held]
    on_platform = {record.phone for record in records}
    desired = {
        e.phone: e for e in entries if e.phone in on_platform and not e.expired(today)
    }  # only the entries the platform holds: a list read back is what bounds this
    foreign = set(drift.foreign)
    mismatched = set(drift.expiry_mismatch)
    result: list[tuple[str, Held]] = []
    for record in records:
        entry = desired.get(record.phone)
        ours = snapshot.get(record.phone)
        # A number dncsync finds on the platform without having put it there is not ours:
        # the protective reading, so no plan ever removes it (DOMAIN.md principle 4).
        mine = ours is not None and ours.ours and record.phone not in foreign
        if entry is not None and record.phone not in mismatched:
            # Held as it should be: the plan sees it unchanged.
            result.append((record.phone, Held(entry.expires_at, record.expires, mine)))
        elif entry is not None:
            # Held with an early platform expiry: a retention the plan sees as different,
            # so it sends an update with the right expiry.
            result.append((record.phone, Held(record.expires, record.expires, mine)))
        elif ours is not None and mine:
            result.append((record.phone, Held(ours.retention_end, record.expires, mine)))
        else:
            result.append((record.phone, Held(record.expires, record.expires, ours=False)))
    result.sort(key=lambda item: item[0])
    return result


def counts(drift: Drift) -> dict[str, int]:
    """The drift's counts, for log events."""
    return {
        "expected": drift.expected,
        "held": drift.held,
        "missing": len(drift.missing),
        "unexpected": len(drift.unexpected),
        "foreign": len(drift.foreign),
        "expiry_mismatch": len(drift.expiry_mismatch),
    }


__all__ = ["Drift", "compare", "corrected_snapshot", "counts"]
