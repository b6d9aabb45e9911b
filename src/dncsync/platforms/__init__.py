"""The platforms dncsync writes to, found by their folders: the one place they are registered.

Each subpackage of `dncsync.platforms` is one platform and exposes `PLATFORM` (a `Platform`).
Adding a platform is adding a folder; nothing else in dncsync names one.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
import random
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx

from dncsync.net.auth import Clock
from dncsync.platforms.base import Capabilities, Platform, TargetConfigBase
from dncsync.targets.base import Target


@functools.cache
def registry() -> dict[str, Platform]:
    """Every platform by its configuration name, in name order."""
    found: dict[str, Platform] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if not info.ispkg:
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        platform = getattr(module, "PLATFORM", None)
        if isinstance(platform, Platform):
            found[platform.name] = platform
    return found


def names() -> tuple[str, ...]:
    """The `platform = "..."` values a configuration may use."""
    return tuple(registry())


def platform_named(name: str) -> Platform:
    """The platform a target's configuration names."""
    return registry()[name]


def platform_of(config: TargetConfigBase) -> Platform:
    """The platform of a configured target."""
    return platform_named(config.platform)


def config_models() -> tuple[type[TargetConfigBase], ...]:
    """Every platform's `[[target]]` model, for the configuration's union."""
    return tuple(platform.config_model for platform in registry().values())


def build_target(
    settings: Any,
    client: httpx.AsyncClient | None = None,
    *,
    now: Callable[[], datetime] | None = None,
    clock: Clock = time.monotonic,
    rng: random.Random | None = None,
) -> Target:
    """The target for a platform's settings object; it opens its own client unless given one."""
    for platform in registry().values():
        if isinstance(settings, platform.settings_type):
            return platform.build_target(settings, client, now=now, clock=clock, rng=rng)
    raise TypeError(f"no platform takes settings of type {type(settings).__name__}")


__all__ = [
    "Capabilities",
    "Platform",
    "TargetConfigBase",
    "build_target",
    "config_models",
    "names",
    "platform_named",
    "platform_of",
    "registry",
]
