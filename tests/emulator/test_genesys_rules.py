"""Genesys limits and rules over plain HTTP: rate limits, body cap, capacities, dates, tokens."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from dncsync.emulator import ManualClock, RateLimit, RunningEmulator

Serve = Callable[..., AbstractContextManager[tuple[RunningEmulator, httpx.Client]]]


def numbers_path(list_id: str) -> str:
    return f"/api/v2/outbound/dnclists/{list_id}/phonenumbers"


def add(client: httpx.Client, list_id: str, numbers: list[str], **extra: str) -> httpx.Response:
    return client.patch(
        numbers_path(list_id), json={"action": "Add", "phoneNumbers": numbers, **extra}
    )


def stamp(clock: ManualClock, delta: timedelta) -> str:
    return (datetime.fromtimestamp(clock(), UTC) + delta).strftime("%Y-%m-%dT%H:%MZ")


def test_rate_limit_counts_per_client_across_tokens(
    serve: Serve, clock: ManualClock, genesys_login: Callable[[], str]
) -> None:
    with serve(rate_limit=RateLimit(3, 60)) as (emulator, client):
        list_path = "/api/v2/outbound/dnclists"
        answers = [client.get(list_path) for _ in range(3)]
        assert [a.headers["inin-ratelimit-count"] for a in answers] == ["1", "2", "3"]
        assert answers[0].headers["inin-ratelimit-allowed"] == "3"
        assert answers[0].headers["ININ-Correlation-Id"]
        limited = client.get(list_path)
        assert limited.status_code == 429
        assert limited.json()["code"] == "too.many.requests.retry.after"
        assert limited.headers["Retry-After"] == "60"
        # A new token for the same OAuth client does not buy more requests.
        fresh = client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(emulator.settings.client_id, emulator.settings.client_secret),
        )
        other = {"Authorization": f"Bearer {fresh.json()['access_token']}"}
        assert client.get(list_path, headers=other).status_code == 429
        clock.advance(60)
        assert client.get(list_path, headers=other).status_code == 200


def test_retry_after_can_be_fixed_even_to_zero(serve: Serve) -> None:
    with serve(rate_limit=RateLimit(1, 60), retry_after=0) as (_, client):
        client.get("/api/v2/outbound/dnclists")
        limited = client.get("/api/v2/outbound/dnclists")
        assert (limited.status_code, limited.headers["Retry-After"]) == (429, "0")


def test_bodies_over_512000_bytes_are_refused(serve: Serve) -> None:
    with serve() as (emulator, client):
        list_id = emulator.state.genesys_create_list("big")
        numbers = [f"+1415{n:07d}" for n in range(40_000)]  # ~640 KB of JSON
        refused = add(client, list_id, numbers)
        assert (refused.status_code, refused.json()["code"]) == (413, "request.entity.too.large")
        assert add(client, list_id, numbers[:30_000]).status_code == 204  # ~480 KB


def test_list_and_org_capacity(serve: Serve) -> None:
    with serve(list_capacity=3, org_capacity=5) as (emulator, client):
        first = emulator.state.genesys_create_list("a")
        second = emulator.state.genesys_create_list("b")
        assert (
            add(client, first, ["+14155550001", "+14155550002", "+14155550003"]).status_code == 204
        )
        full = add(client, first, ["+14155550004"])
        assert full.json()["code"] == "dnc.phone.numbers.per.list.limit.exceeded"
        # Re-adding stored numbers needs no room.
        assert add(client, first, ["+14155550003"]).status_code == 204
        assert add(client, second, ["+14155550005", "+14155550006"]).status_code == 204
        org = add(client, second, ["+14155550007"])
        assert (org.status_code, org.json()["code"]) == (
            400,
            "dnc.phone.numbers.per.organization.limit.exceeded",
        )


def test_expiration_format_and_180_day_cap(serve: Serve, clock: ManualClock) -> None:
    with serve() as (emulator, client):
        list_id = emulator.state.genesys_create_list("dated")
        for bad in ("2026-02-01", "2026-02-01T10:00:00Z", "02/01/2026"):
            refused = add(client, list_id, ["+14155550001"], expirationDateTime=bad)
            assert (refused.status_code, refused.json()["code"]) == (400, "invalid.date")
        too_far = add(
            client, list_id, ["+14155550001"], expirationDateTime=stamp(clock, timedelta(days=181))
        )
        assert too_far.json()["code"] == "invalid.date"
        at_cap = stamp(clock, timedelta(days=180))
        assert add(client, list_id, ["+14155550001"], expirationDateTime=at_cap).status_code == 204
        posted = client.post(
            numbers_path(list_id), json=["+14155550002"], params={"expirationDateTime": "bad"}
        )
        assert posted.json()["code"] == "invalid.date"
        assert emulator.state.genesys_numbers(list_id) == {"+14155550001": at_cap}


def test_readding_replaces_the_expiration_and_expired_only_deletes(
    serve: Serve, clock: ManualClock
) -> None:
    with serve() as (emulator, client):
        list_id = emulator.state.genesys_create_list("x")
        soon = stamp(clock, timedelta(hours=1))
        add(client, list_id, ["+14155550001", "+14155550002"], expirationDateTime=soon)
        later = stamp(clock, timedelta(days=90))
        add(client, list_id, ["+1 415 555 0002"], expirationDateTime=later)
        assert emulator.state.genesys_numbers(list_id) == {
            "+14155550001": soon,
            "+14155550002": later,
        }
        clock.advance(2 * 3600)
        assert (
            client.delete(numbers_path(list_id), params={"expiredOnly": "true"}).status_code == 204
        )
        assert emulator.state.genesys_numbers(list_id) == {"+14155550002": later}
        assert client.delete(numbers_path(list_id)).status_code == 204
        assert emulator.state.genesys_numbers(list_id) == {}


def test_only_internal_lists_accept_numbers(serve: Serve) -> None:
    with serve() as (emulator, client):
        list_id = emulator.state.genesys_create_list("vendor", source_type="dnc.com")
        refused = add(client, list_id, ["+14155550001"])
        assert (refused.status_code, refused.json()["code"]) == (
            400,
            "dnc.source.operation.not.supported",
        )


@pytest.mark.parametrize(
    ("authorization", "code"),
    [(None, "authentication.required"), ("Bearer nonsense", "bad.credentials")],
)
def test_requests_without_a_valid_token_are_refused(
    serve: Serve, authorization: str | None, code: str
) -> None:
    with serve() as (_, client):
        del client.headers["Authorization"]
        headers = {"Authorization": authorization} if authorization else {}
        refused = client.get("/api/v2/outbound/dnclists", headers=headers)
        assert (refused.status_code, refused.json()["code"]) == (401, code)


def test_tokens_expire_after_their_ttl(serve: Serve, clock: ManualClock) -> None:
    with serve(token_ttl=300) as (_, client):
        token = client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=("dncsync-emulator-client", "dncsync-emulator-secret"),
        ).json()
        assert token["expires_in"] == 300
        clock.advance(301)
        refused = client.get("/api/v2/outbound/dnclists")
        assert (refused.status_code, refused.json()["code"]) == (401, "credentials.expired")


def test_paging_lists(serve: Serve) -> None:
    with serve() as (emulator, client):
        for name in ("c", "a", "b"):
            emulator.state.genesys_create_list(name)
        first = client.get(
            "/api/v2/outbound/dnclists", params={"pageSize": 2, "sortBy": "name"}
        ).json()
        assert [e["name"] for e in first["entities"]] == ["a", "b"]
        assert (first["total"], first["pageCount"]) == (3, 2)
        second = client.get(first["nextUri"]).json()
        assert [e["name"] for e in second["entities"]] == ["c"]
        assert "nextUri" not in second
        assert client.get("/api/v2/outbound/dnclists", params={"pageSize": 101}).status_code == 400


def test_uploads_need_the_signed_headers(serve: Serve) -> None:
    with serve() as (emulator, client):
        list_id = emulator.state.genesys_create_list("bulk")
        upload = client.post(
            "/api/v2/outbound/dnclists/uploads",
            json={"id": list_id, "contentType": "text/csv", "phoneColumns": ["phone"]},
        ).json()
        unsigned = httpx.put(upload["url"], content=b"phone\n+14155550001\n")
        assert unsigned.status_code == 403
