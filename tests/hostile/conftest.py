"""Fixtures for the hostile-conditions suite: credentials, the emulator, the hostile platform.

These tests run apart from the quick suite (`pytest -m hostile`, the second stage of
`.ci/run`): each starts `dncsync` subprocesses against a platform that fails on purpose and
waits out retry budgets and request deadlines, kept short here but still seconds each.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from e2e.support import CREDENTIAL_ENV, Platforms, emulator_settings, serve

from .platform import Hostile, HostileMiddleware


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The emulator's credentials in the environment; no proxy or debug setting leaks in."""
    for name, value in CREDENTIAL_ENV.items():
        monkeypatch.setenv(name, value)
    for name in ("DNCSYNC_DEBUG", "HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.delenv("DNCSYNC_HEARTBEAT_SECONDS", raising=False)
    return dict(CREDENTIAL_ENV)


@pytest.fixture
def platforms(credentials: dict[str, str]) -> Iterator[Platforms]:
    """A fault-free emulator with a Genesys list and a CXone group."""
    with serve(emulator_settings()) as running:
        yield running


@pytest.fixture
def hostile(credentials: dict[str, str]) -> Iterator[tuple[Platforms, Hostile]]:
    """The emulator with hostile answers switched by `Hostile.scenario` (None: honest)."""
    with serve(emulator_settings()) as running:
        state = Hostile()
        running.running.app.add_middleware(HostileMiddleware, hostile=state)
        yield running, state
