"""A hostile or mistaken configuration ends with exit 3 and one line naming the key: values
TOML allows but no key means (inf, nan), nesting that would exhaust a parser, a path that is
not a file, a file with no target for a command that needs one."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from clirun import dncsync, error_line
from dncsync import config
from dncsync.errors import ConfigError

CONFIG_OR_AUTH = 3

TARGET = """
[[source]]
name = "optouts"
url = "optouts.csv"

[[target]]
name = "genesys-main"
platform = "genesys"
dnc_list_id = "list-1"
"""


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ("requests_per_minute = inf", "target[0].requests_per_minute"),
        ("retry_budget_seconds = +inf", "target[0].retry_budget_seconds"),
        ("max_removal_fraction = nan", "target[0].max_removal_fraction"),
        ("request_timeout_seconds = -nan", "target[0].request_timeout_seconds"),
        ("export_poll_seconds = inf", "target[0].export_poll_seconds"),
    ],
)
def test_inf_and_nan_are_refused_naming_the_key(line: str, key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config.parse(tomllib.loads(TARGET + line + "\n"), "dncsync.toml")
    assert str(caught.value) == (
        f"dncsync.toml: {key}: must be a finite number (inf and nan mean nothing here)"
    )


def test_inf_exits_3_with_one_line_before_anything_is_written(tmp_path: Path) -> None:
    path = tmp_path / "dncsync.toml"
    path.write_text(TARGET + "requests_per_minute = inf\n")

    ran = dncsync("sync", "--config", str(path), env={"GENESYS_CLIENT_ID": "x"})

    assert ran.code == CONFIG_OR_AUTH
    assert "target[0].requests_per_minute: must be a finite number" in error_line(ran)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dncsync.toml"]


def test_deeply_nested_arrays_are_refused_naming_the_line_and_key(tmp_path: Path) -> None:
    path = tmp_path / "dncsync.toml"
    path.write_text(TARGET + "[reasons]\nx = " + "[" * 100_000 + "]" * 100_000 + "\n")

    with pytest.raises(ConfigError) as refused:
        config.load(path)

    assert str(refused.value) == (
        f"{path}: line 11 (key reasons.x): arrays or inline tables nested more than 16 levels "
        "deep; this is not a dncsync configuration"
    )


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("a." + ".".join(["b"] * 5000) + " = 1", "a.b.b.b...: nested more than 16 levels"),
        ("[reasons]\n" + ".".join(["b"] * 5000) + " = 1", "reasons.b.b.b...: nested"),
        ("x = " + "{a = " * 400 + "1" + "}" * 400, "line 1 (key x): arrays or inline tables"),
    ],
)
def test_any_deep_nesting_is_named(tmp_path: Path, text: str, shown: str) -> None:
    path = tmp_path / "dncsync.toml"
    path.write_text(text + "\n")
    with pytest.raises(ConfigError, match="not a dncsync configuration") as caught:
        config.load(path)
    assert shown in str(caught.value)


def test_a_folder_given_as_the_configuration_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as refused:
        config.load(tmp_path)
    assert str(refused.value) == (
        f"{tmp_path}: is a directory, not a configuration file (--config PATH)"
    )


def test_a_device_or_a_huge_file_is_not_read_into_memory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="/dev/zero: not a regular file"):
        config.load("/dev/zero")
    huge = tmp_path / "huge.toml"
    with huge.open("w") as handle:
        handle.write("# " + "x" * (config.MAX_CONFIG_BYTES + 1) + "\n")
    with pytest.raises(ConfigError, match=r"huge\.toml: larger than 4 MiB"):
        config.load(huge)


NO_TARGET = '[[source]]\nname = "optouts"\nurl = "optouts.csv"\n'


def test_no_target_is_a_configuration_error_for_every_run(tmp_path: Path) -> None:
    # plan, sync and reconcile all begin a run by choosing its targets (run.lifecycle.Run).
    path = tmp_path / "dncsync.toml"
    path.write_text(NO_TARGET)
    parsed, _ = config.load(path)
    for name in (None, "main"):
        with pytest.raises(ConfigError, match=r"target: the configuration has no \[\[target\]\]"):
            parsed.targets_named(name)


def test_no_target_exits_3_before_anything_is_written(tmp_path: Path) -> None:
    path = tmp_path / "dncsync.toml"
    path.write_text(NO_TARGET)

    ran = dncsync("sync", "--config", str(path))

    assert ran.code == CONFIG_OR_AUTH
    assert error_line(ran) == (
        f"dncsync: error: {path}: target: the configuration has no [[target]]; plan, sync and "
        "reconcile need at least one (docs/configuration.md)"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dncsync.toml"]  # no state, no run


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8765", "http://localhost:1/", "http://[::1]:9", "https://gw.example"]
)
def test_base_url_https_anywhere_and_http_on_loopback_are_accepted(url: str) -> None:
    parsed = config.parse(tomllib.loads(TARGET + f'base_url = "{url}"\n'), "dncsync.toml")
    assert parsed.target[0].base_url == url


def test_http_to_a_remote_host_exits_3_naming_target_and_key(tmp_path: Path) -> None:
    path = tmp_path / "dncsync.toml"
    path.write_text(TARGET + 'base_url = "http://gateway.example:8080"\n')

    ran = dncsync("sync", "--config", str(path), env={"GENESYS_CLIENT_ID": "x"})

    assert ran.code == CONFIG_OR_AUTH
    assert error_line(ran).startswith(
        f"dncsync: error: {path}: target[0].base_url: target 'genesys-main': https is required "
        "for http://gateway.example:8080: over http the client secret, tokens and phone "
        "numbers would cross the network in clear"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dncsync.toml"]
