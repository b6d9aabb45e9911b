"""NICE CXone discovery: which API host serves a tenant.

`GET {discovery host}/.well-known/cxone-configuration?tenantId=...` answers `api_endpoint`;
the Admin API lives under `{api_endpoint}/inContactAPI/services/v{NN}.0`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dncsync.errors import ConfigError, PartialFailure
from dncsync.net.api import ApiClient, unreachable
from dncsync.net.client import insecure_url, is_loopback


@dataclass(frozen=True, slots=True)
class CxoneEndpoints:
    """Where a CXone tenant's APIs are."""

    api_endpoint: str
    auth_endpoint: str | None = None

    def admin_api(self, version: int) -> str:
        """The Admin API base for a version, e.g. `.../inContactAPI/services/v31.0`."""
        return f"{self.api_endpoint.rstrip('/')}/inContactAPI/services/v{version}.0"


async def discover(api: ApiClient, discovery_url: str, tenant_id: str) -> CxoneEndpoints:
    """Ask the discovery host where the tenant's API is."""
    url = f"{discovery_url.rstrip('/')}/.well-known/cxone-configuration"
    exchange = await api.call("GET", url, params={"tenantId": tenant_id}, authenticated=False)
    response = exchange.response
    if exchange.unanswered:
        raise unreachable(exchange, api.target, "base_url", api.policy.budget_seconds)
    if response is None or response.status_code >= 500 or response.status_code == 429:
        raise PartialFailure(
            f"{api.target}: CXone discovery at {url} did not answer "
            f"({exchange.refused or exchange.status}) within the retry budget"
        )
    if response.status_code in (400, 404):
        raise ConfigError(
            f"{api.target}: CXone discovery does not know tenant_id {tenant_id!r} "
            f"(HTTP {response.status_code}); check the target's tenant_id"
        )
    body: Any = None
    if response.is_success:
        try:
            body = response.json()
        except ValueError:
            body = None
    endpoint = body.get("api_endpoint") if isinstance(body, dict) else None
    if not isinstance(endpoint, str) or not endpoint.startswith(("https://", "http://")):
        raise ConfigError(
            f"{api.target}: CXone discovery at {url} answered HTTP {response.status_code} "
            "without an api_endpoint; check the target's base_url and tenant_id"
        )
    if is_loopback(discovery_url) and not is_loopback(endpoint):
        # TLS verification is off only for loopback hosts: never follow it elsewhere.
        raise ConfigError(
            f"{api.target}: a loopback discovery host pointed at {endpoint}; refusing to "
            "talk to a remote host without TLS verification"
        )
    if discovery_url.startswith("https://") and insecure_url(endpoint) is not None:
        # Discovery over TLS never downgrades the API, and its tokens and numbers, to http.
        raise ConfigError(
            f"{api.target}: CXone discovery at {url} pointed at {endpoint}; refusing to send "
            "credentials and numbers there: https is required"
        )
    auth = body.get("auth_endpoint") if isinstance(body, dict) else None
    return CxoneEndpoints(endpoint, auth if isinstance(auth, str) else None)
