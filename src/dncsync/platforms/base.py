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
from pydantic import BaseModel, ConfigDict, Field

from dncsync.net.auth import Clock
from dncsync.plan import Mode
from dncsync.targets.base import Capabilities, Target


class TargetConfigBase(BaseModel):
    """The keys every `[[target]]` has, whatever its platform (docs/configuration.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    platform: str
    name: str
    base_url: str | None = None  # overrides the platform hosts (emulator, gateways)
    mode: Mode = Mode.UPSERT
    max_removal_fraction: float = Field(0.01, ge=0.0, le=1.0)
    sources: list[str] | None = None  # default: every source
    expire_after_retention: bool = False
    batch_size: int = Field(1000, ge=1, le=100_000)
    concurrency: int = Field(4, ge=1, le=64)
    retry_budget_seconds: float = Field(300.0, gt=0)
    request_timeout_seconds: float = Field(60.0, gt=0)
    requests_per_minute: float = Field(300.0, gt=0)  # the starting pace; 429s and headers adapt it


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


__all__ = ["Capabilities", "Platform", "TargetConfigBase"]
