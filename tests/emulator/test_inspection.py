"""The emulator-only `/_emulator/` API and its in-process twin on the state object."""

from __future__ import annotations

import httpx

from dncsync.emulator import (
    EmulatorSettings,
    FaultSettings,
    ManualClock,
    RateLimit,
    RunningEmulator,
    run_in_thread,
)


def test_request_log_shows_method_path_status_numbers_and_fault(
    emulator: RunningEmulator, genesys: httpx.Client
) -> None:
    list_id = genesys.post(
        "/api/v2/outbound/dnclists", json={"name": "a", "dncSourceType": "rds"}
    ).json()["id"]
    genesys.patch(
        f"/api/v2/outbound/dnclists/{list_id}/phonenumbers",
        json={"action": "Add", "phoneNumbers": ["+14155550001", "+14155550002"]},
    )
    log = genesys.get("/_emulator/requests").json()["requests"]
    assert [(e["method"], e["status"], e["numbers"], e["fault"]) for e in log] == [
        ("POST", 200, 0, None),  # the token
        ("POST", 200, 0, None),
        ("PATCH", 204, 2, None),
    ]
    assert log[2]["path"] == f"/api/v2/outbound/dnclists/{list_id}/phonenumbers"
    assert log[2]["caller"] == emulator.settings.client_id
    since = genesys.get("/_emulator/requests", params={"since": 2}).json()["requests"]
    assert [e["seq"] for e in since] == [3]
    assert genesys.delete("/_emulator/requests").status_code == 204
    assert emulator.state.requests() == []


def test_direct_edits_plant_drift_that_the_platform_api_shows(
    emulator: RunningEmulator, genesys: httpx.Client, cxone: httpx.Client
) -> None:
    list_id = genesys.post(
        "/_emulator/genesys/dnclists", json={"name": "seeded", "numbers": ["+14155550001"]}
    ).json()["id"]
    genesys.patch(
        f"/_emulator/genesys/dnclists/{list_id}",
        json={"add": ["+14155550009"], "remove": ["+14155550001"]},
    )
    numbers = genesys.get(f"/_emulator/genesys/dnclists/{list_id}/numbers").json()["numbers"]
    assert numbers == {"+14155550009": None}
    listed = genesys.get(f"/api/v2/outbound/dnclists/{list_id}", params={"includeSize": "true"})
    assert listed.json()["size"] == 1

    group_id = genesys.post(
        "/_emulator/cxone/dnc-groups",
        json={"name": "seeded", "records": {"4155550001": None, "4155550002": "01/01/2020"}},
    ).json()["dncGroupId"]
    genesys.patch(f"/_emulator/cxone/dnc-groups/{group_id}", json={"delete": ["4155550002"]})
    records = cxone.get(f"/dnc-groups/{group_id}/records").json()["resultSet"]["dncRecords"]
    assert [r["phoneNumber"] for r in records] == ["4155550001"]

    dump = genesys.get("/_emulator/state").json()
    assert dump["genesys"]["dnclists"][0]["numbers"] == {"+14155550009": None}
    assert dump["cxone"]["dncGroups"][0]["validRecords"] == 1


def test_reset_forgets_everything(emulator: RunningEmulator, genesys: httpx.Client) -> None:
    emulator.state.genesys_create_list("gone")
    assert genesys.post("/_emulator/reset").status_code == 204
    assert emulator.state.dump()["genesys"] == {"dnclists": []}
    # Tokens are forgotten too.
    assert genesys.get("/api/v2/outbound/dnclists").status_code == 401


def test_inspection_is_never_limited_faulted_or_logged(clock: ManualClock) -> None:
    settings = EmulatorSettings(
        clock=clock, rate_limit=RateLimit(1, 60), faults=FaultSettings(error_rate=1.0)
    )
    with run_in_thread(settings) as emulator, httpx.Client(base_url=emulator.base_url) as http:
        for _ in range(5):
            assert http.get("/_emulator/state").status_code == 200
        assert emulator.state.requests() == []
        settings_shown = http.get("/_emulator/settings").json()
        assert settings_shown["faults"]["error_rate"] == 1.0


def test_state_helpers_in_process(emulator: RunningEmulator) -> None:
    state = emulator.state
    list_id = state.genesys_create_list("x", ["+1 (415) 555-0001"], expiration="2026-03-01T00:00Z")
    state.genesys_edit(list_id, add=["+14155550002"])
    assert state.genesys_numbers(list_id) == {
        "+14155550001": "2026-03-01T00:00Z",
        "+14155550002": None,
    }
    group_id = state.cxone_create_group("g", {"4155550001": None, "4155550002": "12/31/2025"})
    assert state.cxone_held(group_id) == {"4155550001"}  # the clock says 2026-01-01
    state.cxone_edit(group_id, upsert={"4155550002": None})
    assert state.cxone_records(group_id) == {"4155550001": None, "4155550002": None}


def test_cxone_rate_limit_and_tenant_capacity(clock: ManualClock) -> None:
    settings = EmulatorSettings(clock=clock, cxone_rate_limit=RateLimit(2, 10), tenant_capacity=2)
    with run_in_thread(settings) as emulator, httpx.Client(base_url=emulator.base_url) as http:
        token = http.post(
            "/authentication/v1/token/access-key",
            json={
                "accessKeyId": settings.access_key_id,
                "accessKeySecret": settings.access_key_secret,
            },
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        base = "/inContactAPI/services/v31.0/dnc-groups"
        group_id = emulator.state.cxone_create_group("g")
        answer = http.post(
            f"{base}/{group_id}/records",
            headers=headers,
            json={"dncGroupRecords": [{"phoneNumber": f"415555000{n}"} for n in range(3)]},
        ).json()["resultSet"]
        assert answer["errorCount"] == 1
        assert answer["recordResults"][2]["error"] == "MaxRecordsExceeded"
        assert http.get(base, headers=headers).status_code == 200
        limited = http.get(base, headers=headers)
        assert (limited.status_code, limited.headers["Retry-After"]) == (429, "10")
        clock.advance(10)
        assert http.get(base, headers=headers).status_code == 200
