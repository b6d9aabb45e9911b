"""`dncsync check`: a read-only preflight of each target against its real tenant.

Per target, without writing anything: the credentials give a token; the list exists and can
protect (a Genesys Internal `rds` list, an active CXone group); one read as a sync makes it
(an export, or the first page of records); the capacity left; the clock against the
platform's `Date`; which campaigns or skills use the list, where the credentials may read
them; and the variant fingerprint the answers showed. Write permission cannot be shown
without writing: a target whose every check passed is "write not verified", never "ready".

It opens no state store, lock or audit log (a check is not a run and changes nothing), and
never names a platform: each platform's target answers its own read and usage checks.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from dncsync.config import Config
from dncsync.errors import AuthError, ConfigError, DncsyncError
from dncsync.platforms import build_target, platform_of
from dncsync.platforms.base import TargetConfigBase
from dncsync.privacy import mask_text
from dncsync.run.lists import CLOCK_SKEW_LIMIT_SECONDS
from dncsync.targets.base import Check, ListFacts, Target


@dataclass(slots=True)
class TargetCheck:
    """One target's preflight: its checks and the variant its answers showed."""

    name: str
    platform: str
    checks: list[Check] = field(default_factory=list)
    variant: dict[str, str] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        """Every check passed (as far as can be shown without writing)."""
        return bool(self.checks) and all(check.ok for check in self.checks)

    def add(self, name: str, ok: bool, detail: str) -> None:
        """One more check, its detail masked (a message may quote a number)."""
        self.checks.append(Check(name, ok, mask_text(detail)))

    def summary(self) -> dict[str, Any]:
        """The JSON shape: `{ready, checks: [{name, ok, detail}], variant}`."""
        return {
            "ready": self.ready,
            "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in self.checks],
            "variant": dict(self.variant),
        }


def capacity_check(target: Target, facts: ListFacts) -> Check:
    """How many more numbers the list (or, on CXone, the tenant) can take."""
    capabilities = target.capabilities
    if facts.size is None:
        return Check("capacity", True, "the platform did not say how many numbers it holds")
    left = capabilities.capacity - facts.size
    scope = "list" if capabilities.capacity_scope == "list" else "account, across its lists"
    detail = f"{facts.size:,} held of {capabilities.capacity:,} per {scope}: at most {left:,} left"
    if capabilities.size_is_eventual:
        detail += " (the platform's count lags its writes)"
    if capabilities.capacity_scope == "account":
        detail += " (other lists, and expired records, use room too)"
    return Check("capacity", left > 0, detail)


def clock_check(facts: ListFacts) -> Check:
    """This machine's clock against the platform's `Date`."""
    if facts.platform_time is None:
        return Check("clock", True, "the platform's answer carried no Date: skew not measured")
    skew = (facts.local_time - facts.platform_time).total_seconds()
    direction = "ahead of" if skew >= 0 else "behind"
    detail = f"this machine is {abs(skew):.0f} s {direction} the platform"
    if abs(skew) <= CLOCK_SKEW_LIMIT_SECONDS:
        return Check("clock", True, detail)
    return Check(
        "clock",
        False,
        f"{detail}, more than {CLOCK_SKEW_LIMIT_SECONDS:.0f} s: a sync would decide retention "
        "and expiry by the platform's day; set this machine's clock right",
    )


async def _check_list(result: TargetCheck, handle: Target, list_id: str, label: str) -> None:
    """The checks of one list, given its target is open."""
    try:
        facts = await handle.describe()
    except AuthError as error:
        result.add("credentials", False, str(error))
        return
    except DncsyncError as error:
        if not any(check.name == "credentials" for check in result.checks):
            signed = handle.signed_in
            result.add(
                "credentials",
                signed,
                "token obtained" if signed else "not reached: the list could not be asked",
            )
        result.add(f"list{label}", False, str(error))
        return
    if not any(check.name == "credentials" for check in result.checks):
        result.add("credentials", True, "token obtained")
    result.add(
        f"list{label}", facts.problem is None, facts.problem or f"{list_id} found; it takes numbers"
    )
    for check in (capacity_check(handle, facts), clock_check(facts)):
        result.add(f"{check.name}{label}", check.ok, check.detail)
    for step in (handle.read_check, handle.usage_check):
        try:
            check = await step()
        except DncsyncError as error:
            name = "read" if step == handle.read_check else "usage"
            result.add(f"{name}{label}", False, str(error))
            continue
        result.add(f"{check.name}{label}", check.ok, check.detail)


async def check_target(
    target: TargetConfigBase, transport: httpx.AsyncBaseTransport | None = None
) -> TargetCheck:
    """Every read-only check of one target; nothing is written anywhere."""
    platform = platform_of(target)
    result = TargetCheck(target.name, platform.name)
    parts = list(platform.lists(target))
    try:
        settings = [platform.settings(part) for part in parts]  # credentials from the env
    except ConfigError as error:
        result.add("credentials", False, str(error))
        return result
    async with contextlib.AsyncExitStack() as stack:
        client = None
        if transport is not None:
            client = await stack.enter_async_context(httpx.AsyncClient(transport=transport))
        for part, part_settings in zip(parts, settings, strict=True):
            handle = build_target(part_settings, client)
            await stack.enter_async_context(handle)
            list_id = platform.list_id(part)
            await _check_list(result, handle, list_id, f" {list_id}" if len(parts) > 1 else "")
            for trait, value in handle.variant().items():
                result.variant[trait] = value
    return result


async def check_targets(
    targets: Sequence[TargetConfigBase], transport: httpx.AsyncBaseTransport | None = None
) -> list[TargetCheck]:
    """Every target's checks, side by side."""
    return list(await asyncio.gather(*(check_target(t, transport) for t in targets)))


def run_check(
    config: Config, target: str | None = None, transport: httpx.AsyncBaseTransport | None = None
) -> list[TargetCheck]:
    """The preflight of every chosen target (`--target` one of them)."""
    return asyncio.run(check_targets(config.targets_named(target), transport))


__all__ = [
    "TargetCheck",
    "capacity_check",
    "check_target",
    "check_targets",
    "clock_check",
    "run_check",
]
