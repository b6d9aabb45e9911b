"""Local Genesys Cloud and NICE CXone servers speaking the platforms' real DNC APIs.

For the demo, end-to-end tests, benchmarks and trying a configuration safely:

    with run_in_thread(EmulatorSettings(seed=7)) as emulator:
        emulator.base_url        # both platforms on one origin
        emulator.state           # data, request log, helpers to plant drift

docs/emulator.md describes what is modelled, every setting and the inspection API.
"""

from dncsync.emulator.app import EmulatorApp, create_app
from dncsync.emulator.faults import Fault, FaultKind
from dncsync.emulator.server import EmulatorStartError, RunningEmulator, run_in_thread
from dncsync.emulator.settings import (
    DEFAULT_ACCESS_KEY_ID,
    DEFAULT_ACCESS_KEY_SECRET,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_TENANT_ID,
    EmulatorSettings,
    FaultSettings,
    ManualClock,
    RateLimit,
)
from dncsync.emulator.state import EmulatorState, RequestRecord

__all__ = [
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
]
