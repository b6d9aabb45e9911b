"""Exit codes an operator's scheduler can act on: one clear line on stderr, never a traceback.

3 configuration or authentication, 2 unreadable input, 4 numbers not acknowledged (the rest of
the list is still synced). Configuration problems stop before any request is sent.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from .support import (
    Finished,
    Platforms,
    cxone_target,
    genesys_target,
    nanp_numbers,
    run_sync,
    write_config,
    write_source,
)

pytestmark = pytest.mark.slow

USAGE_OR_INPUT, CONFIG_OR_AUTH, PARTIAL_FAILURE = 2, 3, 4


def _error_line(finished: Finished) -> str:
    assert "Traceback" not in finished.stderr
    line = finished.stderr.strip().splitlines()[-1]
    assert line.startswith("dncsync: error: ")
    return line


def test_a_missing_credential_variable_fails_its_target_alone_with_exit_3(
    platforms: Platforms, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("E2E_UNSET_SECRET", raising=False)
    write_source(tmp_path / "source.csv", nanp_numbers(10, 1))
    config = write_config(
        tmp_path,
        [
            cxone_target(platforms),
            genesys_target(platforms, client_secret_env="E2E_UNSET_SECRET"),
        ],
    )

    finished = run_sync(config)

    assert finished.code == CONFIG_OR_AUTH
    line = _error_line(finished)
    assert "E2E_UNSET_SECRET" in line
    assert "client_secret_env" in line
    assert "the other targets ran: 'cxone-e2e'" in line
    assert [r.platform for r in platforms.requests()] == ["cxone"] * len(platforms.requests())
    assert len(platforms.held("cxone")) == 10  # the other target was synced in full
    targets = finished.summary()["targets"]
    assert targets["genesys-e2e"]["status"] == "failed"
    assert targets["cxone-e2e"]["status"] == "success"


def test_a_bad_configuration_key_exits_3_naming_it(platforms: Platforms, tmp_path: Path) -> None:
    write_source(tmp_path / "source.csv", nanp_numbers(10, 1))
    config = write_config(tmp_path, [genesys_target(platforms, batch_sise=100)])

    finished = run_sync(config)

    assert finished.code == CONFIG_OR_AUTH
    assert "target[0].batch_sise" in _error_line(finished)
    assert platforms.requests() == []


@pytest.mark.parametrize("platform", ["genesys", "cxone"])
def test_refused_credentials_exit_3_naming_the_variables(
    platform: str, platforms: Platforms, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    variable = "E2E_CLIENT_SECRET" if platform == "genesys" else "E2E_ACCESS_KEY_SECRET"
    monkeypatch.setenv(variable, "not-the-secret-the-platform-knows")
    write_source(tmp_path / "source.csv", nanp_numbers(10, 1))
    target = genesys_target if platform == "genesys" else cxone_target
    config = write_config(tmp_path, [target(platforms)])

    finished = run_sync(config)

    assert finished.code == CONFIG_OR_AUTH
    line = _error_line(finished)
    assert variable in line
    assert "not-the-secret" not in finished.stderr + finished.stdout
    assert platforms.number_writes() == []


def test_an_unreadable_source_exits_2_before_any_write(
    platforms: Platforms, tmp_path: Path
) -> None:
    config = write_config(tmp_path, [genesys_target(platforms)], source="no-such-file.csv")

    finished = run_sync(config)

    assert finished.code == USAGE_OR_INPUT
    assert "no-such-file.csv" in _error_line(finished)
    assert platforms.number_writes() == []


def test_numbers_not_sent_or_refused_exit_4_and_the_rest_is_synced(
    start_emulator: Callable[..., Platforms], tmp_path: Path
) -> None:
    # The platforms refuse what passes their capacity: Genesys a whole request, CXone the
    # records past the tenant's limit, each alone.
    platforms = start_emulator(list_capacity=150, tenant_capacity=150)
    numbers = nanp_numbers(199, 2)
    german = "+493090182011"  # skipped by a CXone group with international = "skip"
    write_source(tmp_path / "source.csv", [*numbers, german], seed=2)
    config = write_config(
        tmp_path,
        [
            genesys_target(platforms, batch_size=50, concurrency=1),
            cxone_target(platforms, batch_size=50, concurrency=1, international="skip"),
        ],
    )

    finished = run_sync(config)

    assert finished.code == PARTIAL_FAILURE
    line = _error_line(finished)
    assert "genesys-e2e: 50" in line
    assert "cxone-e2e: 49" in line  # the German number is skipped, not failed
    targets = finished.summary()["targets"]  # the summary is printed all the same
    genesys, cxone = targets["genesys-e2e"], targets["cxone-e2e"]
    assert (genesys["acknowledged"], genesys["failed"], genesys["skipped"]) == (150, 50, 0)
    assert (cxone["acknowledged"], cxone["failed"], cxone["skipped"]) == (150, 49, 1)
    assert set(genesys["failures"].values()) == {
        "dnc.phone.numbers.per.list.limit.exceeded: A DNC list may hold at most 150 phone numbers"
    }
    reasons = {error.split(":")[0] for error in cxone["failures"].values()}
    assert reasons == {"MaxRecordsExceeded"}
    assert cxone["skipped_numbers"]["+49309018****"].startswith("dncsync.international_skipped")
    assert len(platforms.held("genesys")) == 150
    assert len(platforms.held("cxone")) == 150
