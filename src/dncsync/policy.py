"""Regulatory rules: reason aliases, retention per reason, and the most protective merge.

Everything here is pure (no I/O, `today` passed in), so each rule is tested by calling it.
Bad metadata never drops a number (DOMAIN.md principle 1): an unknown reason becomes UNKNOWN,
an unreadable or too-short expiration becomes the most protective reading, and every correction
is named by a warning kind (the list is in docs/validate.md).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import Enum
from types import MappingProxyType

from dncsync.dates import add_months, add_years, parse_date
from dncsync.errors import ConfigError
from dncsync.model import ExpirationPolicy, Reason

NEVER = ExpirationPolicy.NEVER
RELATIVE = ExpirationPolicy.RELATIVE
ABSOLUTE = ExpirationPolicy.ABSOLUTE


def alias_key(text: str) -> str:
    """How reason texts and headers compare: case, spaces, `_` and `-` do not matter."""
    return re.sub(r"[\s_\-]+", "", text.casefold())


_DEFAULT_ALIASES: dict[Reason, tuple[str, ...]] = {
    Reason.NATIONAL: (
        "national", "national dnc", "national registry", "national dnc registry", "federal",
        "federal dnc", "ftc", "dnc registry", "registry", "national do not call",
    ),
    Reason.STATE: ("state", "state dnc", "state registry", "state do not call"),
    Reason.LOCAL: ("local", "local dnc"),
    Reason.LITIGATOR: ("litigator", "known litigator", "litigation", "tcpa litigator"),
    Reason.CUSTOMER_REQUESTED: (
        "customer requested", "customer request", "consumer request", "opt out", "opted out",
        "optout", "unsubscribe", "web unsubscribe", "stop", "do not call", "dnc request",
        "internal dnc", "company specific", "entity specific",
    ),
    Reason.COMPANY_POLICY: ("company policy", "policy", "internal", "business decision"),
    Reason.UNKNOWN: ("unknown",),
}  # fmt: skip

DEFAULT_REASON_ALIASES: Mapping[str, Reason] = MappingProxyType(
    {alias_key(reason.value): reason for reason in Reason}
    | {alias_key(text): reason for reason, texts in _DEFAULT_ALIASES.items() for text in texts}
)


@dataclass(frozen=True, slots=True)
class RetentionRule:
    """How long a reason's entries are kept unless a row asks for longer."""

    policy: ExpirationPolicy  # NEVER, or RELATIVE to the date collected
    years: int = 0  # RELATIVE: the retention a row gets when it states none
    minimum_years: int = 0  # RELATIVE: an explicit shorter expiration is extended to this


# NATIONAL, STATE, LITIGATOR: permanent by rule. LOCAL and UNKNOWN: permanent too, since a
# local list is a registry and an unknown reason may be one (fail closed). CUSTOMER_REQUESTED:
# at least 5 years (FCC). COMPANY_POLICY: 5 years unless the row states its own expiration.
DEFAULT_RETENTION: Mapping[Reason, RetentionRule] = MappingProxyType(
    {
        Reason.NATIONAL: RetentionRule(NEVER),
        Reason.STATE: RetentionRule(NEVER),
        Reason.LITIGATOR: RetentionRule(NEVER),
        Reason.LOCAL: RetentionRule(NEVER),
        Reason.UNKNOWN: RetentionRule(NEVER),
        Reason.CUSTOMER_REQUESTED: RetentionRule(RELATIVE, years=5, minimum_years=5),
        Reason.COMPANY_POLICY: RetentionRule(RELATIVE, years=5, minimum_years=0),
    }
)
_PERMANENT_BY_RULE = (Reason.NATIONAL, Reason.STATE, Reason.LITIGATOR)


class RequestKind(Enum):
    """What a row's expiration fields asked for."""

    NONE = "none"  # nothing stated: the reason's default
    NEVER = "never"
    DATE = "date"  # an end date (ABSOLUTE, or RELATIVE when the policy column says so)
    DURATION = "duration"  # RELATIVE: a duration from the date collected
    UNREADABLE = "unreadable"


@dataclass(frozen=True, slots=True)
class Requested:
    """A row's expiration request, read but not yet checked against the rules."""

    kind: RequestKind
    policy: ExpirationPolicy | None = None  # the policy the row named, if any
    end: date | None = None  # DATE
    years: int = 0  # DURATION
    months: int = 0
    days: int = 0
    warning: str | None = None


@dataclass(frozen=True, slots=True)
class Retention:
    """The retention an entry ends up with, and the corrections made to get there."""

    policy: ExpirationPolicy
    expires_at: date | None
    warnings: tuple[str, ...] = ()


_NEVER_WORDS = frozenset({"never", "permanent", "indefinite", "forever", "noexpiration"})
_DURATION = re.compile(
    r"p?(\d{1,4})(y|yr|yrs|year|years|m|mo|month|months|w|week|weeks|d|day|days)", re.IGNORECASE
)


