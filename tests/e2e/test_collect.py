"""`sync --collect`: a number added on one platform behind dncsync's back reaches the others.

An agent's "do not call" or an IVR option puts a number straight on a platform's list. With
`collect = true` on that target, `dncsync sync --collect` reads the list, stores each number
no source holds and dncsync did not add as an opt-out (source `platform:<target>`), and the
same run pushes it to every other target. The list it came from keeps it, mirror or not.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from dncsync import config as config_module
from dncsync.errors import ConfigError
from dncsync.report.codec import loads

from .support import (
    Platforms,
    cxone_target,
    genesys_target,
    nanp_numbers,
    run_sync,
    write_config,
    write_source,
)

pytestmark = pytest.mark.slow


def _collected_requests(folder: Path) -> list[tuple[str, str, str]]:
    """(phone, source, reason) of every opt-out in the intake store."""
    db = sqlite3.connect(folder / "state" / "dncsync.db.intake")
    try:
        return sorted(db.execute("SELECT phone, source, reason FROM requests").fetchall())
    finally:
        db.close()


def test_an_agents_number_on_genesys_reaches_cxone_and_mirror_keeps_it(
    platforms: Platforms, tmp_path: Path
) -> None:
    numbers = nanp_numbers(6, seed=160)
    from_file, agents = numbers[:4], numbers[4:]
    write_source(tmp_path / "source.csv", from_file)
    config = write_config(
        tmp_path,
        [
            genesys_target(platforms, mode="mirror", collect=True),
            cxone_target(platforms, mode="mirror"),
        ],
    )
    first = run_sync(config)
    assert first.code == 0, first.stderr
    assert platforms.held("genesys") == platforms.held("cxone") == set(from_file)

    # Two agents' dispositions, straight on the Genesys list.
    platforms.running.state.genesys_edit(platforms.list_id, add=agents)
    collected = run_sync(config, "--collect")
    assert collected.code == 0, collected.stderr
    summary = collected.summary()
    assert summary["collected"] == 2
    assert summary["targets"]["genesys-e2e"]["collected"] == 2
    assert summary["targets"]["cxone-e2e"]["adds"] == 2
    assert "collected" not in summary["targets"]["cxone-e2e"]
    # Nothing written to the list they came from: they are held there as they should be.
    assert summary["targets"]["genesys-e2e"]["adds"] == 0
    assert summary["targets"]["genesys-e2e"]["removes"] == 0
    assert platforms.held("cxone") == set(numbers)
    assert platforms.held("genesys") == set(numbers)
    intake = tmp_path / "state" / "dncsync.db.intake"
    assert intake.stat().st_mode & 0o777 == 0o600  # it holds numbers
    assert _collected_requests(tmp_path) == sorted(
        (phone, "platform:genesys-e2e", "CUSTOMER_REQUESTED") for phone in agents
    )
    # Delivered by this very sync: held on both targets (not pending until serve runs).
    db = sqlite3.connect(intake)
    try:
        deliveries = db.execute("SELECT target, status FROM deliveries").fetchall()
    finally:
        db.close()
    assert sorted(deliveries) == [("cxone-e2e", "held")] * 2 + [("genesys-e2e", "held")] * 2
    text = Path(summary["evidence"]["report_json"]).read_text(encoding="utf-8")
    by_name = {t["name"]: t for t in json.loads(text)["targets"]}
    assert by_name["genesys-e2e"]["collected"] == 2
    assert by_name["cxone-e2e"]["collected"] is None
    assert loads(text).target("genesys-e2e").collected == 2
    html = Path(summary["evidence"]["report_html"]).read_text(encoding="utf-8")
    assert "added by no one here: now opt-outs" in html
    # Counts, never the numbers.
    assert agents[0] not in html
    assert agents[0] not in text

    # A mirror sync (with the list read again) never removes them, and a second collection
    # stores nothing new.
    again = run_sync(config, "--collect")
    assert again.code == 0, again.stderr
    assert again.summary()["targets"]["genesys-e2e"]["collected"] == 0
    plain = write_config(
        tmp_path,
        [
            genesys_target(platforms, mode="mirror", collect=True, verify_every="0"),
            cxone_target(platforms, mode="mirror", verify_every="0"),
        ],
    )
    mirrored = run_sync(plain)
    assert mirrored.code == 0, mirrored.stderr
    assert mirrored.summary()["targets"]["genesys-e2e"]["removes"] == 0
    assert platforms.held("genesys") == platforms.held("cxone") == set(numbers)
    assert len(_collected_requests(tmp_path)) == 2


@pytest.mark.long  # CXone to Genesys is also shown through serve in the quick suite
def test_an_ivr_number_on_cxone_reaches_genesys(platforms: Platforms, tmp_path: Path) -> None:
    numbers = nanp_numbers(3, seed=161)
    write_source(tmp_path / "source.csv", numbers[:2])
    config = write_config(
        tmp_path,
        [
            genesys_target(platforms),
            cxone_target(platforms, collect=True, collect_reason="COMPANY_POLICY"),
        ],
    )
    assert run_sync(config).code == 0
    ivr = numbers[2]
    platforms.running.state.cxone_edit(platforms.group_id, upsert=[ivr[2:]])
    done = run_sync(config, "--collect")
    assert done.code == 0, done.stderr
    assert done.summary()["targets"]["cxone-e2e"]["collected"] == 1
    assert ivr in platforms.held("genesys")
    assert _collected_requests(tmp_path) == [(ivr, "platform:cxone-e2e", "COMPANY_POLICY")]


def test_collect_needs_a_collecting_target_and_refuses_remove_foreign(
    platforms: Platforms, tmp_path: Path
) -> None:
    write_source(tmp_path / "source.csv", nanp_numbers(1, seed=162))
    config = write_config(tmp_path, [genesys_target(platforms)])
    refused = run_sync(config, "--collect")
    assert refused.code == 3
    assert "collect = true" in refused.stderr
    both = write_config(
        tmp_path, [genesys_target(platforms, mode="mirror", collect=True, remove_foreign=True)]
    )
    with pytest.raises(ConfigError, match="keep one"):
        config_module.load(both)
