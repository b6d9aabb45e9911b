"""CXone's discovery, OAuth and DNC-group Admin API, with PLATFORMS.md's payloads over httpx."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping

import httpx
import pytest

from dncsync.emulator import (
    DEFAULT_ACCESS_KEY_ID,
    DEFAULT_ACCESS_KEY_SECRET,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_TENANT_ID,
    ManualClock,
    RunningEmulator,
)


def new_group(cxone: httpx.Client, name: str = "Compliance") -> int:
    answer = cxone.post("/dnc-groups", json={"dncGroupName": name, "dncGroupDescription": "d"})
    assert answer.status_code == 200, answer.text
    group_id = answer.json()["dncGroups"][0]["dncGroupId"]
    assert isinstance(group_id, int)
    return group_id


def add(cxone: httpx.Client, group_id: int, *records: Mapping[str, object]) -> dict[str, object]:
    answer = cxone.post(f"/dnc-groups/{group_id}/records", json={"dncGroupRecords": list(records)})
    assert answer.status_code == 200, answer.text
    result = answer.json()["resultSet"]
    assert isinstance(result, dict)
    return result


def valid_records(cxone: httpx.Client, group_id: int) -> int:
    group = cxone.get(f"/dnc-groups/{group_id}").json()["resultSet"]["dncGroups"][0]
    count = group["validRecords"]
    assert isinstance(count, int)
    return count


def test_discovery_points_back_at_the_emulator(
    emulator: RunningEmulator, http: httpx.Client
) -> None:
    config = http.get(
        "/.well-known/cxone-configuration", params={"tenantId": DEFAULT_TENANT_ID}
    ).json()
    assert config["api_endpoint"] == config["auth_endpoint"] == emulator.base_url
    openid = http.get("/.well-known/openid-configuration").json()
    assert openid["token_endpoint"] == f"{emulator.base_url}/auth/token"
    unknown = http.get("/.well-known/cxone-configuration", params={"tenantId": "nope"})
    assert unknown.status_code == 404


def test_password_grant_refresh_and_access_key_tokens(
    http: httpx.Client, cxone_login: Callable[[], dict[str, object]]
) -> None:
    first = cxone_login()
    assert first["expires_in"] == 3600
    claims = str(first["id_token"]).split(".")[1]
    assert json.loads(base64.urlsafe_b64decode(claims + "=="))["tenantId"] == DEFAULT_TENANT_ID

    refreshed = http.post(
        "/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
        auth=(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET),
    )
    assert refreshed.status_code == 200
    assert refreshed.json()["access_token"] != first["access_token"]

    by_key = http.post(
        "/authentication/v1/token/access-key",
        json={"accessKeyId": DEFAULT_ACCESS_KEY_ID, "accessKeySecret": DEFAULT_ACCESS_KEY_SECRET},
    )
    assert by_key.status_code == 200
    assert by_key.json()["access_token"]

    wrong_secret = http.post(
        "/auth/token",
        data={"grant_type": "password", "username": DEFAULT_ACCESS_KEY_ID, "password": "no"},
        auth=(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET),
    )
    assert (wrong_secret.status_code, wrong_secret.json()["error"]) == (400, "invalid_grant")
    wrong_client = http.post(
        "/auth/token",
        data={"grant_type": "password", "username": DEFAULT_ACCESS_KEY_ID, "password": "x"},
        auth=("someone", "else"),
    )
    assert (wrong_client.status_code, wrong_client.json()["error"]) == (401, "invalid_client")


def test_groups_create_get_list_and_update(cxone: httpx.Client) -> None:
    group_id = new_group(cxone, "Litigators")
    listing = cxone.get("/dnc-groups").json()["resultSet"]
    assert listing["totalGroups"] == 1
    assert listing["dncGroups"][0]["dncGroupName"] == "Litigators"
    updated = cxone.put(
        f"/dnc-groups/{group_id}", params={"dncGroupName": "Renamed", "isActive": "false"}
    ).json()["dncGroups"][0]
    assert (updated["dncGroupName"], updated["isActive"]) == ("Renamed", False)
    assert cxone.get("/dnc-groups/999999").status_code == 404


def test_any_admin_api_version_answers(emulator: RunningEmulator, cxone: httpx.Client) -> None:
    token = cxone.headers["Authorization"]
    for version in ("v12.0", "v26.0", "v31.0"):
        answer = httpx.get(
            f"{emulator.base_url}/inContactAPI/services/{version}/dnc-groups",
            headers={"Authorization": token, "Accept": "application/json"},
        )
        assert answer.status_code == 200


def test_batch_answers_200_with_per_record_failures(cxone: httpx.Client) -> None:
    group_id = new_group(cxone)
    result = add(
        cxone,
        group_id,
        {"phoneNumber": "4155552671"},
        {"phoneNumber": 4155552672, "expiredDate": "12/31/2099"},
        {"phoneNumber": "01149309018200"},  # 011 + country code + number: 14 digits
        {"phoneNumber": "+14155552673"},  # '+' is not digits
        {"phoneNumber": "415555"},  # too short
        {"phoneNumber": "1234567890123456789"},  # 19 digits: too long
    )
    assert result["errorCount"] == 3
    outcomes = [(r["success"], r["error"]) for r in result["recordResults"]]  # type: ignore[attr-defined]
    assert outcomes == [(True, None)] * 3 + [(False, "InvalidPhoneNumber")] * 3
    assert valid_records(cxone, group_id) == 3


def test_expire_keeps_records_and_repost_replaces_expired_date(
    cxone: httpx.Client, clock: ManualClock, cxone_login: Callable[[], dict[str, object]]
) -> None:
    group_id = new_group(cxone)
    add(cxone, group_id, {"phoneNumber": "4155552671"}, {"phoneNumber": "4155552672"})
    expired = cxone.request(
        "DELETE",
        f"/dnc-groups/{group_id}/records",
        json={"dncGroupRecords": [{"phoneNumber": "4155552671"}]},
    )
    assert expired.status_code == 200
    assert expired.json()["resultSet"]["errorCount"] == 0
    assert valid_records(cxone, group_id) == 1
    records = cxone.get(f"/dnc-groups/{group_id}/records").json()["resultSet"]
    assert records["totalRecords"] == 2  # held and expired are both listed
    dates = {r["phoneNumber"]: r["expiredDate"] for r in records["dncRecords"]}
    assert dates == {"4155552671": "01/01/2026", "4155552672": None}  # the clock's today

    add(cxone, group_id, {"phoneNumber": "4155552671", "expiredDate": "2026-06-30"})
    assert valid_records(cxone, group_id) == 2
    clock.advance(200 * 86_400)  # past June 30th: the record is stored but no longer held
    cxone.headers["Authorization"] = f"Bearer {cxone_login()['access_token']}"
    assert valid_records(cxone, group_id) == 1


def test_records_page_with_skip_top_and_order(cxone: httpx.Client) -> None:
    group_id = new_group(cxone)
    add(cxone, group_id, *({"phoneNumber": f"41555526{n:02d}"} for n in range(25)))
    seen: list[str] = []
    for skip in range(0, 25, 10):
        page = cxone.get(
            f"/dnc-groups/{group_id}/records",
            params={"skip": skip, "top": 10, "orderBy": "phoneNumber desc"},
        ).json()["resultSet"]
        assert page["totalRecords"] == 25
        seen += [record["phoneNumber"] for record in page["dncRecords"]]
    assert seen == sorted((f"41555526{n:02d}" for n in range(25)), reverse=True)


def test_search_finds_a_number_in_its_groups(cxone: httpx.Client) -> None:
    first, second = new_group(cxone, "a"), new_group(cxone, "b")
    add(cxone, first, {"phoneNumber": "4155552671"})
    add(cxone, second, {"phoneNumber": "4155552671"})
    found = cxone.post("/dnc-groups/search", params={"phoneNumber": "4155552671"}).json()
    assert [hit["dncGroupId"] for hit in found["searchResults"]] == [first, second]


def test_without_json_accept_the_api_answers_plain_text(cxone: httpx.Client) -> None:
    answer = cxone.get("/dnc-groups", headers={"Accept": "*/*"})
    assert answer.status_code == 406
    assert answer.headers["content-type"].startswith("text/plain")
    assert "No known way to render data" in answer.text


def test_expired_or_missing_tokens_are_refused(cxone: httpx.Client, clock: ManualClock) -> None:
    assert cxone.get("/dnc-groups", headers={"Authorization": ""}).status_code == 401
    clock.advance(3600)
    assert cxone.get("/dnc-groups").status_code == 401


@pytest.mark.parametrize("records", [None, {"dncGroupRecords": "x"}])
def test_a_malformed_batch_is_refused_whole(cxone: httpx.Client, records: object) -> None:
    group_id = new_group(cxone)
    answer = cxone.post(f"/dnc-groups/{group_id}/records", json=records)
    assert answer.status_code == 400
