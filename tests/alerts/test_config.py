"""`[[alert]]` and `[serve.sms]` in the configuration: a bad key is one line naming it."""

from __future__ import annotations

from typing import Any

import pytest

from dncsync.config import parse
from dncsync.errors import ConfigError, ExitCode


def _with(**tables: Any) -> dict[str, Any]:
    return {"state": {"path": "x.db"}, **tables}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (_with(alert=[{}]), "alert[0]: give either url_env (a webhook) or smtp_host"),
        (
            _with(alert=[{"url_env": "A", "smtp_host": "mail"}]),
            "alert[0]: give either url_env (a webhook) or smtp_host",
        ),
        (_with(alert=[{"smtp_host": "mail"}]), "e-mail needs from (the sender) and to"),
        (_with(alert=[{"url": "https://hooks.example/x"}]), "alert[0].url: secrets are read"),
        (
            _with(alert=[{"smtp_host": "m", "from": "a@b", "to": ["c@d"], "password": "p"}]),
            "alert[0].password: secrets are read",
        ),
        (_with(alert=[{"url_env": "A", "on": ["sometimes"]}]), "alert[0].on[0]"),
        (_with(alert=[{"url_env": "A", "failures_in_a_row": 0}]), "alert[0].failures_in_a_row"),
        (_with(serve={"public_url": "dnc.example.com"}), "serve.public_url: 'dnc.example.com'"),
        (_with(serve={"sms": {"keywords": ["!!"]}}), "serve.sms.keywords: lists no keyword"),
        (_with(serve={"sms": {"token": "x"}}), "serve.sms.token: unknown key"),
    ],
)
def test_a_bad_alert_or_sms_key_is_one_line_naming_it(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse(raw)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)
    assert raised.value.exit_code == ExitCode.CONFIG_OR_AUTH


def test_a_good_alert_reads_from_as_the_sender() -> None:
    config = parse(_with(alert=[{"smtp_host": "m", "from": "a@b.example", "to": ["c@d"]}]))
    assert config.alert[0].sender == "a@b.example"
