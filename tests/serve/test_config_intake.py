"""`[serve]` in the configuration, and intake seen by `sync` as a source like any other."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from dncsync import config as config_module
from dncsync.errors import ConfigError
from dncsync.intake import OptOut, read_optout
from dncsync.policy import DEFAULT_POLICY
from dncsync.state.intake import IntakeStore, intake_path
from e2e.support import Platforms, cxone_target, genesys_target, run_sync

from .support import serve_config


def test_a_serve_configuration_needs_no_source(tmp_path: Path) -> None:
    path = tmp_path / "dncsync.toml"
    path.write_text(
        '[serve]\ntimezone = "America/Chicago"\n\n[[target]]\nname = "g"\nplatform = "genesys"\n'
        'region = "us_east_1"\ndnc_list_id = "x"\n',
        encoding="utf-8",
    )
    parsed, _ = config_module.load(path)
    assert parsed.serve is not None
    assert (parsed.serve.timezone, parsed.serve.flush_seconds, parsed.serve.drain_seconds) == (
        "America/Chicago",
        1.0,
        25.0,
    )
    assert parsed.serve.api_keys_env == "DNCSYNC_API_KEYS"
    assert parsed.source == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[serve]\ntimezone = "Mars/Olympus"\n', "serve.timezone"),
        ("[serve]\nflush_seconds = 0\n", "serve.flush_seconds"),
        ('[[source]]\nname = "intake"\nurl = "a.csv"\n', "'intake' is reserved"),
    ],
)
def test_bad_serve_settings_fail_with_one_line_naming_the_key(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "dncsync.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as raised:
        config_module.load(path)
    assert "\n" not in str(raised.value)


def _take(state: Path, phones: list[str], scope: str = "") -> None:
    store = IntakeStore(intake_path(state), {})
    try:
        for phone in phones:
            found = read_optout(
                {"phone": phone, "scope": scope},
                now=datetime.now(UTC),
                zone=ZoneInfo("America/New_York"),
                region="US",
                policy=DEFAULT_POLICY,
            )
            assert isinstance(found, OptOut)
            assert store.accept([found], "{}", None).result(10).status == 202
    finally:
        store.close()


@pytest.mark.slow
def test_sync_pushes_intake_and_mirror_never_removes_it(
    tmp_path: Path, platforms: Platforms
) -> None:
    config = serve_config(
        tmp_path,
        platforms,
        targets=[
            genesys_target(platforms, mode="mirror"),
            cxone_target(platforms, intake=False),
        ],
    )
    state = tmp_path / "state" / "dncsync.db"
    state.parent.mkdir()
    _take(state, ["+14155550101", "+14155550102"])
    first = run_sync(config)
    assert first.code == 0, first.stderr
    assert platforms.held("genesys") == {"+14155550101", "+14155550102"}
    assert platforms.held("cxone") == set()  # intake = false
    again = run_sync(config)  # mirror, and intake is the only source: nothing is removed
    assert again.code == 0, again.stderr
    assert platforms.held("genesys") == {"+14155550101", "+14155550102"}
    assert again.summary()["targets"]["genesys-e2e"]["removes"] == 0


@pytest.mark.slow
def test_a_target_with_scopes_takes_only_those(tmp_path: Path, platforms: Platforms) -> None:
    config = serve_config(
        tmp_path,
        platforms,
        targets=[genesys_target(platforms, scopes=["brand-a"]), cxone_target(platforms)],
    )
    state = tmp_path / "state" / "dncsync.db"
    state.parent.mkdir()
    _take(state, ["+14155550103"], scope="brand-a")
    _take(state, ["+14155550104"], scope="brand-b")
    finished = run_sync(config)
    assert finished.code == 0, finished.stderr
    assert platforms.held("genesys") == {"+14155550103"}
    assert platforms.held("cxone") == {"+14155550103", "+14155550104"}


@pytest.mark.slow
def test_serve_refuses_to_start_with_one_line_and_exit_3(
    tmp_path: Path, platforms: Platforms
) -> None:
    config = serve_config(tmp_path, platforms)
    base = [sys.executable, "-m", "dncsync", "serve", "--config", str(config)]
    no_keys = subprocess.run(
        [*base, "--port", "0"],
        capture_output=True,
        text=True,
        env={**os.environ, "DNCSYNC_API_KEYS": ""},
        timeout=60,
    )
    assert no_keys.returncode == 3
    assert no_keys.stderr.strip().endswith("every /v1/ request needs one")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = subprocess.run(
            [*base, "--port", str(port)],
            capture_output=True,
            text=True,
            env={**os.environ, "DNCSYNC_API_KEYS": "k"},
            timeout=60,
        )
    assert busy.returncode == 3
    assert f"cannot listen on 127.0.0.1:{port}" in busy.stderr
    assert "Traceback" not in busy.stderr
