"""Fixtures for the end-to-end tests: credentials in the environment, emulators on loopback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from .support import CREDENTIAL_ENV, Platforms, emulator_settings, serve


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The emulator's credentials in the environment variables the configs name."""
    for name, value in CREDENTIAL_ENV.items():
        monkeypatch.setenv(name, value)
    # A developer's own settings must not leak into a subprocess's behaviour.
    for name in ("DNCSYNC_DEBUG", "HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    return dict(CREDENTIAL_ENV)


@pytest.fixture
def start_emulator(credentials: dict[str, str]) -> Iterator[Callable[..., Platforms]]:
    """Start an emulator (settings as keyword arguments) on a free loopback port."""
    with ExitStack() as stack:

        def start(**settings: Any) -> Platforms:
            return stack.enter_context(serve(emulator_settings(**settings)))

        yield start


@pytest.fixture
def platforms(start_emulator: Callable[..., Platforms]) -> Platforms:
    """A fault-free emulator with a Genesys list and a CXone group."""
    return start_emulator()
