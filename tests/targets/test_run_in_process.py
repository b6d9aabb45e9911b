"""The whole run in-process: `run_sync` and `run_reconcile` over an injected transport.

The emulator's ASGI app stands in for both platforms with no socket, as httpx's transports
allow; the end-to-end tests run the same code over a real loopback socket.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from dncsync import config as config_module
from dncsync.emulator import (
    DEFAULT_ACCESS_KEY_ID,
    DEFAULT_ACCESS_KEY_SECRET,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_TENANT_ID,
    EmulatorSettings,
    create_app,
)
from dncsync.errors import RunIncomplete
from dncsync.platforms import platform_of
from dncsync.platforms.cxone import CxoneTarget
from dncsync.platforms.genesys import GenesysTarget
from dncsync.run import RunOptions, run_reconcile, run_sync
from dncsync.state import StateStore

from .support import cxone_settings, genesys_settings

URL = "http://127.0.0.1:9"  # never dialled: every request goes through the transport
NUMBERS = [f"+1415555{n:04d}" for n in range(2000, 2040)]


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, httpx.ASGITransport]:
    app = create_app(EmulatorSettings(seed=7))
    transport = httpx.ASGITransport(app=app)

    async def lists() -> tuple[str, int]:
        async with httpx.AsyncClient(transport=transport) as client:
            genesys = GenesysTarget(genesys_settings(URL), client)
            cxone = CxoneTarget(cxone_settings(URL), client)
            return await genesys.create_list("in process"), await cxone.create_group("in process")

    list_id, group_id = asyncio.run(lists())
    for variable, value in {
        "IP_CLIENT_ID": DEFAULT_CLIENT_ID,
        "IP_CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
        "IP_ACCESS_KEY_ID": DEFAULT_ACCESS_KEY_ID,
        "IP_ACCESS_KEY_SECRET": DEFAULT_ACCESS_KEY_SECRET,
    }.items():
        monkeypatch.setenv(variable, value)
    (tmp_path / "optouts.csv").write_text("phone\n" + "\n".join(NUMBERS) + "\n", encoding="utf-8")
    (tmp_path / "dncsync.toml").write_text(
        f"""
[state]
path = "state.db"

[[source]]
name = "optouts"
url = "optouts.csv"

[[target]]
name = "g"
platform = "genesys"
base_url = "{URL}"
dnc_list_id = "{list_id}"
client_id_env = "IP_CLIENT_ID"
client_secret_env = "IP_CLIENT_SECRET"
export_poll_seconds = 0.01

[[target]]
name = "c"
platform = "cxone"
base_url = "{URL}"
tenant_id = "{DEFAULT_TENANT_ID}"
dnc_group_id = {group_id}
access_key_id_env = "IP_ACCESS_KEY_ID"
access_key_secret_env = "IP_ACCESS_KEY_SECRET"
client_id_env = "IP_CLIENT_ID"
client_secret_env = "IP_CLIENT_SECRET"
""",
        encoding="utf-8",
    )
    return tmp_path / "dncsync.toml", transport


def test_a_sync_and_a_reconcile_run_in_process(world: tuple[Path, httpx.ASGITransport]) -> None:
    path, transport = world
    config, base = config_module.load(path)

    result = run_sync(config, base, RunOptions(verify=True), transport=transport)

    assert result.status == "success"
    for name in ("g", "c"):
        outcome = result.target(name)
        assert outcome is not None
        assert (outcome.sent, outcome.acknowledged, outcome.failed) == (40, 40, 0)
        assert outcome.verification is not None
        assert not outcome.verification.drifted
    assert result.evidence is not None
    assert result.evidence.files.report_json.exists()
    keys = [platform_of(t).list_identity(t) for t in config.target]
    with StateStore(base / "state.db") as store:
        assert [run.status for run in store.runs()] == ["success"]
        assert [len(store.snapshot(key)) for key in keys] == [40, 40]

    # The same lifecycle records a reconcile; the platforms hold exactly what they should.
    checked = run_reconcile(config, base, transport=transport)
    assert checked.clean
    assert {name: t.drift.held for name, t in checked.targets.items()} == {"g": 40, "c": 40}


def test_a_refused_credential_ends_the_run_recorded_as_failed(
    world: tuple[Path, httpx.ASGITransport], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, transport = world
    monkeypatch.setenv("IP_CLIENT_SECRET", "not-the-secret")
    config, base = config_module.load(path)

    with pytest.raises(Exception, match="refused the credentials") as raised:
        run_sync(config, base, RunOptions(), transport=transport)

    assert not isinstance(raised.value, RunIncomplete)
    with StateStore(base / "state.db") as store:
        (run,) = store.runs()
    assert run.status == "failed"
    assert run.audit_hash is not None
