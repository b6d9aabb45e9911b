"""What the intake API is given: its settings, and the serve process behind it."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from dncsync.policy import Policy
from dncsync.serve.sms import SmsSettings


class Backend(Protocol):
    """What the API needs from the serve process around it."""

    accepting: bool  # False once shutting down: new opt-outs get 503

    def accepted(self, count: int) -> None:
        """Tell the pusher new requests were committed."""

    def holdings(self, phone: str) -> dict[str, bool | None]:
        """Per target: whether it holds the number (None: unknown right now)."""

    def ready(self) -> tuple[bool, dict[str, Any]]:
        """Whether the process can take and push opt-outs, and the checks behind it."""

    def recording(self) -> AbstractContextManager[None]:
        """Events logged in the block reach the current run's audit log."""


@dataclass(frozen=True, slots=True)
class ApiSettings:
    """The intake API's settings, from `[serve]` and the configuration."""

    keys: tuple[bytes, ...]
    zone: ZoneInfo
    region: str
    policy: Policy
    max_body_bytes: int
    rate_per_second: float
    sms: SmsSettings | None = None  # `[serve.sms]`: the SMS provider's webhook is served


__all__ = ["ApiSettings", "Backend"]
