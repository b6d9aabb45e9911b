"""Alerts from `dncsync serve`'s periodic checks: a real serve subprocess against the emulator,
alerts to a webhook receiver on loopback; the throttle survives a restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from e2e.support import Platforms, cxone_target, genesys_target, nanp_numbers, toml_value
from serve.support import Served, serve_config, wait_until

from .conftest import Receiver

pytestmark = pytest.mark.slow
URL_ENV = "DNCSYNC_TEST_ALERT_URL"


def test_serve_alerts_on_overdue_opt_outs_and_failing_targets_once_across_restarts(
    tmp_path: Path, platforms: Platforms, webhook: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("E2E_NOT_SET_ANYWHERE", raising=False)
    config = serve_config(
        tmp_path,
        platforms,
        serve={"alert_check_seconds": 0.2, "drain_seconds": 0.5},
        targets=[
            genesys_target(platforms),
            cxone_target(platforms, access_key_id_env="E2E_NOT_SET_ANYWHERE"),
        ],
    )
    with config.open("a", encoding="utf-8") as out:
        out.write(f"\n[[alert]]\nurl_env = {toml_value(URL_ENV)}\nfailures_in_a_row = 1\n")
    env = {URL_ENV: webhook.url}
    webhook.status = 500  # the receiver is down at first: nothing counts as sent
    served = Served(config, env=env)
    try:
        # An opt-out received 8 days ago: held on Genesys, pending on CXone (which cannot be
        # opened), more than half the way to its 10-business-day deadline.
        (phone,) = nanp_numbers(1, seed=44)
        received = (datetime.now(UTC) - timedelta(days=8)).isoformat()
        answer = served.post({"phone": phone, "received_at": received})
        assert answer.status_code == 202, answer.text
        request_id = answer.json()["id"]
        wait_until(lambda: '"dnc.alert_failed"' in served.stderr(), what="a failed delivery")
        webhook.status = 200  # back up: the next check sends what could not be sent
        expected = {("optout_overdue", "intake"), ("target_failing", "cxone-e2e")}
        wait_until(lambda: expected <= set(webhook.received()), what="both alerts")
        # Later checks find the same conditions: throttled, not sent again.
        wait_until(
            lambda: served.stderr().count('"dnc.alert_throttled"') >= 4, what="throttled checks"
        )
        assert webhook.received().count(("optout_overdue", "intake")) == 1
        assert webhook.received().count(("target_failing", "cxone-e2e")) == 1
        assert served.request(request_id)["targets"]["cxone-e2e"]["status"] != "held"
    finally:
        served.stop()
    # Its run ended with CXone failed: the run's end alerts as a sync's does.
    assert webhook.received().count(("run_failed", "serve")) == 1
    sent_before = len(webhook.received())

    # A restart within the hour: the ledger remembers, nothing is sent again.
    again = Served(config, env=env)
    try:
        wait_until(
            lambda: again.stderr().count('"dnc.alert_throttled"') >= 2,
            what="throttled after the restart",
        )
        assert webhook.received().count(("optout_overdue", "intake")) == 1
        assert webhook.received().count(("target_failing", "cxone-e2e")) == 1
    finally:
        again.stop()
    assert len(webhook.received()) == sent_before  # its own run's end too: within the hour
    log = served.stderr() + again.stderr()
    assert webhook.url not in log
    assert phone[2:] not in log
    assert phone[2:] not in "".join(str(b) for b in webhook.bodies)
