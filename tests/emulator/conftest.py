"""Emulators over a real loopback socket, one per test (starting one takes milliseconds)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from dncsync.emulator import (
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
