"""Configuration errors name the key, before any network call."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from dncsync import config
from dncsync.credentials import secret_from_env
from dncsync.errors import ConfigError
from dncsync.platforms.cxone import CxoneTargetConfig
from dncsync.platforms.genesys import GenesysTargetConfig

GOOD = """
[state]
path = "state/dncsync.db"

[[source]]
name = "optouts"
url = "exports/optouts.csv"

[[target]]
name = "genesys-main"
platform = "genesys"
dnc_list_id = "list-1"
mode = "mirror"

[[target]]
name = "cxone-main"
platform = "cxone"
tenant_id = "t-1"
dnc_group_id = 7
sources = ["optouts"]

[reasons]
"opted out online" = "CUSTOMER_REQUESTED"

[retention]
COMPANY_POLICY = "2y"
"""


def load(text: str) -> config.Config:
    return config.parse(tomllib.loads(text), "dncsync.toml")


def test_a_full_config_parses_with_defaults() -> None:
    parsed = load(GOOD)
    genesys, cxone = parsed.target
    assert isinstance(genesys, GenesysTargetConfig)
    assert genesys.region == "us_east_1"
    assert genesys.client_secret_env == "GENESYS_CLIENT_SECRET"
    assert isinstance(cxone, CxoneTargetConfig)
    assert cxone.international == "011"
    assert parsed.sources_for(cxone)[0].name == "optouts"
    assert len(parsed.digest()) == 64


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (('dnc_list_id = "list-1"\n', ""), r"target\[0\]\.dnc_list_id: required key is missing"),
        (('mode = "mirror"', 'mode = "sometimes"'), r"target\[0\]\.mode: "),
        (("dnc_group_id = 7", 'dnc_group_id = "seven"'), r"target\[1\]\.dnc_group_id: "),
        (('platform = "cxone"', 'platform = "five9"'), r"target\[1\].*'cxone' or 'genesys'"),
        (("[retention]\n", '[retention]\nLOCAL = "soon"\n'), r"retention.*not a retention"),
        (('"CUSTOMER_REQUESTED"', '"PLEASE_NO"'), r"reasons\.opted out online: "),
        (('sources = ["optouts"]', 'sources = ["crm"]'), r"no source named 'crm'"),
        (('mode = "mirror"', 'client_secret = "hunter2"'), r"environment variables only"),
        (("[state]", '[state]\ncolour = "blue"'), r"state\.colour: unknown key"),
    ],
)
def test_a_bad_key_is_named(edit: tuple[str, str], message: str) -> None:
    old, new = edit
    assert old in GOOD
    with pytest.raises(ConfigError, match=message) as caught:
        load(GOOD.replace(old, new, 1))
    assert "hunter2" not in str(caught.value)


def test_missing_and_broken_files_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        config.load(tmp_path / "nope.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[[target]\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        config.load(broken)


def test_relative_paths_resolve_against_the_config_folder(tmp_path: Path) -> None:
    assert config.resolve_path(tmp_path, "a.csv") == str(tmp_path / "a.csv")
    assert config.resolve_path(tmp_path, "s3://bucket/key.csv") == "s3://bucket/key.csv"
    assert config.resolve_path(tmp_path, "-") == "-"


def test_missing_secret_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOPE_SECRET", raising=False)
    with pytest.raises(ConfigError, match="NOPE_SECRET is not set"):
        secret_from_env("genesys-main", "client_secret_env", "NOPE_SECRET")


def test_retentions() -> None:
    assert config.retention_years("never", "k") is None
    assert config.retention_years("7y", "k") == 7
    with pytest.raises(ValueError, match="not a retention"):
        config.retention_years("90d", "k")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('NATIONAL = "5y"', "permanent by rule"),
        ('CUSTOMER_REQUESTED = "2y"', "at least 5 years"),
    ],
)
def test_retention_cannot_go_below_the_rules(line: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load(GOOD.replace("[retention]\n", f"[retention]\n{line}\n"))
