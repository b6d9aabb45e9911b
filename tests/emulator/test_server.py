"""The threaded runner: fast to start and stop, safe under concurrent clients."""

from __future__ import annotations

import threading

import httpx

from dncsync.emulator import EmulatorSettings, RateLimit, run_in_thread


def test_starting_and_stopping_many_times_frees_the_port_and_warns_nothing() -> None:
    # pytest turns warnings (unclosed sockets, un-awaited tasks) into errors here.
    for _ in range(20):
        with run_in_thread() as emulator, httpx.Client(base_url=emulator.base_url) as http:
            assert http.get("/_emulator/state").status_code == 200
        url = emulator.base_url
    try:
        httpx.get(f"{url}/_emulator/state", timeout=1)
    except httpx.ConnectError:
        pass
    else:
        raise AssertionError("the emulator still answers after its block ended")


def test_concurrent_clients_lose_no_number() -> None:
    settings = EmulatorSettings(rate_limit=RateLimit(10_000, 60))
    with run_in_thread(settings) as emulator:
        list_id = emulator.state.genesys_create_list("busy")
        token = emulator.state.issue_token(
            emulator.state.genesys_tokens, settings.client_id, settings.token_ttl
        )

        def push(worker: int) -> None:
            with httpx.Client(
                base_url=emulator.base_url, headers={"Authorization": f"Bearer {token}"}
            ) as http:
                for batch in range(10):
                    numbers = [f"+1415{worker:02d}{batch:02d}{n:03d}" for n in range(50)]
                    answer = http.patch(
                        f"/api/v2/outbound/dnclists/{list_id}/phonenumbers",
                        json={"action": "Add", "phoneNumbers": numbers},
                    )
                    assert answer.status_code == 204

        workers = [threading.Thread(target=push, args=(w,)) for w in range(6)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        assert len(emulator.state.genesys_numbers(list_id)) == 6 * 10 * 50


def test_the_emulator_package_exports_exactly_its_api() -> None:
    import dncsync.emulator as package

    assert set(package.__all__) == {
        "DEFAULT_ACCESS_KEY_ID",
        "DEFAULT_ACCESS_KEY_SECRET",
        "DEFAULT_CLIENT_ID",
        "DEFAULT_CLIENT_SECRET",
        "DEFAULT_TENANT_ID",
        "EmulatorApp",
        "EmulatorSettings",
        "EmulatorStartError",
        "EmulatorState",
        "Fault",
        "FaultKind",
        "FaultSettings",
        "ManualClock",
        "RateLimit",
        "RequestRecord",
        "RunningEmulator",
        "create_app",
        "run_in_thread",
    }
    assert all(hasattr(package, name) for name in package.__all__)
