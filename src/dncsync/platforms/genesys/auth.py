"""Genesys Cloud OAuth: client credentials.

`POST https://login.{domain}/oauth/token`, Basic client id and secret,
`grant_type=client_credentials`, no scopes (the client is authorised by its roles).
"""

from __future__ import annotations

from dncsync.net.auth import OAuthFlow


class GenesysAuth(OAuthFlow):
    """Genesys Cloud client credentials: `grant_type=client_credentials`, no scopes."""

    platform = "Genesys Cloud"

    def _grant(self, refresh_token: str | None) -> dict[str, str]:
        return {"grant_type": "client_credentials"}
