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
# The phone columns of CRM contact exports (Salesforce, HubSpot, Dynamics and the like): when a
# header has several columns among these and the phone aliases, every one is read (a contact
# who opted out opted out on each of their numbers). Fax columns are not phones one calls.
CRM_PHONE_ALIASES = (
    "mobile_phone", "home_phone", "other_phone", "work_phone", "business_phone",
    "assistant_phone", "direct_phone", "primary_phone", "secondary_phone", "alternate_phone",
    "alt_phone", "cell_phone_number", "home_phone_number", "work_phone_number", "landline",
    "phone_1", "phone_2", "phone_3", "phone1", "phone2", "phone3", "phone_mobile",
    "phone_home", "phone_work", "phone_other", "mobile_number", "contact_phone",
)  # fmt: skip
# A DNC export has a handful of columns, a CRM extract a few hundred: a header far wider is
# not a header (and mapping it would cost time and memory for nothing).
MAX_COLUMNS = 10_000


@dataclass(frozen=True, slots=True)
class ColumnMap:
    """The 0-based index of each field's column; fields without a column are absent.

    Besides FIELDS: `phone.1`, `phone.2`, ... (more phone columns), `area_code` and `number`
    (a number in two columns, instead of `phone`), `where.0`, `where.1`, ... (the columns
    of the row filters, in the source's order).
    """

    indices: dict[str, int]
    width: int  # columns in the header

    @property
    def phone(self) -> int:
        """The (first) phone column's index."""
        return self.indices["phone"]

    @property
    def plain(self) -> frozenset[int]:
        """Columns read as plain text: phone values are nearly all distinct, so a dictionary
        would cost without saving (metadata columns are dictionary-encoded)."""
        return frozenset(i for name, i in self.indices.items() if name in PHONE_PARTS)

    @property
    def phone_fields(self) -> list[str]:
        """The batch columns holding phone values: `phone`, `phone.1`, ..."""
        return [name for name in self.indices if name == "phone" or name.startswith("phone.")]


def order(name: str) -> tuple[int, str]:
    """Where a column's field comes among a batch's columns."""
    base = name.split(".", 1)[0]
    return (FIELDS.index(base) if base in FIELDS else len(FIELDS), name)


PHONE_PARTS = frozenset(
    {"phone", "area_code", "number"} | {f"phone.{i}" for i in range(1, MAX_COLUMNS)}
)


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

    def named_column(named: str) -> int:
        if alias_key(named) not in where:
            raise InputError(
                f"{spec.url}: no column named {named!r}; the header has {_listing(header)}"
            )
        return where[alias_key(named)][0]

    if spec.area_code_column is not None or spec.number_column is not None:
        if spec.area_code_column is None or spec.number_column is None:
            raise InputError(
                f"{spec.url}: area_code_column and number_column go together (one number in "
                "two columns)"
            )
        indices["area_code"] = named_column(spec.area_code_column)
        indices["number"] = named_column(spec.number_column)
        taken.update(indices.values())
    elif spec.phone_columns:
        for slot, phone_name in enumerate(spec.phone_columns):
            index = named_column(phone_name)
            if index in taken:
                raise InputError(f"{spec.url}: phone column {phone_name!r} is named twice")
            indices["phone" if slot == 0 else f"phone.{slot}"] = index
            taken.add(index)
    for slot, (filtered_on, _) in enumerate(spec.where):
        indices[f"where.{slot}"] = named_column(filtered_on)
    for field, named in _named(spec).items():
        if named is not None and field not in indices:
            indices[field] = named_column(named)
            taken.add(indices[field])
    if "phone" not in indices and "area_code" not in indices:
        _find_phones(keys, taken, indices)
    for field, aliases in ALIASES.items():
        if field in indices or (field == "phone" and "area_code" in indices):
            continue
        for alias in aliases:
            free = [i for i in where.get(alias_key(alias), ()) if i not in taken]
            if free:
                indices[field] = free[0]
                taken.add(free[0])
                break
    if "phone" not in indices and "area_code" not in indices:
        # One column holding a separator: the delimiter was named wrong, not the column.
        split = len(header) == 1 and any(d in header[0] for d in ",\t;|")
        raise InputError(
            f"{spec.url}: no phone column in the header ({_listing(header)}); "
            + (
                "the header is one column holding a separator: name the delimiter with --delimiter"
                if split
                else "name it with --phone-column, or pass --no-header if the file has no header"
            )
        )
    return ColumnMap(indices, len(header))


def _find_phones(keys: list[str], taken: set[int], indices: dict[str, int]) -> None:
    """Every phone column of the header, when it has several (a CRM contact export).

    With one, the usual alias order decides as before (the caller's loop)."""
    phone_keys = {alias_key(a) for a in ALIASES["phone"] + CRM_PHONE_ALIASES}
    found = [i for i, key in enumerate(keys) if key in phone_keys and i not in taken]
    if len(found) < 2:
        return
    # The column the single-column aliases would pick stays first (`phone`): with a single
    # phone value per row it is the one read, so adding columns never changes which comes first.
    first = next(
        (i for alias in ALIASES["phone"] for i in found if keys[i] == alias_key(alias)), found[0]
    )
    ordered = [first] + [i for i in found if i != first]
    for slot, index in enumerate(ordered):
        indices["phone" if slot == 0 else f"phone.{slot}"] = index
        taken.add(index)


def headerless(spec: SourceSpec) -> ColumnMap:
    """The columns of a file without a header: the phone is the first column."""
    return ColumnMap({"phone": 0}, 1)


def _listing(header: list[str]) -> str:
    # A headerless file's first row is data: its cells may be phone numbers.
    shown = ", ".join(repr(mask_text(name)) for name in header[:12])
    return shown + (", ..." if len(header) > 12 else "") if header else "no columns"
