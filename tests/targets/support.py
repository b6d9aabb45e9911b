"""Building targets against the emulator: in-process (ASGI) or over a loopback socket."""

from __future__ import annotations

from typing import Any

import httpx

from dncsync.emulator import (
    DEFAULT_ACCESS_KEY_ID,
    DEFAULT_ACCESS_KEY_SECRET,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_TENANT_ID,
    EmulatorApp,
)
from dncsync.platforms.cxone import CxoneSettings, CxoneTarget
from dncsync.platforms.genesys import GenesysSettings, GenesysTarget

IN_PROCESS_URL = "http://emulator.test"

# Fast enough that tests never wait on pacing unless they mean to.
FAST = {"requests_per_minute": 600_000.0, "retry_budget_seconds": 20.0, "timeout_seconds": 10.0}


def asgi_client(app: EmulatorApp) -> httpx.AsyncClient:
    """A client that reaches the emulator in-process."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app))


def genesys_settings(base_url: str = IN_PROCESS_URL, **overrides: Any) -> GenesysSettings:
    fields: dict[str, Any] = {
        "name": "genesys-test",
        "client_id": DEFAULT_CLIENT_ID,
        "client_secret": DEFAULT_CLIENT_SECRET,
        "base_url": base_url,
        "export_poll_seconds": 0.01,
        "export_timeout_seconds": 10.0,
        **FAST,
    }
    fields.update(overrides)
    return GenesysSettings(**fields)


def cxone_settings(base_url: str = IN_PROCESS_URL, **overrides: Any) -> CxoneSettings:
    fields: dict[str, Any] = {
        "name": "cxone-test",
        "tenant_id": DEFAULT_TENANT_ID,
        "access_key_id": DEFAULT_ACCESS_KEY_ID,
        "access_key_secret": DEFAULT_ACCESS_KEY_SECRET,
        "client_id": DEFAULT_CLIENT_ID,
        "client_secret": DEFAULT_CLIENT_SECRET,
        "base_url": base_url,
        **FAST,
    }
    fields.update(overrides)
    return CxoneSettings(**fields)


def genesys_target(app: EmulatorApp, list_id: str, **overrides: Any) -> GenesysTarget:
    return GenesysTarget(genesys_settings(dnc_list_id=list_id, **overrides), asgi_client(app))


def cxone_target(app: EmulatorApp, group_id: int, **overrides: Any) -> CxoneTarget:
    return CxoneTarget(cxone_settings(dnc_group_id=group_id, **overrides), asgi_client(app))
