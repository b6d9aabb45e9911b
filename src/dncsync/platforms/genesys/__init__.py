"""Genesys Cloud: Internal (`rds`) DNC lists through the Platform API v2.

Numbers are sent as E.164 with the `+`; the list is read through its export; an expiration
goes with each request, at most 180 days ahead; request bodies are capped at 512,000 bytes.
"""

from __future__ import annotations

from typing import Any

import httpx

from dncsync.credentials import secret_from_env
from dncsync.platforms.base import Platform
from dncsync.platforms.genesys.auth import GenesysAuth
from dncsync.platforms.genesys.config import GenesysTargetConfig
from dncsync.platforms.genesys.target import (
    CAPABILITIES,
    GENESYS_API_HOSTS,
    GenesysSettings,
    GenesysTarget,
    expiration_instant,
    last_held_day,
)


class Genesys(Platform):
    """Genesys Cloud, as the registry sees it."""

    name = "genesys"
    title = "Genesys Cloud"
    config_model = GenesysTargetConfig
    target_type = GenesysTarget
    settings_type = GenesysSettings
    capabilities = CAPABILITIES

    def settings(self, config: Any) -> GenesysSettings:
        """The target's settings with its client credentials read from the environment."""
        assert isinstance(config, GenesysTargetConfig)
        return GenesysSettings(
            name=config.name,
            client_id=secret_from_env(config.name, "client_id_env", config.client_id_env),
            client_secret=secret_from_env(
                config.name, "client_secret_env", config.client_secret_env
            ),
            dnc_list_id=config.dnc_list_id,
            region=config.region,
            base_url=config.base_url,
            batch_size=config.batch_size,
            concurrency=config.concurrency,
            requests_per_minute=config.requests_per_minute,
            retry_budget_seconds=config.retry_budget_seconds,
            timeout_seconds=config.request_timeout_seconds,
            client_id_env=config.client_id_env,
            client_secret_env=config.client_secret_env,
            export_poll_seconds=config.export_poll_seconds,
            export_timeout_seconds=config.export_timeout_seconds,
        )

    def list_id(self, config: Any) -> str:
        """The DNC list's id."""
        assert isinstance(config, GenesysTargetConfig)
        return config.dnc_list_id

    def lists(self, config: Any) -> list[Any]:
        """One configuration per list the target names."""
        assert isinstance(config, GenesysTargetConfig)
        if not config.dnc_list_ids:
            return [config]
        return [
            config.model_copy(update={"dnc_list_id": each, "dnc_list_ids": None})
            for each in config.dnc_list_ids
        ]

    def list_identity(self, config: Any) -> str:
        """The API host (an org lives in one region) and the list's id."""
        assert isinstance(config, GenesysTargetConfig)
        if config.base_url:
            host = httpx.URL(config.base_url).netloc.decode("ascii", "replace")
        else:
            host = GENESYS_API_HOSTS.get(config.region, config.region)
        return f"genesys:{host.lower()}/{config.dnc_list_id}"


PLATFORM = Genesys()

__all__ = [
    "GENESYS_API_HOSTS",
    "PLATFORM",
    "GenesysAuth",
    "GenesysSettings",
    "GenesysTarget",
    "GenesysTargetConfig",
    "expiration_instant",
    "last_held_day",
]
