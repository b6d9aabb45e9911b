"""What a source is: where its bytes live and how its columns are read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from dncsync.model import Reason, Strictness


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """One source of DNC records; column names left None are found from header aliases."""

    name: str
    url: str  # a local path (plain or gzip), "-" for stdin, or s3://bucket/key
    default_region: str = "US"
    strictness: Strictness = Strictness.VALID
    phone_column: str | None = None
    phone_columns: tuple[str, ...] = ()  # several phone columns: each value its own entry
    area_code_column: str | None = None  # with number_column: one number in two columns
    number_column: str | None = None
    # Row filters: (column, accepted values); a row is read when every column holds one of
    # its values (compared case-insensitively, surrounding spaces ignored).
    where: tuple[tuple[str, tuple[str, ...]], ...] = ()
    vanished: str = "keep"  # many objects: "keep" a vanished object's numbers, or "remove"
    reason_column: str | None = None
    source_column: str | None = None
    date_collected_column: str | None = None
    expiration_column: str | None = None
    expiration_policy_column: str | None = None
    no_header: bool = False  # the first column is the phone; there are no other columns
    encoding: str | None = None  # forces a decoding; None: UTF-8, cp1252 per undecodable line
    sheet: str | None = None  # .xlsx: the sheet to read; None: the first
    delimiter: str | None = None  # ",", tab, ";" or "|" (or their names); None: detected
    kind: str = "file"  # "file" or "registry"
    registry_date: date | None = None
    s3_endpoint_url: str | None = None  # else AWS_ENDPOINT_URL, else AWS
    default_reason: Reason | None = None  # for rows with no reason; registries: NATIONAL

    def __post_init__(self) -> None:
        # Configuration hands lists and a table; the spec keeps tuples (it is hashable).
        object.__setattr__(self, "phone_columns", tuple(self.phone_columns))
        where = self.where.items() if isinstance(self.where, dict) else self.where
        object.__setattr__(
            self, "where", tuple((column, tuple(values)) for column, values in where)
        )

    @property
    def fallback_reason(self) -> Reason | None:
        """The reason a row without one gets from its source, if any."""
        if self.default_reason is not None:
            return self.default_reason
        return Reason.NATIONAL if self.kind == "registry" else None
