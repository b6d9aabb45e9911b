"""Opt-outs texted in: the SMS provider's signed webhook, over a real socket, against the
emulator's platforms; and the keyword rules, called directly."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from pathlib import Path

import httpx
import pytest

from dncsync.sms import DEFAULT_KEYWORDS, TextKind, classify, keyword_set, signature
from e2e.support import Platforms, nanp_numbers, poll

from .support import Served, serve_config

TOKEN = "sms-provider-auth-token-for-tests"
PATH = "/v1/webhooks/twilio"
OUR_NUMBER = "+18005550100"

# Every keyword the issue names, each in a form a person types it.
KEYWORD_BODIES = (
    "STOP",
    "stop.",
    " Quit ",
    "END!",
    "revoke",
    "Opt Out",
    "opt-out",
    "CANCEL",
    "unsubscribe!!",
    "StopAll",
    "OPTOUT",
)


def _signed(url: str, params: Mapping[str, str], token: str = TOKEN) -> str:
    # The provider's algorithm written out here on its own, so the test does not trust the
    # code it tests: the URL, then each parameter's name and value, sorted by name.
    data = url + "".join(k + params[k] for k in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def _text(
    served: Served, phone: str, body: str, sid: str, *, signed_url: str | None = None
) -> httpx.Response:
    params = {"From": phone, "To": OUR_NUMBER, "Body": body, "MessageSid": sid}
    url = signed_url or f"{served.url}{PATH}"
    return httpx.post(
        f"{served.url}{PATH}", data=params, headers={"X-Twilio-Signature": _signed(url, params)}
    )


def _sms_config(folder: Path, platforms: Platforms, **serve: object) -> Path:
    config = serve_config(folder, platforms, serve=serve)
    with config.open("a", encoding="utf-8") as out:
        out.write('\n[serve.sms]\nreply = "You will get no more calls from us."\n')
    return config


@pytest.mark.parametrize("body", KEYWORD_BODIES)
def test_a_keyword_alone_in_any_case_or_punctuation_is_an_opt_out(body: str) -> None:
    assert classify(body, keyword_set(DEFAULT_KEYWORDS)) is TextKind.OPT_OUT


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        ("please stop calling me", TextKind.REVIEW),
        ("I want to cancel my order", TextKind.REVIEW),
        ("START", TextKind.RESUME),
        ("unstop.", TextKind.RESUME),
        ("What time do you open?", TextKind.OTHER),
        ("stopped by yesterday", TextKind.OTHER),  # a keyword inside a word is not one
        ("", TextKind.OTHER),
    ],
)
def test_other_texts_are_reviewed_recorded_or_left(body: str, kind: TextKind) -> None:
    assert classify(body, keyword_set(DEFAULT_KEYWORDS)) is kind


def test_the_signature_is_the_providers_documented_example() -> None:
    # The provider's security documentation signs this request with this token so.
    params = [
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", "+12349013030"),
        ("Digits", "1234"),
        ("From", "+12349013030"),
        ("To", "+18005551212"),
    ]
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert signature("12345", url, params) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


@pytest.mark.slow
def test_texted_keywords_become_opt_outs_held_on_both_platforms(
    tmp_path: Path, platforms: Platforms
) -> None:
    served = Served(_sms_config(tmp_path, platforms), env={"TWILIO_AUTH_TOKEN": TOKEN})
    numbers = nanp_numbers(len(KEYWORD_BODIES) + 4, seed=16)
    keyword_numbers = numbers[: len(KEYWORD_BODIES)]
    chatty, reviewer, resumer, forger = numbers[len(KEYWORD_BODIES) :]
    try:
        client = served.client

        def requests_for(phone: str) -> list[dict[str, object]]:
            found = client.post("/v1/numbers/lookup", json={"phone": phone}).json()
            return list(found["requests"])

        # A missing or wrong signature: 403, and nothing is taken.
        params = {"From": forger, "To": OUR_NUMBER, "Body": "STOP", "MessageSid": "SMforged"}
        missing = httpx.post(f"{served.url}{PATH}", data=params)
        assert missing.status_code == 403
        wrong = httpx.post(
            f"{served.url}{PATH}",
            data=params,
            headers={"X-Twilio-Signature": _signed(f"{served.url}{PATH}", params, "not-it")},
        )
        assert wrong.status_code == 403
        tampered = dict(params, From=chatty)  # signed for one number, sent for another
        forged = httpx.post(
            f"{served.url}{PATH}",
            data=tampered,
            headers={"X-Twilio-Signature": _signed(f"{served.url}{PATH}", params)},
        )
        assert forged.status_code == 403
        assert requests_for(forger) == requests_for(chatty) == []

        # Each keyword, in its typed form: 200 with the configured reply, an opt-out of the
        # sender (CUSTOMER_REQUESTED, source sms), committed before the answer.
        for index, (phone, body) in enumerate(zip(keyword_numbers, KEYWORD_BODIES, strict=True)):
            answer = _text(served, phone, body, f"SMkeyword{index}")
            assert answer.status_code == 200, (body, answer.text)
            assert answer.headers["content-type"].startswith("text/xml")
            assert "<Message>You will get no more calls from us.</Message>" in answer.text
            (request,) = requests_for(phone)
            assert (request["reason"], request["source"]) == ("CUSTOMER_REQUESTED", "sms"), body

        # The provider retries a webhook it got no answer for: one request, not two.
        again = _text(served, keyword_numbers[0], KEYWORD_BODIES[0], "SMkeyword0")
        assert again.status_code == 200
        assert len(requests_for(keyword_numbers[0])) == 1

        # Every one ends held on both platforms, as the platforms themselves say.
        poll(
            lambda: (
                set(keyword_numbers) <= platforms.held("genesys")
                and set(keyword_numbers) <= platforms.held("cxone")
            ),
            deadline_seconds=30,
            what="every texted opt-out held on both platforms",
            interval=0.05,
        )
        for phone in keyword_numbers:
            served.held_everywhere(str(requests_for(phone)[0]["id"]))

        # Anything else: 200, empty TwiML, no opt-out, nothing kept.
        other = _text(served, chatty, "What time do you open?", "SMchat")
        assert other.status_code == 200
        assert "<Message>" not in other.text
        assert requests_for(chatty) == []

        # A longer text with a keyword: not acted on, kept for a person, listed.
        review = _text(served, reviewer, "please stop calling me", "SMreview")
        assert review.status_code == 200
        assert "<Message>" not in review.text
        assert requests_for(reviewer) == []
        listed = client.get("/v1/sms/texts").json()["texts"]
        assert [(t["sid"], t["phone"], t["body"]) for t in listed] == [
            ("SMreview", reviewer, "please stop calling me")
        ]
        assert httpx.get(f"{served.url}/v1/sms/texts").status_code == 401  # a key is needed

        # START / UNSTOP after a STOP: recorded, and the number stays blocked everywhere
        # (texting consent is not consent to be called).
        assert _text(served, resumer, "STOP", "SMresumer-stop").status_code == 200
        (stopped,) = requests_for(resumer)
        served.held_everywhere(str(stopped["id"]))
        assert _text(served, resumer, "START", "SMresumer-start").status_code == 200
        assert _text(served, resumer, "unstop", "SMresumer-unstop").status_code == 200
        resumed = client.get("/v1/sms/texts", params={"kind": "resume"}).json()["texts"]
        assert sorted(t["sid"] for t in resumed) == ["SMresumer-start", "SMresumer-unstop"]
        looked = client.post("/v1/numbers/lookup", json={"phone": resumer}).json()
        assert looked["blocked"] is True
        assert [r["status"] for r in looked["requests"]] == ["held"]
        assert resumer in platforms.held("genesys")
        assert resumer in platforms.held("cxone")
    finally:
        code = served.stop()
    assert code == 0, served.stderr()
    log = served.stderr()
    assert TOKEN not in log
    for phone in numbers:
        assert phone[2:] not in log
    assert '"dnc.sms_review"' in log
    assert '"dnc.sms_resume"' in log
    # The run's report lists the text kept for review, its number masked.
    (record,) = (tmp_path / "state").glob("dncsync.db.runs/*/report.json")
    intake = json.loads(record.read_text(encoding="utf-8"))["intake"]
    assert intake["sms_texts"] == {"opt_out": len(KEYWORD_BODIES) + 1, "review": 1, "resume": 2}
    masked = reviewer[:-4] + "****"
    assert intake["sms_for_review"] == [
        {"sid": "SMreview", "phone": masked, "received_at": listed[0]["received_at"]}
    ]


@pytest.mark.slow
def test_behind_a_proxy_the_public_url_is_what_is_signed(
    tmp_path: Path, platforms: Platforms
) -> None:
    public = "https://dnc.example.com/intake"
    served = Served(
        _sms_config(tmp_path, platforms, public_url=public), env={"TWILIO_AUTH_TOKEN": TOKEN}
    )
    try:
        phone, other = nanp_numbers(2, seed=61)
        # Signed for the URL the provider was given (the proxy's): taken.
        taken = _text(served, phone, "STOP", "SMproxied", signed_url=f"{public}{PATH}")
        assert taken.status_code == 200, taken.text
        # Signed for the address serve itself listens on: not what the provider would sign.
        local = _text(served, other, "STOP", "SMlocal")
        assert local.status_code == 403
        found = served.client.post("/v1/numbers/lookup", json={"phone": phone}).json()
        assert [r["source"] for r in found["requests"]] == ["sms"]
    finally:
        assert served.stop() == 0, served.stderr()


@pytest.mark.slow
def test_no_auth_token_in_the_environment_is_one_line_and_exit_3(
    tmp_path: Path, platforms: Platforms
) -> None:
    import os
    import subprocess
    import sys

    config = _sms_config(tmp_path, platforms)
    env = {k: v for k, v in os.environ.items() if k != "TWILIO_AUTH_TOKEN"}
    env["DNCSYNC_API_KEYS"] = "a-key-for-this-test"
    done = subprocess.run(
        [sys.executable, "-m", "dncsync", "serve", "--config", str(config), "--port", "0"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 3
    assert "serve.sms.auth_token_env" in done.stderr
    assert "TWILIO_AUTH_TOKEN" in done.stderr
    assert "Traceback" not in done.stderr
