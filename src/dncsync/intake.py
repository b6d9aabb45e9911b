"""Opt-outs received as events (`dncsync serve`): reading one, its deadline, its entry.

Pure: no I/O and no clock of its own (the caller passes `now`). An opt-out's phone is
normalized exactly as `validate` does it; bad metadata never drops a number (DOMAIN.md
principle 1): an unknown reason maps through the alias table (else UNKNOWN, raw text kept),
and a receipt time that cannot be read or lies in the future is read as the moment the
request arrived, which never gives a later deadline than the truth.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from dncsync.business_days import honour_deadline
from dncsync.model import Entry, ExpirationPolicy, Reason, Strictness
from dncsync.phone import normalize
from dncsync.policy import Policy, Requested, RequestKind

INTAKE_SOURCE = "intake"  # the reserved source name intake entries carry
# The `source` label of an opt-out found on a platform's list (`collect`): "platform:<target>".
COLLECTED_PREFIX = "platform:"
MAX_BATCH_OPTOUTS = 1000  # `{"optouts": [...]}` takes at most this many
MAX_FIELD_CHARS = 200  # a phone, reason, source or scope longer than this is not one
# A clock a little ahead of ours is not a lie; past this, the receipt time is read as now.
_FUTURE_SLACK = timedelta(minutes=5)
_NO_REQUEST = Requested(RequestKind.NONE)


@dataclass(frozen=True, slots=True)
class OptOut:
    """One accepted opt-out request, as it is stored."""

    id: str
    phone: str  # E.164
    reason: Reason
    reason_text: str  # what the client sent (empty: none), kept for evidence
    source: str  # the client's label of where it came from: ivr, sms, agent, web...
    scope: str  # a free label (brand, division); a target with `scopes` takes only those
    received_at: datetime  # UTC
    deadline: date  # the last day it may be honoured: 10 business days after receipt
    warnings: tuple[str, ...] = ()  # metadata corrected on the way in

    def answer(self) -> dict[str, Any]:
        """The 202 body for this request."""
        return {
            "id": self.id,
            "phone": self.phone,
            "received_at": rfc3339(self.received_at),
            "deadline": self.deadline.isoformat(),
            "status": "pending",
        }


@dataclass(frozen=True, slots=True)
class Refused:
    """An opt-out that cannot be taken: the reason `validate` gives, or a malformed body."""

    error: str  # invalid_phone | invalid_request
    reason: str


def rfc3339(moment: datetime) -> str:
    """UTC, millisecond precision, `Z`."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def deadline_for(received_at: datetime, zone: ZoneInfo) -> date:
    """The 10th business day after the day of receipt in `zone` (FCC 64.1200(d)(3))."""
    return _deadline_of_day(received_at.astimezone(zone).date())


@lru_cache(maxsize=64)
def _deadline_of_day(received_on: date) -> date:
    # Every request of a day shares its deadline: counted once, not per request.
    return honour_deadline(received_on)


def read_optout(
    body: object,
    *,
    now: datetime,
    zone: ZoneInfo,
    region: str,
    policy: Policy,
    new_id: str | None = None,
) -> OptOut | Refused:
    """One opt-out object from a request body, or why it cannot be taken."""
    if not isinstance(body, Mapping):
        return Refused("invalid_request", "an opt-out is a JSON object with a phone")
    phone = body.get("phone")
    if not isinstance(phone, str) or not phone.strip():
        return Refused("invalid_request", "phone: required, a string")
    texts: dict[str, str] = {}
    for name in ("phone", "reason", "source", "scope", "received_at"):
        value = body.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            return Refused("invalid_request", f"{name}: must be a string")
        if len(value) > MAX_FIELD_CHARS:
            return Refused("invalid_request", f"{name}: longer than {MAX_FIELD_CHARS} characters")
        texts[name] = value
    verdict = normalize(phone, region, Strictness.VALID)
    if verdict.e164 is None:
        assert verdict.reject is not None
        return Refused("invalid_phone", verdict.reject.value)
    warnings: list[str] = []
    reason_text = texts.get("reason", "").strip()
    if reason_text:
        reason, warning = policy.reason_for(reason_text)
        if warning:
            warnings.append(warning)
    else:
        reason = Reason.CUSTOMER_REQUESTED
    received_at = _received_at(texts.get("received_at"), now, warnings)
    return OptOut(
        id=new_id or uuid.uuid4().hex,
        phone=verdict.e164,
        reason=reason,
        reason_text=reason_text,
        source=texts.get("source", "").strip(),
        scope=texts.get("scope", "").strip(),
        received_at=received_at,
        deadline=deadline_for(received_at, zone),
        warnings=tuple(warnings),
    )


