"""Which column holds what: found from the header through documented aliases, or named."""

from __future__ import annotations

from dataclasses import dataclass

from dncsync.errors import InputError
from dncsync.policy import alias_key
from dncsync.privacy import mask_text
from dncsync.sources.spec import SourceSpec

# Each field's header aliases, compared case, space, `_` and `-` insensitively; the first
# alias that matches wins, then the leftmost column. Documented in docs/validate.md.
ALIASES: dict[str, tuple[str, ...]] = {
    "phone": (
        "phone", "phone_number", "phonenumber", "number", "msisdn", "telephone", "tel",
        "mobile", "telephone_number", "mobile_number", "cell", "cell_phone", "e164",
    ),
    "reason": ("reason", "reason_code", "dnc_reason", "dnc_reason_code"),
    "source": ("source", "source_name", "list", "list_name", "origin"),
    "date_collected": (
        "date_collected", "collected", "collected_at", "collected_on", "date_added",
        "added_at", "opt_out_date", "optout_date", "request_date", "requested_at",
        "created_at", "date",
    ),
    "expiration": (
        "expiration", "expiration_date", "expires", "expires_at", "expiry", "expiry_date",
        "expire_date", "expires_on",
    ),
    "expiration_policy": ("expiration_policy", "expiry_policy", "retention_policy"),
}  # fmt: skip

FIELDS = tuple(ALIASES)
# A DNC export has a handful of columns, a CRM extract a few hundred: a header far wider is
# not a header (and mapping it would cost time and memory for nothing).
MAX_COLUMNS = 10_000


@dataclass(frozen=True, slots=True)
class ColumnMap:
    """The 0-based index of each field's column; fields without a column are absent."""

    indices: dict[str, int]
    width: int  # columns in the header

    @property
    def phone(self) -> int:
        """The phone column's index."""
        return self.indices["phone"]


def _named(spec: SourceSpec) -> dict[str, str | None]:
    return {
        "phone": spec.phone_column,
        "reason": spec.reason_column,
        "source": spec.source_column,
        "date_collected": spec.date_collected_column,
        "expiration": spec.expiration_column,
        "expiration_policy": spec.expiration_policy_column,
    }


def map_columns(header: list[str], spec: SourceSpec) -> ColumnMap:
    """Find each field's column in a header row; the phone column is required."""
    if len(header) > MAX_COLUMNS:
        raise InputError(
            f"{spec.url}: the header has {len(header):,} columns, more than the {MAX_COLUMNS:,} "
            "a DNC export could have (is the first line a header? if not, pass --no-header)"
        )
    keys = [alias_key(name) for name in header]
    where: dict[str, list[int]] = {}  # each header key's columns, leftmost first
    for index, key in enumerate(keys):
        where.setdefault(key, []).append(index)
    indices: dict[str, int] = {}
    taken: set[int] = set()
    for field, named in _named(spec).items():
        if named is not None:
            if alias_key(named) not in where:
                raise InputError(
                    f"{spec.url}: no column named {named!r}; the header has {_listing(header)}"
                )
            indices[field] = where[alias_key(named)][0]
            taken.add(indices[field])
    for field, aliases in ALIASES.items():
        if field in indices:
            continue
        for alias in aliases:
            free = [i for i in where.get(alias_key(alias), ()) if i not in taken]
            if free:
                indices[field] = free[0]
                taken.add(free[0])
                break
    if "phone" not in indices:
        raise InputError(
            f"{spec.url}: no phone column in the header ({_listing(header)}); "
            "name it with --phone-column, or pass --no-header if the file has no header"
        )
    return ColumnMap(indices, len(header))


def headerless(spec: SourceSpec) -> ColumnMap:
    """The columns of a file without a header: the phone is the first column."""
    return ColumnMap({"phone": 0}, 1)


def _listing(header: list[str]) -> str:
    # A headerless file's first row is data: its cells may be phone numbers.
    shown = ", ".join(repr(mask_text(name)) for name in header[:12])
    return shown + (", ..." if len(header) > 12 else "") if header else "no columns"
