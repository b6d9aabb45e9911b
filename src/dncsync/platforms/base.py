"""What a platform plugin declares: its configuration model, its capabilities, its target.

A platform is one folder under `dncsync/platforms/` whose package exposes `PLATFORM`, an
instance of `Platform`. Nothing outside that folder asks which platform a target is: the run
reads the capabilities, the configuration builds its target union from the registry, and
the report asks the platform for the list's id (dlt's destination factories work this way).
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from dncsync.model import Reason
from dncsync.net.auth import Clock
from dncsync.net.client import insecure_url
from dncsync.plan import Mode
from dncsync.targets.base import Capabilities, Target


class TargetConfigBase(BaseModel):
    """The keys every `[[target]]` has, whatever its platform (docs/configuration.md)."""

    # inf and nan are valid TOML floats; no key here means either (a pace of inf divides by
    # zero, a retry budget of inf retries for ever).
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    platform: str
    name: str
    base_url: str | None = None  # overrides the platform hosts (emulator, gateways)
    mode: Mode = Mode.UPSERT
    max_removal_fraction: float = Field(0.01, ge=0.0, le=1.0)
    sources: list[str] | None = None  # default: every source
    intake: bool = True  # takes the opt-outs `dncsync serve` received, whatever `sources` says
    scopes: list[str] | None = None  # intake: only requests with one of these scopes
    expire_after_retention: bool = False
    batch_size: int = Field(1000, ge=1, le=100_000)
    concurrency: int = Field(4, ge=1, le=64)
    retry_budget_seconds: float = Field(300.0, gt=0)
    request_timeout_seconds: float = Field(60.0, gt=0)
    requests_per_minute: float = Field(300.0, gt=0)  # the starting pace; 429s and headers adapt it
    remove_foreign: bool = False  # mirror may remove numbers dncsync did not put on the list
    capacity: int | None = Field(None, ge=1)  # most numbers the target holds; default: platform's
    verify_every: str = "7d"  # read the whole list at least this often ("0" = every run)
    # Numbers found on this list that no source holds and dncsync did not add (an agent's
    # "do not call", an IVR) become opt-outs pushed to every other target (`sync --collect`,
    # and serve every `collect_every`).
    collect: bool = False
    collect_reason: Reason = Reason.CUSTOMER_REQUESTED
    collect_every: str = "15m"

    @field_validator("base_url")
    @classmethod
    def _base_url_is_private(cls, value: str | None, info: ValidationInfo) -> str | None:
        # The one place every target's URL passes: credentials and numbers never go in clear.
        problem = None if value is None else insecure_url(value)
        if problem is not None:
            raise ValueError(f"target {info.data.get('name', '?')!r}: {problem}")
        return value

    @field_validator("verify_every")
    @classmethod
    def _verify_every_parses(cls, value: str) -> str:
        duration_seconds(value)
        return value

    @field_validator("collect_every")
    @classmethod
    def _collect_every_parses(cls, value: str) -> str:
        # At least a second: "0" would read the whole list back to back.
        if duration_seconds(value) < 1:
            raise ValueError(f"{value!r}: collect at most once a second (e.g. 15m)")
        return value

    @property
    def collect_every_seconds(self) -> float:
        """`collect_every` in seconds."""
        return duration_seconds(self.collect_every)

    @property
    def verify_every_seconds(self) -> float:
        """`verify_every` in seconds."""
        return duration_seconds(self.verify_every)


def one_way_to_name_lists(raw: Any, single: str, several: str) -> Any:
    """`single` or `several` (a non-empty list of distinct ids), never both; with `several`,
    `single` is filled with its first id, so code that reads one list keeps working."""
    if not isinstance(raw, dict) or several not in raw:
        return raw
    if single in raw:
        raise ValueError(f"{single} and {several} are exclusive: name the lists one way")
    ids = raw[several]
    if not isinstance(ids, list) or not ids:
        raise ValueError(f"{several} must be a non-empty list")
    if len(set(map(str, ids))) != len(ids):
        raise ValueError(f"{several} names a list twice")
    return {**raw, single: ids[0]}


_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def duration_seconds(text: str) -> float:
    """Seconds in a duration such as "7d", "12h", "30m" or "0"; ValueError otherwise."""
    value = text.strip().lower()
    if value == "0":
        return 0.0
    number, unit = value[:-1], value[-1:]
    if unit not in _DURATION_UNITS or not number.isdigit():
        raise ValueError(f"{text!r} is not a duration (use e.g. 7d, 12h, 30m or 0)")
    return float(int(number) * _DURATION_UNITS[unit])


class Platform(ABC):
    """One platform dncsync writes to: everything the rest of dncsync may know about it."""

    name: ClassVar[str]  # the `platform = "..."` value in a target's configuration
    title: ClassVar[str]  # how people call it, for messages
    config_model: ClassVar[type[TargetConfigBase]]
    settings_type: ClassVar[type[Any]]  # the runtime settings, credentials included
    target_type: ClassVar[Callable[..., Target]]  # takes (settings, client, now=, clock=, rng=)
    capabilities: ClassVar[Capabilities]

    @abstractmethod
    def settings(self, config: Any) -> Any:
        """The target's runtime settings, its credentials read from the environment."""

    @abstractmethod
    def list_id(self, config: Any) -> str:
        """The id of the list (or group) a configured target writes to, as text."""

    def lists(self, config: Any) -> list[Any]:
        """The target's lists, each as a one-list configuration (a target may name several)."""
        return [config]

    def capacity(self, config: TargetConfigBase, lists: int) -> tuple[int, int]:
        """(numbers the target holds at most, numbers one of its lists holds at most).

        Spreading over several lists raises the first only up to the account's limit (a
        Genesys org, a CXone tenant); `capacity` in the configuration overrides it.
        """
        caps = self.capabilities
        per_list = caps.capacity
        total = per_list * lists if caps.capacity_scope == "list" else per_list
        total = min(total, caps.account_capacity)
        if config.capacity is not None:
            total = config.capacity
            per_list = min(per_list, total)
        return total, min(per_list, total)

    @abstractmethod
    def list_identity(self, config: Any) -> str:
        """What makes the list one list, whatever the target is called: the key its state,
        journal and lock are kept under (two targets naming it are a configuration error)."""

    def build_target(
        self,
        settings: Any,
        client: httpx.AsyncClient | None = None,
        *,
        now: Callable[[], datetime] | None = None,
        clock: Clock,
        rng: random.Random | None = None,
    ) -> Target:
        """A ready target (use it with `async with`); it opens its own client unless given one."""
        return self.target_type(settings, client, now=now, clock=clock, rng=rng)


__all__ = [
    "Capabilities",
    "Platform",
    "TargetConfigBase",
    "duration_seconds",
    "one_way_to_name_lists",
]