def read_expiration(expiration: str, policy_text: str = "") -> Requested:
    """Read the expiration and expiration-policy fields of one row."""
    named: ExpirationPolicy | None = None
    warning = None
    if policy_text.strip():
        try:
            named = ExpirationPolicy(policy_text.strip().upper())
        except ValueError:
            warning = "unknown_expiration_policy"
    text = expiration.strip()
    if named is NEVER or alias_key(text) in _NEVER_WORDS:
        return Requested(RequestKind.NEVER, NEVER, warning=warning)
    if not text:
        if named is not None:  # ABSOLUTE or RELATIVE without an end: the reason's default
            return Requested(RequestKind.NONE, named, warning="missing_expiration")
        return Requested(RequestKind.NONE, warning=warning)
    end = parse_date(text)
    if end is not None:
        return Requested(RequestKind.DATE, named or ABSOLUTE, end=end, warning=warning)
    duration = _DURATION.fullmatch(alias_key(text))
    if duration:
        count, unit = int(duration[1]), duration[2].lower()
        if unit.startswith("y"):
            return Requested(RequestKind.DURATION, RELATIVE, years=count, warning=warning)
        if unit.startswith("m"):
            return Requested(RequestKind.DURATION, RELATIVE, months=count, warning=warning)
        days = count * 7 if unit.startswith("w") else count
        return Requested(RequestKind.DURATION, RELATIVE, days=days, warning=warning)
    return Requested(RequestKind.UNREADABLE, warning="unreadable_expiration")


def read_date_collected(text: str, today: date) -> tuple[date | None, str | None]:
    """The date collected, or None and a warning when it cannot be read."""
    if not text.strip():
        return None, None
    collected = parse_date(text)
    if collected is None:
        # Unreadable: as if absent, so retention runs from the first run that saw the number
        # (the latest start the data allows: the most protective reading).
        return None, "unreadable_date_collected"
    if collected > today:
        return collected, "future_date_collected"  # kept: a later start retains longer
    return collected, None


@dataclass(frozen=True, slots=True)
class Policy:
    """Reason aliases and retention rules; what is given is merged over the defaults."""

    reason_aliases: Mapping[str, Reason] = field(default_factory=dict)
    retention: Mapping[Reason, RetentionRule] = field(default_factory=dict)

    def __post_init__(self) -> None:
        aliases = dict(DEFAULT_REASON_ALIASES)
        for text, reason in self.reason_aliases.items():
            aliases[alias_key(text)] = Reason(reason)
        retention = dict(DEFAULT_RETENTION) | dict(self.retention)
        for reason in _PERMANENT_BY_RULE:
            if retention[reason].policy is not NEVER:
                raise ConfigError(
                    f"retention for {reason} must be NEVER (registrations are permanent)"
                )
        customer = retention[Reason.CUSTOMER_REQUESTED]
        if customer.policy is RELATIVE and customer.minimum_years < 5:
            raise ConfigError("retention for CUSTOMER_REQUESTED must be at least 5 years (FCC)")
        for reason, rule in retention.items():
            if rule.policy is ABSOLUTE:
                raise ConfigError(f"retention for {reason} must be NEVER or RELATIVE")
        object.__setattr__(self, "reason_aliases", MappingProxyType(aliases))
        object.__setattr__(self, "retention", MappingProxyType(retention))

    def reason_for(self, text: str) -> tuple[Reason, str | None]:
        """The reason a free-text value maps to, and a warning kind when it maps to nothing."""
        if not text.strip():
            return Reason.UNKNOWN, "missing_reason"
        reason = self.reason_aliases.get(alias_key(text))
        if reason is None:
            return Reason.UNKNOWN, "unmapped_reason"
        return reason, None

    def retention_for(
        self, reason: Reason, requested: Requested, collected: date | None, today: date
    ) -> Retention:
        """Apply the reason's rule to a row's request: the most protective lawful reading."""
        rule = self.retention[reason]
        warnings: tuple[str, ...] = (requested.warning,) if requested.warning else ()
        if rule.policy is NEVER:
            if requested.kind not in (RequestKind.NONE, RequestKind.NEVER):
                warnings += ("retention_forced_never",)
            return Retention(NEVER, None, warnings)
        if requested.kind in (RequestKind.NEVER, RequestKind.UNREADABLE):
            return Retention(NEVER, None, warnings)
        base = collected or today
        default_end = add_years(base, rule.years)
        if requested.kind is RequestKind.NONE:
            return Retention(RELATIVE, default_end, warnings)
        policy = requested.policy or RELATIVE
        if requested.kind is RequestKind.DURATION:
            end = add_months(add_years(base, requested.years), requested.months)
            end = end + timedelta(days=min(requested.days, (date.max - end).days))
        else:
            assert requested.end is not None
            end = requested.end
        if collected is not None and end < collected:
            return Retention(RELATIVE, default_end, (*warnings, "expiration_before_collected"))
        minimum_end = add_years(base, rule.minimum_years)
        if end < minimum_end:
            return Retention(RELATIVE, minimum_end, (*warnings, "expiration_extended"))
        return Retention(policy, end, warnings)


DEFAULT_POLICY = Policy()


__all__ = [
    "DEFAULT_POLICY",
    "DEFAULT_REASON_ALIASES",
    "DEFAULT_RETENTION",
    "Policy",
    "RequestKind",
    "Requested",
    "Retention",
    "RetentionRule",
    "alias_key",
    "read_date_collected",
    "read_expiration",
]
