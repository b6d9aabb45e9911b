"""A number counts as held on CXone only when the platform's answer names it.

CXone answers a records write with 200 and a result per record. Here the emulator, over a
real loopback socket, is made hostile: a small ASGI middleware behind its front door applies
every write as the platform would and then rewrites the answer (results naming other
numbers, one result short, results reordered, numbers only in `formattedPhone`, no numbers at
all). `dncsync sync` runs as a subprocess; the state's snapshot, the report and the
emulator's own data say what happened, and a sync against the honest emulator afterwards
sends again exactly the numbers whose answer could not be used.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dncsync.emulator.answers import context as request_context
from dncsync.state import StateStore

from .support import (
    Finished,
    Platforms,
    cxone_target,
    e164_of_cxone,
    list_key,
    nanp_numbers,
    run_sync,
    write_config,
    write_source,
)

pytestmark = pytest.mark.slow

PARTIAL_FAILURE = 4
TARGET = "cxone-e2e"
COUNT, BATCH = 30, 10  # three writes, sent one after the other


def _other_numbers(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # Toll-free numbers no source here holds.
    return [
        {**r, "phoneNumber": f"800555{place:04d}", "formattedPhone": None}
        for place, r in enumerate(results)
    ]


def _formatted_only(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k != "phoneNumber"} for r in results]


def _nameless(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**_formatted_only([r])[0], "formattedPhone": None} for r in results]


REWRITES: dict[str, Callable[[list[dict[str, Any]]], list[dict[str, Any]]]] = {
    "other_numbers": _other_numbers,
    "one_fewer": lambda results: results[:-1],
    "reordered": lambda results: results[::-1],
    "formatted_only": _formatted_only,
    "nameless": _nameless,
}


@dataclass
class HostileAnswers:
    """How the platform answers records writes: honestly (mode None) or rewritten."""

    mode: str | None
    victim: str | None = None  # rewrite only the write carrying this number; None: every one
    rewritten: set[str] = field(default_factory=set)  # numbers of the writes rewritten
    lock: threading.Lock = field(default_factory=threading.Lock)

    def rewrite(self, phones: set[str], body: dict[str, Any]) -> dict[str, Any] | None:
        """The answer to send instead, or None to leave it as it is."""
        with self.lock:
            if self.mode is None or (self.victim is not None and self.victim not in phones):
                return None
            self.rewritten |= phones
            holder = body["resultSet"]
            holder["recordResults"] = REWRITES[self.mode](holder["recordResults"])
            return body


class HostileMiddleware:
    """ASGI middleware inside the emulator: the write is applied, then its answer rewritten."""

    def __init__(self, app: ASGIApp, answers: HostileAnswers) -> None:
        self.app = app
        self.answers = answers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in ("POST", "DELETE")
            or not str(scope.get("path", "")).endswith("/records")
        ):
            await self.app(scope, receive, send)
            return
        payload = json.loads(request_context(scope).body)
        phones = {e164_of_cxone(str(r["phoneNumber"])) for r in payload["dncGroupRecords"]}
        start: Message = {}
        chunks: list[bytes] = []

        async def keep(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, keep)
        body = b"".join(chunks)
        if start["status"] == 200 and (new := self.answers.rewrite(phones, json.loads(body))):
            body = json.dumps(new).encode()
        headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def hostile(platforms: Platforms, mode: str, victim: str | None = None) -> HostileAnswers:
    """Make the emulator answer records writes so (before its first request)."""
    answers = HostileAnswers(mode, victim)
    platforms.running.app.add_middleware(HostileMiddleware, answers=answers)
    return answers


def configure(platforms: Platforms, tmp_path: Path, numbers: list[str]) -> Path:
    write_source(tmp_path / "source.csv", numbers, seed=4)
    return write_config(tmp_path, [cxone_target(platforms, batch_size=BATCH, concurrency=1)])


def snapshot(tmp_path: Path) -> set[str]:
    """The numbers the state says the group holds."""
    with StateStore(tmp_path / "state" / "dncsync.db") as store:
        return set(store.snapshot(list_key(tmp_path / "dncsync.toml", TARGET)))


def report_of(finished: Finished) -> dict[str, Any]:
    """The run's report.json."""
    path = Path(finished.summary()["evidence"]["report_json"])
    report: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return report


