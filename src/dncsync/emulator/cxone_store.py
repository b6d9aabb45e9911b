"""NICE CXone's DNC groups, in memory: groups and their records, held or expired.

Behaviour follows ../shared/PLATFORMS.md; each emulator choice on an unconfirmed point is
marked "choice" and listed in docs/emulator.md. Not thread-safe by itself: callers hold the
emulator's state lock. Today's date comes in as an argument.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

_DIGITS = re.compile(r"^\d{10,18}$")
_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:T[\d:.]+Z?)?$")


class CxoneError(Exception):
    """A refusal of a whole CXone request: HTTP status and a message."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description


def iso(moment: datetime) -> str:
    """CXone's timestamp format (ISO-8601 UTC with milliseconds)."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def phone_key(value: object) -> str | None:
    """The stored form of a record's phoneNumber: 10-18 digits, string or integer; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        value = str(value)
    if isinstance(value, str) and _DIGITS.match(value):
        return value
    return None


def parse_expired_date(value: object) -> date | None:
    """Read `MM/DD/YYYY` (NICE's tests) or `YYYY-MM-DD`; empty means none; ValueError if bad."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"expiredDate {value!r} is not a date string")
    if match := _US_DATE.match(value.strip()):
        month, day, year = (int(part) for part in match.groups())
        return date(year, month, day)
    if match := _ISO_DATE.match(value.strip()):
        year, month, day = (int(part) for part in match.groups())
        return date(year, month, day)
    raise ValueError(f"expiredDate {value!r} is not MM/DD/YYYY")


def formatted(phone: str) -> str:
    """How CXone shows a number: `(415) 555-2671` for 10 digits, else the digits."""
    if len(phone) == 10:
        return f"({phone[:3]}) {phone[3:6]}-{phone[6:]}"
    return phone


@dataclass(slots=True)
class Record:
    """One DNC record of a group."""

    record_id: int
    phone: str
    expired_date: date | None
    date_collected: datetime
    last_update: datetime

    def held(self, today: date) -> bool:
        """Choice: held while expiredDate is empty or after today."""
        return self.expired_date is None or self.expired_date > today

    def as_json(self, *, integer: bool = False) -> dict[str, object]:
        """The `dncRecords` item (`phoneNumber` a JSON integer when `integer`)."""
        return {
            "recordId": self.record_id,
            "createdBy": "dncsync-emulator",
            "phoneNumber": int(self.phone) if integer else self.phone,
            "formattedPhone": formatted(self.phone),
            "expiredDate": self.expired_date.strftime("%m/%d/%Y") if self.expired_date else None,
            "dateCollected": iso(self.date_collected),
            "lastUpdateTime": iso(self.last_update),
        }


@dataclass(slots=True)
class Group:
    """One DNC group."""

    group_id: int
    name: str
    description: str
    created: datetime
    last_update: datetime
    is_active: bool = True
    records: dict[str, Record] = field(default_factory=dict)
    contributing_skills: set[int] = field(default_factory=set)
    scrubbed_skills: set[int] = field(default_factory=set)

    def as_json(self, today: date) -> dict[str, object]:
        """The group body; `validRecords` counts held records."""
        return {
            "dncGroupId": self.group_id,
            "dncGroupName": self.name,
            "dncGroupDescription": self.description,
            "validRecords": sum(1 for record in self.records.values() if record.held(today)),
            "isActive": self.is_active,
            "isRemoved": False,
            "createDate": iso(self.created),
            "lastUpdateTime": iso(self.last_update),
        }


@dataclass(frozen=True, slots=True)
class RecordResult:
    """One record's outcome in a batch answer."""

    success: bool
    error: str | None
    phone_number: object

    def as_json(self, *, with_number: bool = True) -> dict[str, object]:
        """The `recordResults` item; without `phoneNumber` unless `with_number`."""
        key = phone_key(self.phone_number)
        body: dict[str, object] = {
            "success": self.success,
            "error": self.error,
            "formattedPhone": formatted(key) if key else None,
        }
        if with_number:
            body["phoneNumber"] = self.phone_number
        return body


