"""Fixtures: an emulator app per test, reached in-process; retries without waiting."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import stamina

from dncsync.emulator import EmulatorApp, EmulatorSettings, RateLimit, create_app


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def settings() -> EmulatorSettings:
    """Override in a module to change how the emulator behaves; no rate limit to speak of."""
    return EmulatorSettings(rate_limit=RateLimit(1_000_000, 60.0), export_delay_seconds=0.05)


@pytest.fixture
def app(settings: EmulatorSettings) -> EmulatorApp:
    return create_app(settings)


@pytest.fixture
def no_backoff() -> Iterator[None]:
    """Retries without waiting (stamina's test mode), up to 30 attempts per request."""
    with stamina.set_testing(True, attempts=30):
        yield
