"""OAuth flows: cached tokens, refresh before expiry on an injected clock, no stampede, 401 once."""

from __future__ import annotations

import asyncio
import base64

import httpx
import pytest
import stamina

from dncsync.errors import AuthError
from dncsync.net.api import ApiClient
from dncsync.net.auth import Token
from dncsync.net.pacing import Pacer
from dncsync.net.retry import RetryPolicy
from dncsync.platforms.cxone.auth import CxoneAuth
from dncsync.platforms.genesys.auth import GenesysAuth

from .fakes import ManualClock, ScriptedPlatform

pytestmark = pytest.mark.anyio

URL = "https://api.example.test/api/v2/outbound/dnclists"


def genesys_auth(clock: ManualClock) -> GenesysAuth:
    return GenesysAuth(
        token_url="https://login.example.test/oauth/token",
        client_id="the-client",
        client_secret="s3cr3t-value",
        target="genesys-main",
        credential_env=("GENESYS_CLIENT_ID", "GENESYS_CLIENT_SECRET"),
        clock=clock,
    )


def cxone_auth(clock: ManualClock) -> CxoneAuth:
    return CxoneAuth(
        token_url="https://cxone.example.test/auth/token",
        client_id="app-id",
        client_secret="app-s3cr3t",
        access_key_id="key-id",
        access_key_secret="key-s3cr3t",
        target="cxone-main",
        credential_env=("CXONE_ACCESS_KEY_ID", "CXONE_ACCESS_KEY_SECRET"),
        clock=clock,
    )


def test_token_refresh_margin_is_min_of_600s_and_a_tenth() -> None:
    hour = Token("t", lifetime=3600, expires_at=3600)
    assert not hour.needs_refresh(3600 - 361)
    assert hour.needs_refresh(3600 - 359)  # a tenth: 360 s
    day = Token("t", lifetime=86400, expires_at=86400)
    assert not day.needs_refresh(86400 - 601)
    assert day.needs_refresh(86400 - 599)  # capped at 600 s
    assert "access_token" not in repr(hour)


async def test_genesys_client_credentials_request(
    platform: ScriptedPlatform, clock: ManualClock
) -> None:
    async with platform.client() as client:
        response = await client.get(URL, auth=genesys_auth(clock))
    assert response.status_code == 200
    [form] = platform.token_requests
    assert form["grant_type"] == "client_credentials"
    assert "scope" not in form
    assert form["authorization"] == "Basic " + base64.b64encode(b"the-client:s3cr3t-value").decode()


async def test_token_is_cached_and_refreshed_before_expiry(
    platform: ScriptedPlatform, clock: ManualClock
) -> None:
    platform.token_lifetime = 3600
    auth = genesys_auth(clock)
    async with platform.client() as client:
        for _ in range(5):
            await client.get(URL, auth=auth)
        assert auth.tokens_fetched == 1
        clock.advance(3600 - 400)  # 400 s left: more than a tenth (360 s)
        await client.get(URL, auth=auth)
        assert auth.tokens_fetched == 1
        clock.advance(50)  # 350 s left: refresh now, before the platform refuses it
        await client.get(URL, auth=auth)
        assert auth.tokens_fetched == 2
    assert all(r.headers["Authorization"] != "" for r in platform.api_requests)


async def test_many_concurrent_requests_fetch_one_token(
    platform: ScriptedPlatform, clock: ManualClock
) -> None:
    auth = genesys_auth(clock)
    async with platform.client() as client:
        answers = await asyncio.gather(*(client.get(URL, auth=auth) for _ in range(40)))
        assert {a.status_code for a in answers} == {200}
        assert len(platform.token_requests) == 1
        clock.advance(3600)  # every request now needs a new token at once
        answers = await asyncio.gather(*(client.get(URL, auth=auth) for _ in range(40)))
    assert {a.status_code for a in answers} == {200}
    assert len(platform.token_requests) == 2


async def test_a_401_gets_one_fresh_token_and_one_retry(
    platform: ScriptedPlatform, clock: ManualClock
) -> None:
    auth = genesys_auth(clock)
    async with platform.client() as client:
        await client.get(URL, auth=auth)
        platform.valid_tokens.clear()  # the platform revoked the token early
        response = await client.get(URL, auth=auth)
        assert response.status_code == 200
        assert auth.tokens_fetched == 2

        # A platform refusing every token: exactly one retry, then the 401 comes back.
        platform.script = lambda request: httpx.Response(401, json={"code": "bad.credentials"})
        sent_before = len(platform.api_requests)
        response = await client.get(URL, auth=auth)
    assert response.status_code == 401
    assert len(platform.api_requests) - sent_before == 2


async def test_refused_credentials_name_the_target_and_env_vars_not_the_secret(
    platform: ScriptedPlatform, clock: ManualClock
) -> None:
    platform.refused = True
    async with platform.client() as client:
        with pytest.raises(AuthError) as refused:
            await client.get(URL, auth=genesys_auth(clock))
    message = str(refused.value)
    assert "genesys-main" in message
    assert "GENESYS_CLIENT_ID" in message
    assert "GENESYS_CLIENT_SECRET" in message
    assert "invalid_client" in message
    assert "s3cr3t" not in message


async def test_cxone_password_grant_then_refresh_token(
    platform: ScriptedPlatform, clock: ManualClock
) -> None:
    auth = cxone_auth(clock)
    async with platform.client() as client:
        await client.get(URL, auth=auth)
        clock.advance(3600 - 300)
        await client.get(URL, auth=auth)
    first, second = platform.token_requests
    assert first["grant_type"] == "password"
    assert (first["username"], first["password"]) == ("key-id", "key-s3cr3t")
    assert first["authorization"] == "Basic " + base64.b64encode(b"app-id:app-s3cr3t").decode()
    assert second == {
        "grant_type": "refresh_token",
        "refresh_token": "refresh-token-0",
        "authorization": first["authorization"],
    }


async def test_cxone_refused_refresh_token_signs_in_again(
    platform: ScriptedPlatform, clock: ManualClock
) -> None:
    auth = cxone_auth(clock)
    auth._token = Token("stale", lifetime=3600, expires_at=clock.now, refresh_token="revoked")
    async with platform.client() as client:
        response = await client.get(URL, auth=auth)
    assert response.status_code == 200
    assert [r["grant_type"] for r in platform.token_requests] == ["refresh_token", "password"]


async def test_token_endpoint_outage_is_retried(
    platform: ScriptedPlatform, clock: ManualClock
) -> None:
    platform.token_status = iter([503, 502, 200])
    async with platform.client() as client:
        api = ApiClient(
            client,
            auth=genesys_auth(clock),
            target="genesys-main",
            pacer=Pacer(6000),
            policy=RetryPolicy(initial_seconds=0, max_seconds=0),
            concurrency=2,
        )
        with stamina.set_testing(True, attempts=5):
            exchange = await api.call("GET", URL)
    assert exchange.status == 200
    assert exchange.attempts == 3
