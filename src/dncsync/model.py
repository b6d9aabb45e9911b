"""The nouns every part of dncsync shares: entries, reasons, expiration policies, rejects.

Values here are frozen and slotted: they cross module boundaries (ingest -> plan -> push ->
report) and must not change on the way. Phone numbers are E.164 strings (`+14155552671`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum


class Reason(StrEnum):
    """Why a number must not be called; declared strongest first (DOMAIN.md principle 3)."""

    LITIGATOR = "LITIGATOR"
    NATIONAL = "NATIONAL"
    STATE = "STATE"
    LOCAL = "LOCAL"
    CUSTOMER_REQUESTED = "CUSTOMER_REQUESTED"
    COMPANY_POLICY = "COMPANY_POLICY"
    UNKNOWN = "UNKNOWN"

    @property
    def strength(self) -> int:
        """Higher is stronger: a merge keeps the strongest reason."""
        return _REASON_STRENGTH[self]


_REASON_STRENGTH: dict[Reason, int] = {
    reason: len(Reason) - index for index, reason in enumerate(Reason)
}


class ExpirationPolicy(StrEnum):
    """How an entry's retention ends."""

    NEVER = "NEVER"
    RELATIVE = "RELATIVE"  # a duration from the date collected
    ABSOLUTE = "ABSOLUTE"  # a fixed date


class RejectReason(StrEnum):
    """Why a row's phone value was refused: a fixed list, documented in docs/validate.md."""

    EMPTY = "empty"  # the phone field is blank
    NOT_A_NUMBER = "not_a_number"  # words, spreadsheet errors, too few digits to parse
    INVALID_COUNTRY_CODE = "invalid_country_code"  # no such country calling code
    TOO_SHORT = "too_short"  # shorter than any number of that country
    TOO_LONG = "too_long"  # longer than any number of that country
    INVALID_LENGTH = "invalid_length"  # a length between that country's lengths
    POSSIBLE_NOT_VALID = "possible_not_valid"  # right length, but no assigned range matches
    # A spreadsheet showed the number in scientific notation with fewer digits than it has
    # (4.15555E+9): the number's last digits are gone, and guessing them would be wrong.
    SCIENTIFIC_DIGITS_LOST = "scientific_digits_lost"


class Strictness(StrEnum):
    """Which phonenumbers verdict accepts a number."""

    VALID = "valid"  # phonenumbers.is_valid_number (the default)
    POSSIBLE = "possible"  # phonenumbers.is_possible_number


@dataclass(frozen=True, slots=True)
class Entry:
    """One number that must not be called, after normalization and merging."""

    phone: str  # E.164
    reason: Reason
    expiration_policy: ExpirationPolicy
    expires_at: date | None  # None exactly when the policy is NEVER; held through this day (UTC)
    date_collected: date | None
    source: str  # the name of the source the entry's strongest row came from

    def expired(self, today: date) -> bool:
        """True once the retention has ended (the expiry day is over)."""
        return self.expires_at is not None and self.expires_at < today


@dataclass(frozen=True, slots=True)
class Reject:
    """A row whose phone value failed; written to the rejects file, never silently dropped."""

    source: str
    line: int  # 1-based physical line where the record starts; the header is line 1
    raw_phone: str
    reason: RejectReason
    obj: str | None = None  # the object, in a source of many objects


@dataclass(frozen=True, slots=True)
class RowWarning:
    """A row whose metadata was corrected (DOMAIN.md principle 1): where, what, and the text."""

    source: str
    line: int  # 1-based physical line, as for rejects
    kind: str  # a warning kind (docs/validate.md)
    detail: str = ""  # the text that was corrected; phone numbers masked
    obj: str | None = None  # the object, in a source of many objects


@dataclass(slots=True)
class Accounting:
    """Every row and every phone value read is accounted for:

    rows = rows_with_value + filtered + rows_without_value
    values = accepted + duplicates + rejected

    With one phone column each row a filter keeps is one value (an empty one is rejected as
    `empty`); with several, each non-empty phone value is one.
    """

    rows: int = 0
    accepted: int = 0  # unique numbers after merging
    duplicates: int = 0  # valid values merged into a number already seen, across sources too
    rejected: int = 0
    blank_lines: int = 0  # not rows
    warnings: dict[str, int] = field(default_factory=dict)  # kind -> count
    reject_reasons: dict[str, int] = field(default_factory=dict)  # RejectReason value -> count
    values: int = 0  # phone values judged
    filtered: int = 0  # rows a row filter left out (never rejected)
    rows_with_value: int = 0
    rows_without_value: int = 0  # several phone columns, none filled

    def balanced(self) -> bool:
        """The accounting identities every run must satisfy."""
        return (
            self.values == self.accepted + self.duplicates + self.rejected
            and self.rows == self.rows_with_value + self.filtered + self.rows_without_value
        )


@dataclass(slots=True)
class SourceCounts:
    """What one source holds whatever it is merged with: its rows, rejects and warnings.

    Accepted numbers and duplicates are not here: they depend on the sources merged together.
    """

    rows: int = 0
    rejected: int = 0
    blank_lines: int = 0
    warnings: dict[str, int] = field(default_factory=dict)  # kind -> rows
    reject_reasons: dict[str, int] = field(default_factory=dict)  # RejectReason value -> rows
    values: int = 0
    filtered: int = 0
    rows_with_value: int = 0
    rows_without_value: int = 0


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """What was read from one source, for evidence (DOMAIN.md principle 8)."""

    name: str
    uri: str
    sha256: str  # of the bytes as stored (before gunzip)
    bytes: int
    rows: int
    kind: str = "file"  # "file" or "registry"
    registry_date: date | None = None
    s3_version_id: str | None = None
    s3_etag: str | None = None
    # A source of many objects (a prefix, a folder, a glob): each object read, in key order
    # (its name is the source's, its uri the object's). The source's own sha256 is then the
    # digest of the objects' "uri sha256" lines, its bytes and rows their sums.
    objects: tuple[SourceInfo, ...] = ()
