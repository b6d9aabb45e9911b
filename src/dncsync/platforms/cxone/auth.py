"""NICE CXone OAuth: an access key through the password grant, then refresh tokens.

`POST {auth}/auth/token`, Basic client id and secret, `grant_type=password`, username = access
key id, password = access key secret; then `grant_type=refresh_token`. A refused refresh token
falls back to the password grant (the shared flow in `net.auth` does that).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from dncsync.net.auth import Clock, OAuthFlow


class CxoneAuth(OAuthFlow):
    """NICE CXone access key: password grant, then refresh-token grant."""

    platform = "NICE CXone"

    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        access_key_id: str,
        access_key_secret: str,
        target: str,
        credential_env: Sequence[str] = (),
        clock: Clock = time.monotonic,
    ) -> None:
        super().__init__(
            token_url=token_url,
            client_id=client_id,
            client_secret=client_secret,
            target=target,
            credential_env=credential_env,
            clock=clock,
        )
        self._access_key_id = access_key_id
        self._access_key_secret = access_key_secret

    def _grant(self, refresh_token: str | None) -> dict[str, str]:
        if refresh_token is not None:
            return {"grant_type": "refresh_token", "refresh_token": refresh_token}
        return {
            "grant_type": "password",
            "username": self._access_key_id,
            "password": self._access_key_secret,
        }
