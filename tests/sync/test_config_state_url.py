"""`[state] url`: a PostgreSQL state, its password only from the environment, TLS off this
machine, an evidence folder of its own."""

from __future__ import annotations

import tomllib

import pytest

from dncsync import config
from dncsync.errors import ConfigError

BASE = """
[[target]]
name = "genesys-main"
platform = "genesys"
dnc_list_id = "list-1"
"""


def _parse(state: str) -> config.Config:
    return config.parse(tomllib.loads(f"[state]\n{state}\n{BASE}"), "dncsync.toml")


def test_a_url_with_a_runs_folder_is_a_postgresql_state() -> None:
    parsed = _parse('url = "postgresql://dnc@127.0.0.1:5432/dnc"\nruns_dir = "/var/dnc/runs"')
    assert parsed.state.url == "postgresql://dnc@127.0.0.1:5432/dnc"
    assert parsed.state.password_env == "DNCSYNC_DATABASE_PASSWORD"
    remote = 'url = "postgresql://dnc@db.internal/dnc?sslmode=verify-full"\nruns_dir = "r"'
    assert _parse(remote).state.url is not None


@pytest.mark.parametrize(
    ("state", "message"),
    [
        ('url = "postgresql://dnc@localhost/dnc"', "`runs_dir` is required with `url`"),
        (
            'url = "postgresql://dnc:hunter2@localhost/dnc"\nruns_dir = "r"',
            "must not hold a password",
        ),
        (
            'url = "postgresql://dnc@db.internal/dnc?sslmode=require"\nruns_dir = "r"',
            "needs ?sslmode=verify-full",
        ),
        ('url = "mysql://dnc@localhost/dnc"\nruns_dir = "r"', "must start with postgresql://"),
        ('url = "postgresql://dnc@localhost"\nruns_dir = "r"', "must name a database"),
        (
            'path = "s.db"\nurl = "postgresql://dnc@localhost/dnc"\nruns_dir = "r"',
            "not both",
        ),
        ('url = "postgresql://dnc@localhost/dnc"\npassword = "x"', "unknown key"),
    ],
)
def test_a_bad_state_url_is_named_without_echoing_a_password(state: str, message: str) -> None:
    with pytest.raises(ConfigError, match="state") as refused:
        _parse(state)
    assert message in str(refused.value)
    assert "hunter2" not in str(refused.value)
