"""What an emulator instance is configured with: credentials, limits, faults, clock.

Every value has a documented default (docs/emulator.md), so `EmulatorSettings()` is a working
emulator. The default credentials are test values printed by `dncsync emulator`; they are not
secrets and never valid anywhere else.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from dncsync.emulator.variants import checked

DEFAULT_CLIENT_ID = "dncsync-emulator-client"
DEFAULT_CLIENT_SECRET = "dncsync-emulator-secret"  # noqa: S105 - a documented test value
DEFAULT_ACCESS_KEY_ID = "dncsync-emulator-access-key"
DEFAULT_ACCESS_KEY_SECRET = "dncsync-emulator-access-secret"  # noqa: S105 - a documented test value
DEFAULT_TENANT_ID = "11111111-2222-4333-8444-555555555555"

_UNITS = {"s": 1.0, "sec": 1.0, "second": 1.0, "min": 60.0, "minute": 60.0, "h": 3600.0}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*\.?\d*)\s*([a-z]+)\s*$")


@dataclass(frozen=True, slots=True)
class RateLimit:
    """`allowed` requests per fixed window of `window_seconds`."""

    allowed: int
    window_seconds: float

    @classmethod
    def parse(cls, text: str) -> RateLimit:
        """Read `300/min`, `5/s`, `100/10s`, `1000/h`; raise ValueError on anything else."""
        match = _RATE.match(text.lower())
        if not match or match.group(3) not in _UNITS:
            raise ValueError(f"rate limit {text!r} is not like 300/min, 5/s or 100/10s")
        count, multiple, unit = match.groups()
        window = float(multiple or 1) * _UNITS[unit]
        if int(count) < 1 or window <= 0:
            raise ValueError(f"rate limit {text!r} must allow at least 1 request per window")
        return cls(allowed=int(count), window_seconds=window)

    def __str__(self) -> str:
        return f"{self.allowed}/{self.window_seconds:g}s"


FAULT_KINDS = ("error", "cut", "delay", "storm", "after_write")


@dataclass(frozen=True, slots=True)
class FaultSettings:
    """Which injected faults strike, and how often; each kind has its own rate (0 = never).

    A request's fate is drawn from (seed, method, path, body digest, attempt number), so the
    same requests meet the same faults however they interleave.
    """

    error_rate: float = 0.0  # answered 500, 502 or 503 before anything is applied
    cut_rate: float = 0.0  # connection closed with no response, before anything is applied
    delay_rate: float = 0.0  # answered normally after `delay_ms`
    delay_ms: int = 250
    storm_rate: float = 0.0  # answered 429 for `storm_length` consecutive attempts
    storm_length: int = 3
    after_write_rate: float = 0.0  # a write is applied, then answered 5xx or cut
    # fnmatch patterns on the path: faults strike only paths matching `paths` (empty = all)
    # and never paths matching `exempt_paths`; `/_emulator/` is always exempt.
    paths: tuple[str, ...] = ()
    exempt_paths: tuple[str, ...] = ()

    @classmethod
    def uniform(
        cls, rate: float, kinds: tuple[str, ...] = FAULT_KINDS, **overrides: object
    ) -> FaultSettings:
        """Spread a total `rate` evenly over `kinds` (the CLI's `--fault-rate`)."""
        unknown = set(kinds) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; known: {FAULT_KINDS}")
        share = rate / len(kinds) if kinds else 0.0
        rates: dict[str, object] = {f"{kind}_rate": share for kind in kinds}
        rates.update(overrides)
        return cls(**rates)  # type: ignore[arg-type]

    @property
    def any(self) -> bool:
        """Whether any fault can strike at all."""
        return any(
            rate > 0
            for rate in (
                self.error_rate,
                self.cut_rate,
                self.delay_rate,
                self.storm_rate,
                self.after_write_rate,
            )
        )


def _wall_clock() -> float:
    return time.time()


@dataclass(frozen=True)
class EmulatorSettings:
    """Everything an emulator instance needs; the defaults make a working, fault-free server."""

    # Credentials. The OAuth client pair serves both platforms (Genesys client credentials,
    # CXone's Basic client auth); the access key pair is CXone's password grant.
    client_id: str = DEFAULT_CLIENT_ID
    client_secret: str = DEFAULT_CLIENT_SECRET
    access_key_id: str = DEFAULT_ACCESS_KEY_ID
    access_key_secret: str = DEFAULT_ACCESS_KEY_SECRET
    tenant_id: str = DEFAULT_TENANT_ID
    token_ttl: int = 86_400  # Genesys access tokens, seconds
    cxone_token_ttl: int = 3_600  # CXone access tokens, seconds

    # Rate limits: Genesys counts per OAuth client across its tokens; CXone per access key.
    rate_limit: RateLimit = field(default_factory=lambda: RateLimit(300, 60.0))
    cxone_rate_limit: RateLimit | None = None  # None: the same limit as Genesys
    retry_after: int | None = None  # fixes Retry-After (0 allowed); None: seconds to reset
    cxone_retry_after_header: bool = True  # CXone's 429 carries Retry-After only when True

    # Faults and latency.
    seed: int = 0
    faults: FaultSettings = field(default_factory=FaultSettings)
    latency_ms: int = 0  # added to every platform request

    # Genesys behaviour.
    max_body_bytes: int = 512_000
    list_capacity: int = 1_000_000
    org_capacity: int = 2_000_000
    export_delay_seconds: float = 0.2  # GET .../export answers 404 until then
    import_seconds: float = 0.2  # an uploaded CSV is fully imported after this
    max_expiration_days: int = 180

    # CXone behaviour.
    tenant_capacity: int = 1_000_000
    max_page_size: int = 10_000  # largest `top` on GET .../records

    # Production variants of unconfirmed points (`emulator.variants`), any set of them at once.
    variants: frozenset[str] = frozenset()

    # The one door through which the emulator reads time (epoch seconds): tests inject a
    # ManualClock to expire tokens, roll rate windows and finish exports without sleeping.
    clock: Callable[[], float] = _wall_clock

    def __post_init__(self) -> None:
        object.__setattr__(self, "variants", checked(self.variants))

    def speaks(self, variant: str) -> bool:
        """Whether this emulator plays a variant (`emulator.variants`)."""
        return variant in self.variants

    @property
    def effective_cxone_rate_limit(self) -> RateLimit:
        """CXone's limit: its own if set, else the Genesys one."""
        return self.cxone_rate_limit or self.rate_limit


class ManualClock:
    """A clock that moves only when told to: `clock.advance(61)` rolls a rate window."""

    def __init__(self, start: float = 1_767_225_600.0) -> None:  # 2026-01-01T00:00:00Z
        self._now = start

    def __call__(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        """Move time forward by `seconds`."""
        self._now += seconds
