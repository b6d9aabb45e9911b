"""Every endpoint of `dncsync serve`, over a real socket, against the emulator's platforms."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from e2e.support import Platforms, poll

from .support import API_KEY, Served, serve_config

pytestmark = pytest.mark.slow


def test_every_endpoint_over_a_real_socket(tmp_path: Path, platforms: Platforms) -> None:
    # Runs of 1 s: the test spans several, each sealed with its own report.
    config = serve_config(tmp_path, platforms, serve={"rate_per_second": 20, "run_seconds": 1})
    served = Served(config)
    try:
        client = served.client
        # Liveness, readiness, the OpenAPI document: no key needed for the first two.
        assert httpx.get(f"{served.url}/healthz").json() == {"status": "ok"}
        ready = httpx.get(f"{served.url}/readyz")
        assert ready.status_code in (200, 503)
        document = client.get("/openapi.json").json()
        assert {"/v1/optouts", "/v1/optouts/{request_id}", "/v1/numbers/lookup"} <= set(
            document["paths"]
        )

        # One opt-out: 202 with the contract's keys, only once committed.
        answer = served.post(
            {"phone": "(415) 555-2671", "source": "ivr", "received_at": "2026-11-20T15:00:00Z"}
        )
        assert answer.status_code == 202, answer.text
        body = answer.json()
        assert set(body) == {"id", "phone", "received_at", "deadline", "status"}
        assert (body["phone"], body["deadline"], body["status"]) == (
            "+14155552671",
            "2026-12-07",
            "pending",
        )
        held = served.held_everywhere(body["id"])
        assert set(held["targets"]) == {"genesys-e2e", "cxone-e2e"}
        assert all(t["held_at"] for t in held["targets"].values())
        assert platforms.held("genesys") == platforms.held("cxone") == {"+14155552671"}

        # Retention applies as to any entry: a request whose 5 years ended before it arrived
        # is not sent, and settles as skipped rather than pending for ever.
        old = served.post({"phone": "+13125550190", "received_at": "2015-01-02T15:00:00Z"})
        assert old.status_code == 202
        poll(
            lambda: served.request(old.json()["id"])["status"] == "skipped",
            deadline_seconds=20,
            what="an expired request skipped",
            interval=0.05,
        )

        # The check before a call: any form, normalized.
        looked = client.post("/v1/numbers/lookup", json={"phone": "415-555-2671"}).json()
        assert looked["blocked"] is True
        assert {t["status"] for t in looked["targets"].values()} == {"held"}
        assert [r["id"] for r in looked["requests"]] == [body["id"]]
        unknown = client.post("/v1/numbers/lookup", json={"phone": "+1 212 555 0199"}).json()
        assert unknown["blocked"] is False
        bad_lookup = client.post("/v1/numbers/lookup", json={"phone": "12"})
        assert (bad_lookup.status_code, bad_lookup.json()["error"]) == (422, "invalid_phone")

        # An unusable phone: 422 with validate's reason; a batch takes what it can.
        refused = served.post({"phone": "12"})
        assert refused.status_code == 422
        assert refused.json() == {"error": "invalid_phone", "reason": "too_short"}
        batch = served.post({"optouts": [{"phone": "+12125550143"}, {"phone": "x"}]})
        assert batch.status_code == 202
        assert [a["phone"] for a in batch.json()["accepted"]] == ["+12125550143"]
        assert batch.json()["rejected"] == [{"index": 1, "reason": "not_a_number"}]
        none = served.post({"optouts": [{"phone": "x"}]})
        assert none.status_code == 422
        assert served.post({"optouts": [{"phone": "+12125550143"}] * 1001}).status_code == 422

        # Idempotency-Key: the same body answers as the first time; another body, 409.
        first = served.post({"phone": "+13125550177"}, **{"Idempotency-Key": "k-1"})
        again = served.post({"phone": "+13125550177"}, **{"Idempotency-Key": "k-1"})
        assert (first.status_code, again.status_code) == (202, 202)
        assert again.json() == first.json()
        other = served.post({"phone": "+13125550178"}, **{"Idempotency-Key": "k-1"})
        assert (other.status_code, other.json()["error"]) == (409, "idempotency_conflict")

        # Withdrawal: audited, the request no longer pushed; unknown ids are 404.
        gone = client.request(
            "DELETE", f"/v1/optouts/{first.json()['id']}", json={"reason": "consent given"}
        )
        assert gone.status_code == 200, gone.text
        assert gone.json()["status"] == "withdrawn"
        assert gone.json()["withdrawal_reason"] == "consent given"
        assert client.request("DELETE", "/v1/optouts/nope", json={"reason": "r"}).status_code == 404
        assert client.request("DELETE", f"/v1/optouts/{body['id']}", json={}).status_code == 422
        assert client.get("/v1/optouts/nope").status_code == 404

        # Keys: missing or wrong is 401; not JSON is 400; a body past the limit is 413.
        assert httpx.post(f"{served.url}/v1/optouts", json={"phone": "1"}).status_code == 401
        wrong = httpx.get(
            f"{served.url}/v1/optouts/{body['id']}", headers={"Authorization": "Bearer nope"}
        )
        assert wrong.status_code == 401
        garbled = client.post(
            "/v1/optouts", content=b"{not json", headers={"Content-Type": "application/json"}
        )
        assert garbled.status_code == 400
        huge = client.post("/v1/optouts", content=b"[" + b" " * (2 << 20) + b"]")
        assert (huge.status_code, huge.json()["error"]) == (413, "body_too_large")

        # The per-key rate limit: another key's burst is refused with 429 and Retry-After,
        # while this key goes on.
        other_key = {"Authorization": "Bearer other-key"}
        codes = asyncio.run(_burst(f"{served.url}/v1/optouts/x", other_key, 100))
        assert 429 in codes
        assert served.client.get("/v1/optouts/nope").status_code == 404

        # Metrics: counts and ages, never a number, never a key.
        metrics = httpx.get(f"{served.url}/metrics").text
        for name in (
            "dncsync_intake_requests_total",
            "dncsync_intake_pending",
            "dncsync_intake_oldest_pending_age_seconds",
            "dncsync_intake_to_held_seconds_bucket",
            "dncsync_push_batches_total",
            "dncsync_intake_past_deadline",
            "dncsync_api_rate_limited_total",
        ):
            assert name in metrics
        assert "4155552671" not in metrics
        poll(
            lambda: len(list((tmp_path / "state").glob("dncsync.db.runs/*/report.json"))) >= 1,
            deadline_seconds=20,
            what="a run sealed while serving",
            interval=0.05,
        )
    finally:
        code = served.stop()
    assert code == 0, served.stderr()
    log = served.stderr()
    assert "4155552671" not in log
    assert "2125550143" not in log
    assert API_KEY not in log
    assert "other-key" not in log
    assert "+1415555****" in log
    run_records = list((tmp_path / "state").glob("dncsync.db.runs/*/report.json"))
    assert len(run_records) >= 2, "one sealed run per run_seconds"
    for record in run_records:
        report = json.loads(record.read_text(encoding="utf-8"))
        assert report["command"] == "serve"
        assert report["status"] == "success"
        assert report["audit"]
    # Receipts and withdrawals are evidence: the runs' audit logs have them, masked.
    audit = "".join(
        p.read_text(encoding="utf-8") for r in run_records for p in r.parent.glob("audit*")
    )
    # One line per group commit names every request it took, with its deadline.
    assert '"dnc.optouts_received"' in audit
    assert f'"request":"{body["id"]}"' in audit.replace(" ", "")
    assert '"dnc.optout_withdrawn"' in audit
    assert "4155552671" not in audit


async def _burst(url: str, headers: dict[str, str], count: int) -> list[int]:
    async with httpx.AsyncClient(headers=headers, timeout=30) as client:
        answers = await asyncio.gather(*(client.get(url) for _ in range(count)))
    return [a.status_code for a in answers]
