"""What a target's answers showed of the platform's unconfirmed points: its variant fingerprint.

A target notes each trait as it meets it (how booleans are typed, where results are nested,
whether a 429 carried `Retry-After`, which columns an export named, ...). The fingerprint is
evidence, never a switch: dncsync reads every variant it knows whatever the fingerprint says,
and a run's report records it so an auditor (and `dncsync check`) can tell which variant a
tenant speaks.
"""

from __future__ import annotations


class Fingerprint:
    """Traits seen, each with every distinct value it showed, in the order first seen."""

    __slots__ = ("_seen",)

    def __init__(self) -> None:
        self._seen: dict[str, list[str]] = {}

    def note(self, trait: str, value: str) -> None:
        """Record that the answers showed `value` for `trait`."""
        values = self._seen.setdefault(trait, [])
        if value not in values:
            values.append(value)

    def update(self, other: dict[str, str]) -> None:
        """Merge another fingerprint's view (several lists of one target)."""
        for trait, value in other.items():
            for part in value.split("; "):
                self.note(trait, part)

    def as_dict(self) -> dict[str, str]:
        """Trait -> what was seen (several values joined by `; `), sorted by trait."""
        return {trait: "; ".join(values) for trait, values in sorted(self._seen.items())}


def json_type(value: object) -> str:
    """How a JSON value is typed, in the words the fingerprint uses."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    return type(value).__name__


__all__ = ["Fingerprint", "json_type"]
