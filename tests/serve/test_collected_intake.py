"""Opt-outs collected from a platform's list, in the intake store on a real file."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from dncsync.intake import collected
from dncsync.model import Reason
from dncsync.state.intake import IntakeStore

NEW_YORK = ZoneInfo("America/New_York")
# Friday 20 Nov 2026, 22:00 in New York: found on Friday, so due ten business days later.
FOUND = datetime(2026, 11, 21, 3, 0, tzinfo=UTC)
AGENT, IVR = "+14155552671", "+12125550143"


def test_a_collected_opt_out_is_received_when_found_and_labelled_by_its_list() -> None:
    optout = collected(AGENT, "genesys-main", Reason.COMPANY_POLICY, FOUND, NEW_YORK)
    assert optout.source == "platform:genesys-main"
    assert optout.reason is Reason.COMPANY_POLICY
    assert optout.received_at == FOUND
    assert optout.deadline == date(2026, 12, 7)  # skips Thanksgiving
    assert optout.scope == ""


def test_a_number_is_collected_once_per_list_even_after_a_withdrawal(tmp_path: Path) -> None:
    store = IntakeStore(tmp_path / "state.intake", {"genesys-main": None, "cxone-main": None})
    try:

        def collect(phone: str, target: str) -> list[str]:
            found = collected(phone, target, Reason.CUSTOMER_REQUESTED, FOUND, NEW_YORK)
            return [o.phone for o in store.collect([found]).result()]

        assert collect(AGENT, "genesys-main") == [AGENT]
        assert collect(AGENT, "genesys-main") == []  # found again: stored once
        assert collect(AGENT, "cxone-main") == [AGENT]  # another list's finding is its own
        (first,) = [r for r in store.listing() if r["source"] == "platform:genesys-main"]
        assert {t["status"] for t in first["targets"].values()} == {"pending"}
        assert store.withdraw(first["id"], "consent given back").result() is True
        assert collect(AGENT, "genesys-main") == []  # a withdrawal is not undone by a read
    finally:
        store.close()


def test_a_delivery_a_list_lost_is_pending_again_unless_withdrawn(tmp_path: Path) -> None:
    store = IntakeStore(tmp_path / "state.intake", {"cxone-main": None})
    try:
        optouts = [
            collected(phone, "genesys-main", Reason.CUSTOMER_REQUESTED, FOUND, NEW_YORK)
            for phone in (AGENT, IVR)
        ]
        store.collect(optouts).result()
        ids = {o.phone: o.id for o in optouts}
        store.settle("cxone-main", list(ids.values()), {}, {}, retry_at=FOUND).result()
        assert store.open_count("cxone-main") == 0
        store.withdraw(ids[IVR], "consent given back").result()
        assert store.reopen("cxone-main", [AGENT, IVR]).result() == 1
        assert store.request(ids[AGENT])["targets"]["cxone-main"]["status"] == "pending"
        assert store.request(ids[IVR])["targets"]["cxone-main"]["status"] == "held"
        assert store.reopen("cxone-main", [AGENT]).result() == 0  # pending already
    finally:
        store.close()