class CxoneStore:
    """All CXone DNC state of one tenant."""

    def __init__(self, tenant_capacity: int) -> None:
        self.tenant_capacity = tenant_capacity
        self.groups: dict[int, Group] = {}
        self._next_group = 1000
        self._next_record = 1

    def get(self, group_id: int) -> Group:
        """The group, or 404."""
        found = self.groups.get(group_id)
        if found is None:
            raise CxoneError(404, "NotFound", f"DNC group {group_id} was not found")
        return found

    def create(self, name: object, description: object, now: datetime) -> Group:
        """POST /dnc-groups."""
        if not isinstance(name, str) or not name.strip():
            raise CxoneError(400, "InvalidParameter", "dncGroupName is required")
        self._next_group += 1
        group = Group(
            self._next_group,
            name,
            description if isinstance(description, str) else "",
            created=now,
            last_update=now,
        )
        self.groups[group.group_id] = group
        return group

    def tenant_size(self) -> int:
        """Records stored across the tenant (held and expired)."""
        return sum(len(group.records) for group in self.groups.values())

    def upsert(self, group_id: int, items: list[object], now: datetime) -> list[RecordResult]:
        """POST .../records: each record succeeds or fails alone."""
        group = self.get(group_id)
        results: list[RecordResult] = []
        for item in items:
            raw = item.get("phoneNumber") if isinstance(item, dict) else item
            key = phone_key(raw)
            if key is None or not isinstance(item, dict):
                results.append(RecordResult(False, "InvalidPhoneNumber", raw))
                continue
            try:
                expired = parse_expired_date(item.get("expiredDate"))
            except ValueError:
                results.append(RecordResult(False, "InvalidExpiredDate", raw))
                continue
            held = group.records.get(key)
            if held is not None:
                held.expired_date = expired  # choice: a re-POST replaces expiredDate
                held.last_update = now
            elif self.tenant_size() >= self.tenant_capacity:
                results.append(RecordResult(False, "MaxRecordsExceeded", raw))
                continue
            else:
                group.records[key] = Record(self._next_record, key, expired, now, now)
                self._next_record += 1
            results.append(RecordResult(True, None, raw))
        group.last_update = now
        return results

    def expire(
        self, group_id: int, items: list[object], today: date, now: datetime
    ) -> list[RecordResult]:
        """DELETE .../records: choice: the record stays, its expiredDate becomes the one sent
        (today when none); a record already expired keeps its own."""
        group = self.get(group_id)
        results: list[RecordResult] = []
        for item in items:
            raw = item.get("phoneNumber") if isinstance(item, dict) else item
            key = phone_key(raw)
            if key is None:
                results.append(RecordResult(False, "InvalidPhoneNumber", raw))
                continue
            try:
                sent = item.get("expiredDate") if isinstance(item, dict) else None
                given = parse_expired_date(sent)
            except ValueError:
                results.append(RecordResult(False, "InvalidExpiredDate", raw))
                continue
            held = group.records.get(key)
            if held is None:
                results.append(RecordResult(False, "RecordNotFound", raw))
                continue
            if held.expired_date is None or held.expired_date > today:
                held.expired_date = given or today
                held.last_update = now
            results.append(RecordResult(True, None, raw))
        group.last_update = now
        return results

    def place(self, group_id: int, key: str, expired: date | None, now: datetime) -> None:
        """Store or overwrite one record with no checks at all (planting drift in tests)."""
        group = self.get(group_id)
        held = group.records.get(key)
        if held is None:
            group.records[key] = Record(self._next_record, key, expired, now, now)
            self._next_record += 1
        else:
            held.expired_date = expired
            held.last_update = now

    def search(self, phone: str) -> list[tuple[Group, Record]]:
        """Groups holding a record of this number (held or expired)."""
        return [
            (group, group.records[phone])
            for group in sorted(self.groups.values(), key=lambda g: g.group_id)
            if phone in group.records
        ]
