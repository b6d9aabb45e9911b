"""The demo: a whole sync against the bundled emulator, with no account and no network.

It starts the emulator on a free loopback port, creates a Genesys Cloud DNC list and a CXone
DNC group through their real APIs, writes a sample source (messy, as real exports are),
syncs it to both with the real run, then reads both platforms back and compares what they
hold with what the source asks for (`sync --verify`).
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from dncsync import config as config_module
from dncsync.emulator import (
    DEFAULT_ACCESS_KEY_ID,
    DEFAULT_ACCESS_KEY_SECRET,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_TENANT_ID,
    EmulatorSettings,
    run_in_thread,
)
from dncsync.errors import RunDrifted
from dncsync.outcome import RunResult
from dncsync.platforms.cxone import CxoneSettings, CxoneTarget
from dncsync.platforms.genesys import GenesysSettings, GenesysTarget
from dncsync.run.sync import RunOptions, run_sync

# The emulator's documented test credentials (not secrets), handed to the demo's own targets
# through the same environment variables a real configuration would name.
DEMO_ENVIRONMENT = {
    "DNCSYNC_DEMO_CLIENT_ID": DEFAULT_CLIENT_ID,
    "DNCSYNC_DEMO_CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
    "DNCSYNC_DEMO_ACCESS_KEY_ID": DEFAULT_ACCESS_KEY_ID,
    "DNCSYNC_DEMO_ACCESS_KEY_SECRET": DEFAULT_ACCESS_KEY_SECRET,
}

_AREA_CODES = ("212", "312", "415", "617", "646", "650", "702", "718", "917", "972")
_FOREIGN = ("+44 20 7946 {0:04d}", "011 49 30 9018{0:04d}", "+33 1 42 68 {0:02d} {0:02d}")
_REASONS = ("customer request", "Customer_Requested", "litigator", "national dnc", "state dnc")


@dataclass(frozen=True, slots=True)
class DemoResult:
    """The sync's result and the read-back check of each platform."""

    run: RunResult
    workdir: Path

    @property
    def matches(self) -> bool:
        """Every platform was read back and holds exactly what the source asks for."""
        return all(
            target.verification is not None and not target.verification.drifted
            for target in self.run.targets
        )


def write_sample_source(path: Path, rows: int, seed: int = 2026, today: date | None = None) -> None:
    """A seeded opt-out export in the shapes real ones have: formats, duplicates, junk."""
    today = today or datetime.now(UTC).date()
    rng = random.Random(seed)
    lines = ["phone_number,reason,source,date_collected"]
    numbers: list[str] = []
    for _ in range(rows):
        roll = rng.random()
        if numbers and roll < 0.1:
            phone = rng.choice(numbers)  # a duplicate, in the same or another form
        elif roll < 0.15:
            phone = rng.choice(_FOREIGN).format(rng.randrange(100))
        elif roll < 0.18:
            phone = rng.choice(("n/a", "#VALUE!", "555-0100", "12345", ""))
        else:
            area = rng.choice(_AREA_CODES)
            exchange = rng.randrange(200, 1000)
            line = rng.randrange(10_000)
            phone = rng.choice(
                (
                    f"({area}) {exchange}-{line:04d}",
                    f"+1 {area}-{exchange}-{line:04d}",
                    f"1-{area}-{exchange}-{line:04d}",
                    f"{area}.{exchange}.{line:04d}",
                )
            )
            numbers.append(phone)
        # Most requests recent, some collected weeks ago: the report flags those as late.
        age = rng.randrange(3) if rng.random() < 0.9 else rng.randrange(20, 60)
        collected = (today - timedelta(days=age)).isoformat()
        lines.append(f'"{phone}",{rng.choice(_REASONS)},demo-crm,{collected}')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o600)


def write_config(path: Path, base_url: str, list_id: str, group_id: int) -> None:
    """The demo's configuration: one source, one Genesys list, one CXone group."""
    path.write_text(
        f"""\
[state]
path = "dncsync.db"

[[source]]
name = "optouts"
url = "optouts.csv"

[[target]]
name = "genesys-demo"
platform = "genesys"
base_url = "{base_url}"
dnc_list_id = "{list_id}"
mode = "mirror"
client_id_env = "DNCSYNC_DEMO_CLIENT_ID"
client_secret_env = "DNCSYNC_DEMO_CLIENT_SECRET"
batch_size = 250
export_poll_seconds = 0.2

[[target]]
name = "cxone-demo"
platform = "cxone"
base_url = "{base_url}"
tenant_id = "{DEFAULT_TENANT_ID}"
dnc_group_id = {group_id}
mode = "mirror"
access_key_id_env = "DNCSYNC_DEMO_ACCESS_KEY_ID"
access_key_secret_env = "DNCSYNC_DEMO_ACCESS_KEY_SECRET"
client_id_env = "DNCSYNC_DEMO_CLIENT_ID"
client_secret_env = "DNCSYNC_DEMO_CLIENT_SECRET"
batch_size = 250
""",
        encoding="utf-8",
    )


@contextmanager
def _demo_environment() -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in DEMO_ENVIRONMENT}
    os.environ.update(DEMO_ENVIRONMENT)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


async def create_list_and_group(base_url: str, name: str = "dncsync demo") -> tuple[str, int]:
    """Create a Genesys list and a CXone group on an emulator, through the platforms' APIs."""
    genesys = GenesysTarget(
        GenesysSettings(
            name="genesys-demo",
            client_id=DEFAULT_CLIENT_ID,
            client_secret=DEFAULT_CLIENT_SECRET,
            base_url=base_url,
        )
    )
    cxone = CxoneTarget(
        CxoneSettings(
            name="cxone-demo",
            tenant_id=DEFAULT_TENANT_ID,
            access_key_id=DEFAULT_ACCESS_KEY_ID,
            access_key_secret=DEFAULT_ACCESS_KEY_SECRET,
            client_id=DEFAULT_CLIENT_ID,
            client_secret=DEFAULT_CLIENT_SECRET,
            base_url=base_url,
        )
    )
    async with genesys, cxone:
        list_id = await genesys.create_list(name)
        group_id = await cxone.create_group(name, f"created by {name}")
    return list_id, group_id


def run_demo(workdir: Path, rows: int = 2_000, seed: int = 2026) -> DemoResult:
    """Start the emulator, sync a sample source to both platforms, read them back."""
    workdir.mkdir(parents=True, exist_ok=True)
    with run_in_thread(EmulatorSettings(seed=seed)) as emulator, _demo_environment():
        list_id, group_id = asyncio.run(create_list_and_group(emulator.base_url))
        write_sample_source(workdir / "optouts.csv", rows, seed)
        config_path = workdir / "dncsync.toml"
        write_config(config_path, emulator.base_url, list_id, group_id)
        parsed, base = config_module.load(config_path)
        try:
            # --verify: read both platforms back and compare, as an operator would.
            result = run_sync(parsed, base, RunOptions(verify=True), command="sync")
        except RunDrifted as drifted:
            result = drifted.result
    return DemoResult(result, workdir)
