"""From configuration to the library's objects: source specs, the policy, target settings.

Kept apart from `config` (which only checks the file) and `engine` (which only runs), so each
stays about one thing. Credentials are read from the environment here, for every chosen target
before any network call, so a missing variable fails the run before anything is sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from dncsync.config import (
    Config,
    GenesysTargetConfig,
    SourceConfig,
    TargetConfig,
    resolve_path,
    retention_years,
    secret_from_env,
)
from dncsync.model import ExpirationPolicy, Reason
from dncsync.policy import Policy, RetentionRule
from dncsync.sources.spec import SourceSpec
from dncsync.targets import (
    CxoneSettings,
    CxoneTarget,
    GenesysSettings,
    GenesysTarget,
    TargetSettings,
    build_target,
)

# The regulatory floor on a customer's request (FCC): a configured retention can only lengthen it.
_CUSTOMER_REQUEST_MINIMUM_YEARS = 5


def source_specs(sources: Sequence[SourceConfig], base: Path) -> list[SourceSpec]:
    """The ingest specs for configured sources, local paths resolved against `base`."""
    return [
        SourceSpec(**{**source.model_dump(), "url": resolve_path(base, source.url)})
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


def target_settings(target: TargetConfig) -> TargetSettings:
    """A target's settings with its credentials read from the environment."""
    if isinstance(target, GenesysTargetConfig):
        return GenesysSettings(
            name=target.name,
            client_id=secret_from_env(target.name, "client_id_env", target.client_id_env),
            client_secret=secret_from_env(
                target.name, "client_secret_env", target.client_secret_env
            ),
            dnc_list_id=target.dnc_list_id,
            region=target.region,
            base_url=target.base_url,
            batch_size=target.batch_size,
            concurrency=target.concurrency,
            requests_per_minute=target.requests_per_minute,
            retry_budget_seconds=target.retry_budget_seconds,
            timeout_seconds=target.request_timeout_seconds,
            client_id_env=target.client_id_env,
            client_secret_env=target.client_secret_env,
            export_poll_seconds=target.export_poll_seconds,
            export_timeout_seconds=target.export_timeout_seconds,
        )
    return CxoneSettings(
        name=target.name,
        tenant_id=target.tenant_id,
        access_key_id=secret_from_env(target.name, "access_key_id_env", target.access_key_id_env),
        access_key_secret=secret_from_env(
            target.name, "access_key_secret_env", target.access_key_secret_env
        ),
        client_id=secret_from_env(target.name, "client_id_env", target.client_id_env),
        client_secret=secret_from_env(target.name, "client_secret_env", target.client_secret_env),
        dnc_group_id=target.dnc_group_id,
        base_url=target.base_url,
        international=target.international,
        api_version=target.api_version,
        batch_size=target.batch_size,
        concurrency=target.concurrency,
        requests_per_minute=target.requests_per_minute,
        retry_budget_seconds=target.retry_budget_seconds,
        timeout_seconds=target.request_timeout_seconds,
        page_size=target.page_size,
        access_key_id_env=target.access_key_id_env,
        access_key_secret_env=target.access_key_secret_env,
        client_id_env=target.client_id_env,
        client_secret_env=target.client_secret_env,
    )


def open_target(target: TargetConfig) -> GenesysTarget | CxoneTarget:
    """A ready target for a configured one (use it with `async with`)."""
    return build_target(target_settings(target))
