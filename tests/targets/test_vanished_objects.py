"""A source of many objects is additive: a mirror keeps the numbers of an object that vanished.

A folder of daily drops syncs to a mirror target in-process (the emulator's ASGI app); a drop
that disappears (an S3 lifecycle rule, a cleanup) leaves its numbers on the list, across runs,
until the source says `vanished = "remove"`.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from dncsync import config as config_module
from dncsync.emulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, EmulatorSettings, create_app
from dncsync.platforms import platform_of
from dncsync.platforms.genesys import GenesysTarget
from dncsync.run import RunOptions, run_sync
from dncsync.state import StateStore

from .support import genesys_settings

URL = "http://127.0.0.1:9"  # never dialled: every request goes through the transport


def _drop(folder: Path, name: str, first: int, count: int) -> None:
    numbers = [f"+1415555{n:04d}" for n in range(first, first + count)]
    (folder / name).write_text("phone\n" + "\n".join(numbers) + "\n", encoding="utf-8")


def _config(tmp: Path, list_id: str, vanished: str) -> Path:
    path = tmp / "dncsync.toml"
    path.write_text(
        f"""
[state]
path = "state.db"

[[source]]
name = "drops"
url = "drops/"
vanished = "{vanished}"

[[target]]
name = "g"
platform = "genesys"
mode = "mirror"
base_url = "{URL}"
dnc_list_id = "{list_id}"
client_id_env = "VO_CLIENT_ID"
client_secret_env = "VO_CLIENT_SECRET"
export_poll_seconds = 0.01
""",
        encoding="utf-8",
    )
    return path


def test_vanished_objects_keep_their_numbers_until_the_source_says_remove(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VO_CLIENT_ID", DEFAULT_CLIENT_ID)
    monkeypatch.setenv("VO_CLIENT_SECRET", DEFAULT_CLIENT_SECRET)
    transport = httpx.ASGITransport(app=create_app(EmulatorSettings(seed=11)))

    async def new_list() -> str:
        async with httpx.AsyncClient(transport=transport) as client:
            return await GenesysTarget(genesys_settings(URL), client).create_list("drops")

    list_id = asyncio.run(new_list())
    drops = tmp_path / "drops"
    drops.mkdir()
    _drop(drops, "2026-12-01.csv", 2000, 20)
    _drop(drops, "2026-12-02.csv", 3000, 20)

    def sync(vanished: str, **options: object) -> tuple[int, int]:
        config, base = config_module.load(_config(tmp_path, list_id, vanished))
        result = run_sync(config, base, RunOptions(**options), transport=transport)  # type: ignore[arg-type]
        assert result.status == "success", result.status
        outcome = result.target("g")
        assert outcome is not None
        assert outcome.plan is not None
        key = platform_of(config.target[0]).list_identity(config.target[0])
        with StateStore(base / "state.db") as store:
            return len(outcome.plan.removes), len(store.snapshot(key))

    assert sync("keep") == (0, 40)
    (drops / "2026-12-01.csv").unlink()  # the first drop expires
    _drop(drops, "2026-12-03.csv", 4000, 5)
    assert sync("keep") == (0, 45)  # its 20 numbers stay on the mirror
    assert sync("keep", apply=False) == (0, 45)  # a plan protects them too, and writes nothing
    assert sync("keep") == (0, 45)  # and in every later run
    assert sync("remove", allow_mass_removal=True) == (20, 25)  # the operator's choice
    assert sync("keep") == (0, 25)  # forgotten: nothing comes back
