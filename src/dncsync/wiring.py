"""From configuration to the library's objects: source specs, the policy, target settings.

Kept apart from `config` (which only checks the file) and `run` (which only runs), so each
stays about one thing. The run reads every chosen target's credentials through here before
any network call: a missing variable fails that target before anything is sent to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dncsync import platforms
from dncsync.config import Config, SourceConfig, resolve_path, retention_years
from dncsync.model import ExpirationPolicy, Reason
from dncsync.platforms.base import TargetConfigBase
from dncsync.policy import Policy, RetentionRule
from dncsync.sources.spec import SourceSpec

# The regulatory floor on a customer's request (FCC): a configured retention can only lengthen it.
_CUSTOMER_REQUEST_MINIMUM_YEARS = 5


def source_specs(sources: Sequence[SourceConfig], base: Path) -> list[SourceSpec]:
    """The ingest specs for configured sources, local paths resolved against `base`."""
    return [
        # `schedule` says when serve reads the source, not how: no part of the read.
        SourceSpec(
            **{**source.model_dump(exclude={"schedule"}), "url": resolve_path(base, source.url)}
        )
        for source in sources
    ]


def policy(config: Config) -> Policy:
    """The reason aliases and retention rules the configuration asks for."""
    rules: dict[Reason, RetentionRule] = {}
    for reason, text in config.retention.items():
        years = retention_years(text, f"retention.{reason.value}")
        if years is None:
            rules[reason] = RetentionRule(ExpirationPolicy.NEVER)
            continue
        minimum = _CUSTOMER_REQUEST_MINIMUM_YEARS if reason is Reason.CUSTOMER_REQUESTED else 0
        rules[reason] = RetentionRule(ExpirationPolicy.RELATIVE, years=years, minimum_years=minimum)
    return Policy(reason_aliases=dict(config.reasons), retention=rules)


def target_settings(target: TargetConfigBase) -> Any:
    """A target's settings with its credentials read from the environment."""
    return platforms.platform_of(target).settings(target)
