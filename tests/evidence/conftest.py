"""Fixtures for the evidence tests: a clean structlog setup and the sample report."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import structlog

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _fresh_structlog() -> Iterator[None]:
    """Every test starts and ends with structlog's defaults and no bound context."""
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()
    yield
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


def load_sample_module() -> ModuleType:
    """scripts/sample_report.py, the seeded sample the docs screenshot shows."""
    name = "dncsync_sample_report"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / "sample_report.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def build_sample() -> Callable[..., Any]:
    """`build_sample(scenario)`: the seeded sample report ("partial" or "success")."""
    build: Callable[..., Any] = load_sample_module().build_sample
    return build
