"""Credentials, read from the environment only: never from a file, never logged."""

from __future__ import annotations

import os

from dncsync import logs
from dncsync.errors import ConfigError


def secret_from_env(target: str, key: str, variable: str) -> str:
    """Read one credential from the environment; a missing one names the key and variable."""
    value = os.environ.get(variable)
    if value:
        logs.register_secret(value)  # scrubbed wherever it might surface, not only by key
    if not value:
        raise ConfigError(
            f"target {target!r}: environment variable {variable} is not set "
            f"(named by {key}); dncsync reads credentials from the environment only"
        )
    return value
