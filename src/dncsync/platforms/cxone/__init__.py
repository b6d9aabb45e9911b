"""NICE CXone: DNC groups through the Admin API, found by the tenant's discovery document.

Numbers are sent as digits (North American numbers as their 10 national digits, others as
`011` + country code + national number, or not at all with `international = "skip"`); the
group is read page by page; each record carries its own expiration.
"""

from __future__ import annotations

from typing import Any

from dncsync.credentials import secret_from_env
from dncsync.errors import NumberNotSendable
from dncsync.platforms.base import Platform
from dncsync.platforms.cxone.auth import CxoneAuth
from dncsync.platforms.cxone.config import CxoneTargetConfig
from dncsync.platforms.cxone.discovery import CxoneEndpoints, discover
from dncsync.platforms.cxone.target import (
    CAPABILITIES,
    INTERNATIONAL_SKIPPED,
    NOT_E164,
    CxoneSettings,
    CxoneTarget,
    cxone_number,
    e164_from_cxone,
)


class Cxone(Platform):
    """NICE CXone, as the registry sees it."""

    name = "cxone"
    title = "NICE CXone"
    config_model = CxoneTargetConfig
    target_type = CxoneTarget
    settings_type = CxoneSettings
    capabilities = CAPABILITIES

    def settings(self, config: Any) -> CxoneSettings:
        """The target's settings with its access key and client read from the environment."""
        assert isinstance(config, CxoneTargetConfig)
        name = config.name
        return CxoneSettings(
            name=name,
            tenant_id=config.tenant_id,
            access_key_id=secret_from_env(name, "access_key_id_env", config.access_key_id_env),
            access_key_secret=secret_from_env(
                name, "access_key_secret_env", config.access_key_secret_env
            ),
            client_id=secret_from_env(name, "client_id_env", config.client_id_env),
            client_secret=secret_from_env(name, "client_secret_env", config.client_secret_env),
            dnc_group_id=config.dnc_group_id,
            base_url=config.base_url,
            international=config.international,
            phone_json_type=config.phone_json_type,
            api_version=config.api_version,
            batch_size=config.batch_size,
            concurrency=config.concurrency,
            requests_per_minute=config.requests_per_minute,
            retry_budget_seconds=config.retry_budget_seconds,
            timeout_seconds=config.request_timeout_seconds,
            page_size=config.page_size,
            access_key_id_env=config.access_key_id_env,
            access_key_secret_env=config.access_key_secret_env,
            client_id_env=config.client_id_env,
            client_secret_env=config.client_secret_env,
        )

    def list_id(self, config: Any) -> str:
        """The DNC group's id."""
        assert isinstance(config, CxoneTargetConfig)
        return str(config.dnc_group_id)

    def lists(self, config: Any) -> list[Any]:
        """One configuration per list the target names."""
        assert isinstance(config, CxoneTargetConfig)
        if not config.dnc_group_ids:
            return [config]
        return [
            config.model_copy(update={"dnc_group_id": each, "dnc_group_ids": None})
            for each in config.dnc_group_ids
        ]

    def list_identity(self, config: Any) -> str:
        """The tenant and the group's id (group ids are numbered per tenant)."""
        assert isinstance(config, CxoneTargetConfig)
        return f"cxone:{config.tenant_id.lower()}/{config.dnc_group_id}"


PLATFORM = Cxone()

__all__ = [
    "INTERNATIONAL_SKIPPED",
    "NOT_E164",
    "PLATFORM",
    "CxoneAuth",
    "CxoneEndpoints",
    "CxoneSettings",
    "CxoneTarget",
    "CxoneTargetConfig",
    "NumberNotSendable",
    "cxone_number",
    "discover",
    "e164_from_cxone",
]
