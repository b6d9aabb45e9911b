"""Who may call the intake API, and how often: API keys and a rate limit per key.

Keys come from one environment variable (`[serve] api_keys_env`), comma-separated; never from
the configuration file, never logged (each is registered with the log scrubber). A key is
compared with every configured key in constant time (`hmac.compare_digest`), and all of them
are compared whatever matched, so the time taken says nothing about which key came close.
A key is known downstream only by a digest of it (the idempotency records, the limiter).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass, field

from dncsync import logs
from dncsync.errors import ConfigError

_BEARER = "bearer "


def read_keys(variable: str) -> tuple[bytes, ...]:
    """The API keys the environment variable holds; none set is a configuration error."""
    raw = os.environ.get(variable, "")
    keys = tuple(k.strip() for k in raw.split(",") if k.strip())
    if not keys:
        raise ConfigError(
            f"serve: environment variable {variable} holds no API key (named by "
            "[serve] api_keys_env; comma-separated keys); every /v1/ request needs one"
        )
    for key in keys:
        logs.register_secret(key)
    return tuple(k.encode() for k in keys)


def key_id(key: bytes) -> str:
    """A key's digest: how a key is known in the store and the limiter, never the key."""
    return hashlib.sha256(key).hexdigest()[:16]


def authenticate(header: str | None, keys: tuple[bytes, ...]) -> str | None:
    """The key's id for an `Authorization: Bearer KEY` header naming a known key, else None."""
    if header is None or header[: len(_BEARER)].lower() != _BEARER:
        return None
    offered = header[len(_BEARER) :].strip().encode()
    matched: bytes | None = None
    for key in keys:  # every key compared, in constant time each
        if hmac.compare_digest(offered, key):
            matched = key
    return None if matched is None else key_id(matched)


@dataclass(slots=True)
class RateLimit:
    """A token bucket per key: `rate` requests a second, bursts up to one second's worth.

    Pure: the caller passes the monotonic time (tests step it instead of sleeping).
    """

    rate: float
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)  # id -> tokens, at

    def take(self, key: str, now: float, cost: float = 1.0) -> float:
        """0 when the request may go, else the seconds to wait before it may."""
        tokens, at = self._buckets.get(key, (self.rate, now))
        tokens = min(self.rate, tokens + (now - at) * self.rate)
        if tokens >= cost:
            self._buckets[key] = (tokens - cost, now)
            return 0.0
        self._buckets[key] = (tokens, now)
        return (cost - tokens) / self.rate


__all__ = ["RateLimit", "authenticate", "key_id", "read_keys"]