@pytest.mark.parametrize(
    ("mode", "code"),
    [("other_numbers", "cxone.results_unmatched"), ("one_fewer", "cxone.results_mismatch")],
)
def test_an_answer_that_does_not_name_each_number_sent_fails_its_numbers_until_resent(
    mode: str, code: str, start_emulator: Callable[..., Platforms], tmp_path: Path
) -> None:
    platforms = start_emulator()
    numbers = nanp_numbers(COUNT, 41)
    answers = hostile(platforms, mode, victim=numbers[BATCH + 3])  # the second write
    config = configure(platforms, tmp_path, numbers)

    first = run_sync(config)

    misanswered = answers.rewritten
    assert len(misanswered) == BATCH
    assert first.code == PARTIAL_FAILURE
    assert f"{TARGET}: {BATCH}" in first.stderr
    summary = first.summary()
    assert summary["status"] == "partial"
    target = summary["targets"][TARGET]
    assert (target["acknowledged"], target["failed"], target["skipped"]) == (
        COUNT - BATCH,
        BATCH,
        0,
    )
    assert {error.split(":")[0] for error in target["failures"].values()} == {code}
    # The platform took the write; its answer does not prove it, so dncsync does not count it.
    assert platforms.held("cxone") == set(numbers)
    assert snapshot(tmp_path) == set(numbers) - misanswered
    push = report_of(first)["targets"][0]["push"]
    assert [b["status"] for b in push["batches"]] == ["acknowledged", "failed", "acknowledged"]
    assert push["batches"][1]["error_code"] == code
    assert push["numbers_failed"] == BATCH

    # The platform answers honestly again: the next sync sends exactly those numbers.
    answers.mode = None
    mark = platforms.writes.mark()
    second = run_sync(config)

    assert second.code == 0, second.stderr
    resent = [write.phones for write in platforms.writes.since(mark)]
    assert resent == [frozenset(misanswered)]
    assert snapshot(tmp_path) == set(numbers)


@pytest.mark.parametrize("mode", ["reordered", "formatted_only"])
def test_results_named_in_any_order_or_form_are_matched_exactly(
    mode: str, start_emulator: Callable[..., Platforms], tmp_path: Path
) -> None:
    # The tenant takes 27 records: the platform refuses the last three records of the last
    # write. Results paired by position would put those refusals on the wrong numbers.
    platforms = start_emulator(tenant_capacity=COUNT - 3)
    answers = hostile(platforms, mode)
    numbers = nanp_numbers(COUNT, 43)
    config = configure(platforms, tmp_path, numbers)

    finished = run_sync(config)

    assert len(answers.rewritten) == COUNT  # every answer was rewritten
    assert finished.code == PARTIAL_FAILURE
    target = finished.summary()["targets"][TARGET]
    assert (target["acknowledged"], target["failed"]) == (COUNT - 3, 3)
    assert {error.split(":")[0] for error in target["failures"].values()} == {"MaxRecordsExceeded"}
    assert "paired_by_position" not in target
    held = platforms.held("cxone")
    assert len(held) == COUNT - 3
    assert snapshot(tmp_path) == held  # exactly the numbers the platform holds
    batches = report_of(finished)["targets"][0]["push"]["batches"]
    assert not any(b["paired_by_position"] for b in batches)


def test_results_that_name_no_number_are_paired_by_position_and_the_report_says_so(
    start_emulator: Callable[..., Platforms], tmp_path: Path
) -> None:
    platforms = start_emulator()
    hostile(platforms, "nameless")
    numbers = nanp_numbers(COUNT, 47)
    config = configure(platforms, tmp_path, numbers)

    finished = run_sync(config)

    assert finished.code == 0, finished.stderr
    target = finished.summary()["targets"][TARGET]
    assert (target["acknowledged"], target["failed"]) == (COUNT, 0)
    assert target["paired_by_position"] == COUNT // BATCH
    assert snapshot(tmp_path) == set(numbers) == platforms.held("cxone")
    report = report_of(finished)
    push = report["targets"][0]["push"]
    assert [b["paired_by_position"] for b in push["batches"]] == [True] * (COUNT // BATCH)
    assert push["batches_paired_by_position"] == COUNT // BATCH
    assert "paired_by_position" in {w["code"] for w in report["warnings"]}
