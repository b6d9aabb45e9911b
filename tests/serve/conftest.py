"""The end-to-end fixtures (credentials, emulators on loopback) for the serve tests."""

from e2e.conftest import credentials, platforms, start_emulator

__all__ = ["credentials", "platforms", "start_emulator"]
