"""Plausible production variants of the platforms' unconfirmed contract points.

Each variant is one named way a real tenant may answer differently from the emulator's default
choice (docs/emulator.md, "Variants"). They are independent: any set of them may be switched on
at once (`EmulatorSettings.variants`, `dncsync emulator --variant NAME`), so a client can be
shown exact under each alone and under all together.
"""

from __future__ import annotations

from collections.abc import Iterable

# A CXone record page larger than this is refused with 400 under `cxone_page_cap`: the one
# documented page size of another CXone endpoint.
CXONE_PAGE_CAP = 100
# Numbers one Genesys PATCH may carry under `genesys_patch_cap` (no documented maximum exists).
GENESYS_PATCH_CAP = 50
# How far behind the numbers held a Genesys list's `size` is under `genesys_lagging_size`.
GENESYS_SIZE_LAG_SECONDS = 30.0

# `genesys_export_renamed`: the usual columns under other headers than the emulator's default.
RENAMED_EXPORT_HEADER = ("DNC Phone", "Added On", "Expires")
# `genesys_export_reordered`: where (number, date added, expiration) go: date added first,
# then the expiration, then the number.
REORDERED_EXPORT = (1, 2, 0)

VARIANTS: dict[str, str] = {
    "cxone_string_types": 'booleans and counts as strings ("success": "true", "errorCount": "0")',
    "cxone_formatted_results": "per-record results without phoneNumber, formattedPhone only",
    "cxone_page_cap": f"record pages above {CXONE_PAGE_CAP} refused with 400",
    "cxone_delete_expiry": "DELETE .../records needs an expiredDate on each record and answers "
    "its results at the top level",
    "cxone_integer_phone": "phoneNumber accepted only as a JSON integer (and listed as one)",
    "cxone_lenient_requests": "Accept: */* accepted; /InContactAPI/ and V27.0 paths; orderby "
    "in lower case",
    "genesys_patch_cap": f"a PATCH of more than {GENESYS_PATCH_CAP} numbers refused with 400",
    "genesys_bare_429": "429 without Retry-After",
    "genesys_lagging_size": f"size lags {GENESYS_SIZE_LAG_SECONDS:g} s behind the numbers held",
    "genesys_export_reordered": "export columns in another order (date_added, "
    "expiration_date_time, phone_number)",
    "genesys_export_renamed": "export columns in the usual order under other headers",
}

ALL = frozenset(VARIANTS)


def checked(names: Iterable[str]) -> frozenset[str]:
    """The variant names, `all` standing for every one; ValueError names an unknown one."""
    chosen: set[str] = set()
    for name in names:
        for part in (p.strip() for p in name.split(",")):
            if part == "all":
                chosen |= ALL
            elif part in VARIANTS:
                chosen.add(part)
            elif part:
                raise ValueError(
                    f"unknown variant {part!r}; known: all, {', '.join(sorted(VARIANTS))}"
                )
    return frozenset(chosen)
