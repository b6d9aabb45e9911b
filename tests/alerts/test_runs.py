"""Alerts from `sync` and `reconcile` runs: real subprocesses against the emulator, alerts to a
webhook receiver and to an SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from e2e.support import (
    Platforms,
    Sync,
    cxone_target,
    genesys_target,
    nanp_numbers,
    run_sync,
    toml_value,
)

from .conftest import Mailbox, Receiver

pytestmark = pytest.mark.slow
URL_ENV = "DNCSYNC_TEST_ALERT_URL"


def _config(folder: Path, platforms: Platforms, mailbox: Mailbox) -> tuple[Path, list[str]]:
    """Sources that call for alerts (30 % rejected; a registry dated 60 days ago), a Genesys
    target that works and a CXone target whose credentials are missing (it fails each run)."""
    good = nanp_numbers(10, seed=4)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "optouts.csv").write_text(
        "phone\n" + "\n".join([*good[:7], "12", "not a number", "555"]) + "\n", encoding="utf-8"
    )
    (folder / "national.csv").write_text("phone\n" + "\n".join(good[7:]) + "\n", encoding="utf-8")
    dated = (datetime.now(UTC) - timedelta(days=60)).date().isoformat()
    lines = [
        "[state]",
        'path = "state/dncsync.db"',
        "",
        "[[source]]",
        'name = "optouts"',
        'url = "optouts.csv"',
        "",
        "[[source]]",
        'name = "national"',
        'url = "national.csv"',
        'kind = "registry"',
        f"registry_date = {dated}",
        "",
        "[[alert]]",
        'name = "ops-webhook"',
        f"url_env = {toml_value(URL_ENV)}",
        "failures_in_a_row = 2",
        "rejected_percent = 10",
        "",
        "[[alert]]",
        'name = "ops-mail"',
        'smtp_host = "127.0.0.1"',
        f"smtp_port = {mailbox.port}",
        'from = "dncsync@example.com"',
        'to = ["ops@example.com", "compliance@example.com"]',
        'on = ["run_failed", "drift"]',
    ]
    targets = [
        genesys_target(platforms),
        cxone_target(platforms, access_key_id_env="E2E_NOT_SET_ANYWHERE"),
    ]
    for target in targets:
        lines += ["", "[[target]]"]
        lines += [f"{key} = {toml_value(value)}" for key, value in target.items()]
    path = folder / "dncsync.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, good


def test_each_run_condition_alerts_once_per_hour_by_webhook_and_email(
    tmp_path: Path,
    platforms: Platforms,
    webhook: Receiver,
    mailbox: Mailbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(URL_ENV, webhook.url)
    monkeypatch.delenv("E2E_NOT_SET_ANYWHERE", raising=False)
    config, good = _config(tmp_path, platforms, mailbox)

    # First sync: Genesys gets the numbers, CXone fails. The run failed, one source is 30 %
    # rejects (above 10 %), the registry is 60 days old; CXone has failed once (not yet 2).
    first = run_sync(config, log_level="info")
    assert first.code != 0
    assert set(good) <= platforms.held("genesys")
    assert sorted(webhook.received()) == [
        ("registry_stale", "national"),
        ("rejects", "optouts"),
        ("run_failed", "sync"),
    ]
    assert len(mailbox.messages) == 1  # the e-mail channel takes run_failed and drift only
    assert "[run_failed]" in mailbox.subjects()[0]
    assert mailbox.messages[0]["To"] == "ops@example.com, compliance@example.com"

    # Second sync, the same conditions: nothing is sent again within the hour, except what is
    # new: CXone has now failed twice in a row.
    second = run_sync(config, log_level="info")
    assert second.code == first.code
    assert sorted(webhook.received()[3:]) == [("target_failing", "cxone-e2e")]
    assert len(mailbox.messages) == 1
    assert '"dnc.alert_throttled"' in second.stderr

    # A number taken off the Genesys list behind dncsync's back: reconcile finds drift.
    platforms.running.state.genesys_edit(platforms.list_id, remove=[good[0]])
    argv = [sys.executable, "-m", "dncsync", "--log-level", "info", "--log-format", "json"]
    argv += ["reconcile", "--config", str(config), "--format", "json"]
    reconciled = Sync(argv, tmp_path / "output").wait()
    assert reconciled.code != 0
    assert ("drift", "genesys-e2e") in webhook.received()
    assert ("run_failed", "reconcile") in webhook.received()
    assert webhook.received().count(("target_failing", "cxone-e2e")) == 1  # throttled
    assert sorted(s.split("]")[0] for s in mailbox.subjects()) == [
        "dncsync alert [drift",
        "dncsync alert [run_failed",
        "dncsync alert [run_failed",
    ]

    # The payload is Slack's: text and blocks; no secret and no full number anywhere.
    assert all(set(body) >= {"text", "blocks"} for body in webhook.bodies)
    output = first.stderr + second.stderr + reconciled.stderr + reconciled.stdout
    everything = output + "".join(str(b) for b in webhook.bodies)
    everything += "".join(m.as_string() for m in mailbox.messages)
    assert webhook.url not in output
    for phone in good:
        assert phone[2:] not in everything


def test_a_secret_missing_from_the_environment_is_one_line_and_exit_3(
    tmp_path: Path, platforms: Platforms, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(URL_ENV, raising=False)
    config, _ = _config(tmp_path, platforms, mailbox)
    finished = run_sync(config)
    assert finished.code == 3
    assert f"alert[0].url_env: the environment variable {URL_ENV} is not set" in finished.stderr
    assert "Traceback" not in finished.stderr
    assert not platforms.held("genesys")  # nothing ran
    assert URL_ENV not in os.environ
