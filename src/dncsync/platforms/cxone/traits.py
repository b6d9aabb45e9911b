"""Which CXone variant an answer shows: pure reading of a decoded body, for the fingerprint.

dncsync reads every variant either way (`results`); these only describe what was seen, so a
run's evidence and `dncsync check` can say which variant a tenant speaks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dncsync.targets.variant import json_type


def answer_traits(body: object) -> dict[str, str]:
    """What a records write's answer shows: nesting, typing, how results name numbers."""
    if not isinstance(body, Mapping):
        return {}
    traits: dict[str, str] = {}
    holder: Mapping[str, Any] | None = None
    nested = body.get("resultSet")
    if isinstance(nested, Mapping) and "recordResults" in nested:
        holder, traits["results_nesting"] = nested, "resultSet"
    elif "recordResults" in body:
        holder, traits["results_nesting"] = body, "top level"
    if holder is None:
        return traits
    if "errorCount" in holder:
        traits["error_count_type"] = json_type(holder["errorCount"])
    results = holder.get("recordResults")
    if isinstance(results, list) and results and isinstance(results[0], Mapping):
        first = results[0]
        if "success" in first:
            traits["success_type"] = json_type(first["success"])
        named = [key for key in ("phoneNumber", "formattedPhone") if first.get(key)]
        traits["results_name"] = " and ".join(named) if named else "no number"
    return traits


def group_traits(group: Mapping[str, Any]) -> dict[str, str]:
    """What a group's description shows: how its counts and flags are typed."""
    traits: dict[str, str] = {}
    if "validRecords" in group:
        traits["count_type"] = json_type(group["validRecords"])
    if "isActive" in group:
        traits["flag_type"] = json_type(group["isActive"])
    return traits


__all__ = ["answer_traits", "group_traits"]
