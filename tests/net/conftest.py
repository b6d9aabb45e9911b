"""Fixtures for the network layer: a manual clock and a scripted platform behind MockTransport."""

from __future__ import annotations

import pytest

from .fakes import ManualClock, ScriptedPlatform


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def platform() -> ScriptedPlatform:
    return ScriptedPlatform()
