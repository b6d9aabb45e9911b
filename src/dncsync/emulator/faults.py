"""Which fault a request meets: a pure function of (seed, method, path, body digest, attempt).

No global random state and no arrival order: the same request, on its n-th attempt, meets the
same fault in every run with the same seed, however concurrent requests interleave. That makes
a failing end-to-end run reproducible from its seed alone.
"""

from __future__ import annotations

import fnmatch
import hashlib
from dataclasses import dataclass
from enum import StrEnum

from dncsync.emulator.settings import FaultSettings

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class FaultKind(StrEnum):
    """What an injected fault does to a request."""

    ERROR = "error"  # 500/502/503 before the request is applied
    CUT = "cut"  # connection dropped before the request is applied
    DELAY = "delay"  # answered normally, late
    STORM = "storm"  # 429
    AFTER_WRITE_ERROR = "after_write_error"  # applied, then answered 500/502/503
    AFTER_WRITE_CUT = "after_write_cut"  # applied, then the connection dropped


@dataclass(frozen=True, slots=True)
class Fault:
    """One injected fault: its kind, and the status it answers with (0 when none)."""

    kind: FaultKind
    status: int = 0
    delay_ms: int = 0

    @property
    def label(self) -> str:
        """How the request log names it, e.g. `error_503`, `after_write_cut`, `delay_250ms`."""
        if self.kind is FaultKind.DELAY:
            return f"delay_{self.delay_ms}ms"
        return f"{self.kind}_{self.status}" if self.status else str(self.kind)


def body_digest(body: bytes) -> str:
    """The SHA-256 of a request body, the part of a request's identity its payload carries."""
    return hashlib.sha256(body).hexdigest()


def request_key(method: str, path: str, query: str, digest: str) -> str:
    """The identity that attempt numbers count: same method, path, query and body."""
    target = f"{path}?{query}" if query else path
    return f"{method.upper()} {target} {digest}"


def _draw(seed: int, key: str, attempt: int, purpose: str) -> float:
    """A uniform number in [0, 1) fixed by its inputs."""
    material = f"{seed}\x00{key}\x00{attempt}\x00{purpose}".encode()
    return int.from_bytes(hashlib.sha256(material).digest()[:8], "big") / 2.0**64


def applies_to(settings: FaultSettings, path: str) -> bool:
    """Whether faults may strike this path at all."""
    if path.startswith("/_emulator"):
        return False
    if settings.paths and not any(fnmatch.fnmatchcase(path, p) for p in settings.paths):
        return False
    return not any(fnmatch.fnmatchcase(path, p) for p in settings.exempt_paths)


def decide(
    settings: FaultSettings, seed: int, key: str, method: str, path: str, attempt: int
) -> Fault | None:
    """The fault attempt number `attempt` (1-based) of the request `key` meets, or None."""
    if not settings.any or not applies_to(settings, path):
        return None
    # A storm is decided once per request identity, then lasts `storm_length` attempts, so
    # a client retrying the same call sees a run of 429s (what a real storm looks like).
    if (
        settings.storm_rate > 0
        and attempt <= settings.storm_length
        and _draw(seed, key, 0, "storm") < settings.storm_rate
    ):
        return Fault(FaultKind.STORM, 429)
    statuses = (500, 502, 503)
    status = statuses[int(_draw(seed, key, attempt, "status") * len(statuses))]
    if _draw(seed, key, attempt, "error") < settings.error_rate:
        return Fault(FaultKind.ERROR, status)
    if _draw(seed, key, attempt, "cut") < settings.cut_rate:
        return Fault(FaultKind.CUT)
    if method.upper() in WRITE_METHODS and (
        _draw(seed, key, attempt, "after_write") < settings.after_write_rate
    ):
        if _draw(seed, key, attempt, "after_write_kind") < 0.5:
            return Fault(FaultKind.AFTER_WRITE_CUT)
        return Fault(FaultKind.AFTER_WRITE_ERROR, status)
    if _draw(seed, key, attempt, "delay") < settings.delay_rate:
        return Fault(FaultKind.DELAY, delay_ms=settings.delay_ms)
    return None
