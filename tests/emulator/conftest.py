"""Emulators over a real loopback socket, one per test (starting one takes milliseconds)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import httpx
import pytest

from dncsync.emulator import (
    DEFAULT_ACCESS_KEY_ID,
    DEFAULT_ACCESS_KEY_SECRET,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    EmulatorSettings,
    ManualClock,
    RunningEmulator,
    run_in_thread,
)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def settings(clock: ManualClock) -> EmulatorSettings:
    """Override in a test module to change how the emulator behaves."""
    return EmulatorSettings(clock=clock, export_delay_seconds=5, import_seconds=5)


@pytest.fixture
def emulator(settings: EmulatorSettings) -> Iterator[RunningEmulator]:
    with run_in_thread(settings) as running:
        yield running


@pytest.fixture
def http(emulator: RunningEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator.base_url, timeout=10) as client:
        yield client


def genesys_token(http: httpx.Client) -> str:
    answer = http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET),
    )
    assert answer.status_code == 200, answer.text
    token = answer.json()["access_token"]
    assert isinstance(token, str)
    return token


@pytest.fixture
def genesys(http: httpx.Client) -> httpx.Client:
    """A client carrying a valid Genesys bearer token."""
    http.headers["Authorization"] = f"Bearer {genesys_token(http)}"
    return http


CxoneLogin = Callable[[], dict[str, object]]


@pytest.fixture
def cxone_login(http: httpx.Client) -> CxoneLogin:
    """Log in to CXone with the password grant; returns the token answer."""
    return lambda: cxone_token(http)


def cxone_token(http: httpx.Client) -> dict[str, object]:
    answer = http.post(
        "/auth/token",
        data={
            "grant_type": "password",
            "username": DEFAULT_ACCESS_KEY_ID,
            "password": DEFAULT_ACCESS_KEY_SECRET,
        },
        auth=(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET),
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert isinstance(body, dict)
    return body


@pytest.fixture
def cxone(emulator: RunningEmulator, http: httpx.Client) -> Iterator[httpx.Client]:
    """A client for the Admin API base (v31.0), with a valid token and the JSON Accept header."""
    with httpx.Client(
        base_url=f"{emulator.base_url}/inContactAPI/services/v31.0",
        headers={
            "Authorization": f"Bearer {cxone_token(http)['access_token']}",
            "Accept": "application/json",
        },
        timeout=10,
    ) as admin:
        yield admin


@pytest.fixture
def genesys_login(http: httpx.Client) -> Callable[[], str]:
    """Fetch a fresh Genesys token from the emulator under test."""
    return lambda: genesys_token(http)


Serve = Callable[..., AbstractContextManager[tuple[RunningEmulator, httpx.Client]]]


@pytest.fixture
def serve(clock: ManualClock) -> Serve:
    """Start an emulator with settings overrides (on the test's clock); yields it and a client
    that holds a Genesys token."""

    @contextmanager
    def serving(**overrides: object) -> Iterator[tuple[RunningEmulator, httpx.Client]]:
        settings = EmulatorSettings(clock=clock, **overrides)  # type: ignore[arg-type]
        with (
            run_in_thread(settings) as running,
            httpx.Client(base_url=running.base_url, timeout=10) as client,
        ):
            client.headers["Authorization"] = f"Bearer {genesys_token(client)}"
            yield running, client

    return serving
