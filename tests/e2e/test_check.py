"""`dncsync check`: a read-only preflight against the emulator over a real loopback socket.

Under each production variant (and all at once) both targets are ready, nothing is written,
and the variant fingerprint shows what a read-only look can show. A tenant that is not ready
(refused credentials, a missing or inactive list, a clock far off) exits 3 and says why.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from dncsync import config as config_module
from dncsync.emulator import ManualClock
from dncsync.emulator.variants import ALL, VARIANTS
from dncsync.run.check import run_check

from .support import (
    CLIENT_ID,
    CLIENT_SECRET,
    WRITE_METHODS,
    Platforms,
    cxone_target,
    genesys_target,
    run_sync,
    write_config,
    write_source,
)

PLANTED = ["+14155552671", "+12125550123", "+13125550199"]

# What a read-only look shows of each variant: (target, trait, words in its value).
SHOWN: dict[str, tuple[str, str, str]] = {
    "cxone_string_types": ("cxone-e2e", "count_type", "string"),
    "cxone_page_cap": ("cxone-e2e", "page_size", "top=1000 refused"),
    "cxone_integer_phone": ("cxone-e2e", "records_phone_number", "number"),
    "genesys_lagging_size": ("genesys-e2e", "size", "differs from the export"),
    "genesys_export_reordered": ("genesys-e2e", "export_columns", "by header"),
    "genesys_export_renamed": ("genesys-e2e", "export_columns", "number in column 0"),
}


def _check(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "dncsync", "check", "--config", str(config), *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


def _another_client_adds(platforms: Platforms, phone: str) -> None:
    """A write through Genesys' own API by someone else, so a lagging size has a lag."""
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    with httpx.Client(base_url=platforms.base_url) as client:
        token = client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": f"Basic {basic}"},
        ).json()["access_token"]
        answer = client.patch(
            f"/api/v2/outbound/dnclists/{platforms.list_id}/phonenumbers",
            json={"action": "Add", "phoneNumbers": [phone]},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert answer.status_code == 204


@pytest.mark.parametrize("case", [*sorted(VARIANTS), "all"])
def test_check_is_ready_and_read_only_under_each_variant(
    case: str, start_emulator: Callable[..., Platforms], tmp_path: Path
) -> None:
    variants = ALL if case == "all" else frozenset({case})
    platforms = start_emulator(variants=variants)
    platforms.plant(PLANTED)
    _another_client_adds(platforms, "+16175550142")
    platforms.running.state.genesys_create_campaign("Spring outreach", [platforms.list_id])
    config_path = write_config(tmp_path, [genesys_target(platforms), cxone_target(platforms)])
    config, _ = config_module.load(config_path)
    mark = platforms.mark()

    results = {result.name: result for result in run_check(config)}

    assert all(result.ready for result in results.values()), results
    for result in results.values():
        names = [check.name for check in result.checks]
        assert names == ["credentials", "list", "capacity", "clock", "read", "usage"]
    genesys = {c.name: c.detail for c in results["genesys-e2e"].checks}
    assert genesys["read"] == "one export read: 4 numbers (4 held)"
    assert genesys["usage"] == "used by 1 campaign(s): Spring outreach"
    assert "999,99" in genesys["capacity"]
    cxone = {c.name: c.detail for c in results["cxone-e2e"].checks}
    assert cxone["read"].startswith("first page of records read: 3 records")
    assert "scrubbed skills: none" in cxone["usage"]
    # Read-only: no write of any kind reached either platform.
    assert [
        r
        for r in platforms.requests(mark)
        if r.method in WRITE_METHODS and not (r.path.endswith(("/token", "/export")))
    ] == []
    for variant in variants:
        if variant in SHOWN and not (
            variant == "genesys_export_renamed" and "genesys_export_reordered" in variants
        ):
            name, trait, words = SHOWN[variant]
            assert words in results[name].variant.get(trait, ""), (variant, results[name].variant)


def test_check_json_and_exit_codes(
    start_emulator: Callable[..., Platforms], tmp_path: Path
) -> None:
    platforms = start_emulator()
    platforms.plant(PLANTED)
    ready = write_config(tmp_path / "ready", [genesys_target(platforms), cxone_target(platforms)])

    finished = _check(ready, "--format", "json")

    assert finished.returncode == 0, finished.stderr
    shown = json.loads(finished.stdout)
    assert set(shown["targets"]) == {"genesys-e2e", "cxone-e2e"}
    for target in shown["targets"].values():
        assert set(target) == {"ready", "checks", "variant"}
        assert target["ready"] is True
        assert all(set(check) == {"name", "ok", "detail"} for check in target["checks"])
    text = _check(ready, "--target", "cxone-e2e")
    assert text.returncode == 0
    assert "cxone-e2e (cxone): write not verified" in text.stdout
    assert "genesys-e2e" not in text.stdout
    assert "ready" not in text.stdout.replace("read-only", "")

    inactive = platforms.running.state.cxone_create_group("switched off")
    with platforms.running.state.lock:
        platforms.running.state.cxone.groups[inactive].is_active = False
    broken = write_config(
        tmp_path / "broken",
        [
            genesys_target(platforms, dnc_list_id="no-such-list"),
            cxone_target(platforms, dnc_group_id=inactive),
            cxone_target(platforms, name="cxone-bad-key", access_key_secret_env="E2E_CLIENT_ID"),
        ],
    )

    refused = _check(broken, "--format", "json")

    assert refused.returncode == 3, refused.stderr
    targets = json.loads(refused.stdout)["targets"]
    assert {name: t["ready"] for name, t in targets.items()} == {
        "genesys-e2e": False,
        "cxone-e2e": False,
        "cxone-bad-key": False,
    }
    failed = {
        name: {c["name"]: c["detail"] for c in t["checks"] if not c["ok"]}
        for name, t in targets.items()
    }
    assert "no DNC list no-such-list" in failed["genesys-e2e"]["list"]
    assert failed["cxone-e2e"] == {"list": f"DNC group {inactive} is not active"}
    assert "refused the credentials" in failed["cxone-bad-key"]["credentials"]
    assert refused.stderr.strip() == (
        "dncsync: error: not ready: genesys-e2e, cxone-e2e, cxone-bad-key (see their failed checks)"
    )
    assert "Traceback" not in refused.stderr


def test_check_reports_a_clock_far_off(
    start_emulator: Callable[..., Platforms], tmp_path: Path
) -> None:
    # The platform lives on 2026-01-01, and its time stands still (so CXone: a Genesys export
    # would never be ready).
    platforms = start_emulator(clock=ManualClock())
    config = write_config(tmp_path, [cxone_target(platforms)])

    finished = _check(config)

    assert finished.returncode == 3
    assert "FAIL  clock" in finished.stdout
    assert "set this machine's clock right" in finished.stdout


def test_a_sync_to_an_inactive_group_says_it_blocks_nothing(
    start_emulator: Callable[..., Platforms], tmp_path: Path
) -> None:
    platforms = start_emulator()
    with platforms.running.state.lock:
        platforms.running.state.cxone.groups[platforms.group_id].is_active = False
    write_source(tmp_path / "source.csv", PLANTED)
    config = write_config(tmp_path, [cxone_target(platforms)])

    finished = run_sync(config)

    assert finished.code == 0, finished.stderr  # synced: it may be switched on again
    why = f"DNC group {platforms.group_id} is not active"
    assert finished.summary()["targets"]["cxone-e2e"]["blocks_nothing"] == why
    report = json.loads(Path(finished.summary()["evidence"]["report_json"]).read_text())
    (warning,) = [w for w in report["warnings"] if w["code"] == "list_blocks_nothing"]
    assert warning["message"].startswith(why)


def test_check_names_the_alert_and_serve_secrets_missing_from_the_environment(
    start_emulator: Callable[..., Platforms], tmp_path: Path
) -> None:
    platforms = start_emulator()
    extra = "\n".join(
        [
            "[serve]",
            'api_keys_env = "CHECK_API_KEYS"',
            "",
            "[serve.sms]",
            'auth_token_env = "CHECK_SMS_TOKEN"',
            "",
            "[[alert]]",
            'url_env = "CHECK_HOOK_URL"',
            "",
        ]
    )
    config = write_config(
        tmp_path, [genesys_target(platforms), cxone_target(platforms)], extra=extra
    )
    for name in ("CHECK_API_KEYS", "CHECK_SMS_TOKEN", "CHECK_HOOK_URL"):
        assert name not in os.environ

    missing = _check(config, "--format", "json")

    assert missing.returncode == 3, missing.stderr
    shown = json.loads(missing.stdout)
    assert all(t["ready"] for t in shown["targets"].values())  # the platforms are fine
    settings = shown["settings"]
    assert set(settings) == {"alerts", "serve.api_keys", "serve.sms"}
    assert "CHECK_HOOK_URL" in settings["alerts"]
    assert "CHECK_API_KEYS" in settings["serve.api_keys"]
    assert "CHECK_SMS_TOKEN" in settings["serve.sms"]
    assert "alerts, serve.api_keys, serve.sms" in missing.stderr

    secrets = {
        "CHECK_API_KEYS": "key-one",
        "CHECK_SMS_TOKEN": "sms-token-value",
        "CHECK_HOOK_URL": "https://hooks.example.test/T000/B000/secret-part",
    }
    argv = [sys.executable, "-m", "dncsync", "check", "--config", str(config)]
    ready = subprocess.run(
        argv, capture_output=True, text=True, timeout=60, check=False, env={**os.environ, **secrets}
    )

    assert ready.returncode == 0, ready.stderr
    assert "alerts: ok" in ready.stdout
    assert "serve.sms: ok" in ready.stdout
    for value in secrets.values():  # a secret is checked, never shown
        assert value not in ready.stdout + ready.stderr
