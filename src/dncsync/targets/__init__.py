"""The platforms dncsync writes to, each behind the `Target` protocol, and a factory."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import datetime

import httpx

from dncsync.net.auth import Clock
from dncsync.targets.base import (
    Action,
    BatchLike,
    BatchResult,
    RemoteRecord,
    Target,
    WriteBatch,
)
from dncsync.targets.cxone import (
    CxoneSettings,
    CxoneTarget,
    UnsendableNumber,
    cxone_number,
    e164_from_cxone,
)
from dncsync.targets.genesys import (
    GENESYS_API_HOSTS,
    GenesysSettings,
    GenesysTarget,
    expiration_instant,
)

TargetSettings = GenesysSettings | CxoneSettings


def build_target(
    settings: TargetSettings,
    client: httpx.AsyncClient | None = None,
    *,
    now: Callable[[], datetime] | None = None,
    clock: Clock = time.monotonic,
    rng: random.Random | None = None,
) -> GenesysTarget | CxoneTarget:
    """The target for a settings object; it opens its own client unless one is given."""
    if isinstance(settings, GenesysSettings):
        return GenesysTarget(settings, client, now=now, clock=clock, rng=rng)
    return CxoneTarget(settings, client, now=now, clock=clock, rng=rng)


__all__ = [
    "GENESYS_API_HOSTS",
    "Action",
    "BatchLike",
    "BatchResult",
    "CxoneSettings",
    "CxoneTarget",
    "GenesysSettings",
    "GenesysTarget",
    "RemoteRecord",
    "Target",
    "TargetSettings",
    "UnsendableNumber",
    "WriteBatch",
    "build_target",
    "cxone_number",
    "e164_from_cxone",
    "expiration_instant",
]


def _conforms(genesys: GenesysTarget, cxone: CxoneTarget) -> tuple[Target, Target]:
    """Never called: mypy checks here that both targets satisfy the protocol."""
    return genesys, cxone
