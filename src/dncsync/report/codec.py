"""JSON for run reports: dataclasses to plain JSON and back, dates as ISO 8601 strings.

A small walk over the dataclass fields and their type hints, so `dncsync report RUN_ID` can
re-render a stored report in any format without keeping a second schema by hand.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from datetime import date, datetime
from enum import Enum
from functools import cache
from typing import Any, TypeVar

from dncsync.report.model import SCHEMA, AccountingEvidence, PlanSummary, RunReport

_T = TypeVar("_T")

# Computed properties worth showing to a reader of the JSON (ignored when reading back).
_DERIVED: dict[type[Any], tuple[str, ...]] = {
    AccountingEvidence: ("balanced",),
    PlanSummary: ("writes",),
    RunReport: ("duration_seconds",),
}


def to_plain(value: Any) -> Any:
    """A report value as JSON-ready data (dicts, lists, strings, numbers)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        plain = {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        for name in _DERIVED.get(type(value), ()):
            plain[name] = to_plain(getattr(value, name))
        return plain
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_plain(item) for item in value]
    return value


def dumps(report: RunReport) -> str:
    """The report as pretty JSON text."""
    return json.dumps(to_plain(report), indent=2, ensure_ascii=False) + "\n"


def loads(text: str) -> RunReport:
    """Read a report written by `dumps`."""
    data = json.loads(text)
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise ValueError(f"not a dncsync run report (expected schema {SCHEMA})")
    return from_plain(RunReport, data)


def from_plain(cls: type[_T], data: Any) -> _T:
    """Rebuild a dataclass of type `cls` from JSON-ready data."""
    return typing.cast(_T, _convert(cls, data))


@cache
def _hints(cls: type[Any]) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _convert(kind: Any, value: Any) -> Any:
    origin = typing.get_origin(kind)
    if origin in (types.UnionType, typing.Union):
        if value is None:
            return None
        options = [arg for arg in typing.get_args(kind) if arg is not type(None)]
        return _convert(options[0], value)
    if origin is tuple:
        item = typing.get_args(kind)[0]
        return tuple(_convert(item, v) for v in value)
    if origin is list:
        item = typing.get_args(kind)[0]
        return [_convert(item, v) for v in value]
    if origin is dict:
        key_type, value_type = typing.get_args(kind)
        return {_convert(key_type, k): _convert(value_type, v) for k, v in value.items()}
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        hints = _hints(kind)
        names = {f.name for f in dataclasses.fields(kind) if f.init}
        return kind(**{n: _convert(hints[n], value[n]) for n in names if n in value})
    if kind is datetime:
        return datetime.fromisoformat(value)
    if kind is date:
        return date.fromisoformat(value)
    if isinstance(kind, type) and issubclass(kind, Enum):
        return kind(value)
    if kind is float and isinstance(value, int):
        return float(value)
    return value


__all__ = ["dumps", "from_plain", "loads", "to_plain"]