def collected(
    phone: str, target: str, reason: Reason, found_at: datetime, zone: ZoneInfo
) -> OptOut:
    """An opt-out for a number found on a target's list that no source holds and dncsync did
    not add: received when it was found, so its 10-business-day clock starts then."""
    return OptOut(
        id=uuid.uuid4().hex,
        phone=phone,
        reason=reason,
        reason_text="",
        source=COLLECTED_PREFIX + target,
        scope="",
        received_at=found_at.astimezone(UTC),
        deadline=deadline_for(found_at, zone),
    )


def _received_at(text: str | None, now: datetime, warnings: list[str]) -> datetime:
    if text is None or not text.strip():
        return now
    try:
        moment = datetime.fromisoformat(text.strip().replace("z", "Z"))
    except ValueError:
        warnings.append("unreadable_received_at")
        return now
    if moment.tzinfo is None:  # RFC 3339 requires an offset: without one, UTC is a guess
        warnings.append("received_at_without_offset")
        moment = moment.replace(tzinfo=UTC)
    if moment > now + _FUTURE_SLACK:
        warnings.append("future_received_at")
        return now
    return moment.astimezone(UTC)


def entry_of(
    phone: str, reason: Reason, received_at: datetime, policy: Policy, today: date
) -> Entry:
    """The entry an opt-out asks every target to hold; collected on the day it was received."""
    collected = received_at.astimezone(UTC).date()
    retention = policy.retention_for(reason, _NO_REQUEST, collected, today)
    return Entry(
        phone=phone,
        reason=reason,
        expiration_policy=retention.policy,
        expires_at=retention.expires_at,
        date_collected=collected,
        source=INTAKE_SOURCE,
    )


def stronger(one: Entry, other: Entry) -> Entry:
    """The most protective merge of two entries for one number (DOMAIN.md principle 3)."""
    reason_from = one if one.reason.strength >= other.reason.strength else other
    if one.expires_at is None or other.expires_at is None:
        expires_at = None
        policy = ExpirationPolicy.NEVER
    else:
        longer = one if one.expires_at >= other.expires_at else other
        expires_at, policy = longer.expires_at, longer.expiration_policy
    dates = [d for d in (one.date_collected, other.date_collected) if d is not None]
    return replace(
        reason_from,
        expiration_policy=policy,
        expires_at=expires_at,
        date_collected=min(dates) if dates else None,
    )


def merged(entries: Iterable[Entry], extra: Iterable[Entry]) -> list[Entry]:
    """`entries` with `extra` merged in, one per number, sorted by phone."""
    by_phone: dict[str, Entry] = {e.phone: e for e in entries}
    for entry in extra:
        held = by_phone.get(entry.phone)
        by_phone[entry.phone] = entry if held is None else stronger(held, entry)
    return [by_phone[phone] for phone in sorted(by_phone)]


def takes(scopes: Iterable[str] | None, scope: str) -> bool:
    """Whether a target with `scopes` takes a request with `scope` (None: every scope)."""
    return scopes is None or scope in set(scopes)


__all__ = [
    "COLLECTED_PREFIX",
    "INTAKE_SOURCE",
    "MAX_BATCH_OPTOUTS",
    "OptOut",
    "Refused",
    "collected",
    "deadline_for",
    "entry_of",
    "merged",
    "read_optout",
    "rfc3339",
    "stronger",
    "takes",
]
