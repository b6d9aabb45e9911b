"""What the end-to-end tests share: an emulator that remembers what it applied, configs, sources,
`dncsync sync` as a subprocess, and polling with deadlines.

The emulator's request log says how many numbers each request carried; `WriteRecorder`, a small
ASGI middleware added inside the emulator (behind its front door, so it sees only requests that
passed the rate limit and the fault injection), keeps *which* numbers every write the platform
applied carried. With both, a test can say exactly what a run sent and what the platform holds.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import phonenumbers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dncsync.emulator import (
    EmulatorSettings,
    FaultSettings,
    RateLimit,
    RequestRecord,
    RunningEmulator,
    run_in_thread,
)
from dncsync.emulator.answers import context as request_context

# Credentials the emulator accepts in these tests: distinctive, so a leak is easy to find.
CLIENT_ID = "e2e-oauth-client-3f7a"
CLIENT_SECRET = "e2e-oauth-secret-b81c5d29e4f0"
ACCESS_KEY_ID = "e2e-access-key-4d2e"
ACCESS_KEY_SECRET = "e2e-access-secret-6a8f0c3b1e97"
CREDENTIAL_ENV = {
    "E2E_CLIENT_ID": CLIENT_ID,
    "E2E_CLIENT_SECRET": CLIENT_SECRET,
    "E2E_ACCESS_KEY_ID": ACCESS_KEY_ID,
    "E2E_ACCESS_KEY_SECRET": ACCESS_KEY_SECRET,
}
SECRETS = (CLIENT_SECRET, ACCESS_KEY_SECRET)

WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})
NUMBER_PATHS = ("/phonenumbers", "/records")
# A pace far above anything the emulator limits in tests where pacing is not the point.
FAST = 60_000.0

T = TypeVar("T")


def emulator_settings(**overrides: Any) -> EmulatorSettings:
    """The tests' emulator: their credentials, no rate limit to speak of, quick exports."""
    values: dict[str, Any] = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "access_key_id": ACCESS_KEY_ID,
        "access_key_secret": ACCESS_KEY_SECRET,
        "rate_limit": RateLimit(1_000_000, 60.0),
        "export_delay_seconds": 0.05,
        "faults": FaultSettings(),
    }
    values.update(overrides)
    return EmulatorSettings(**values)


# --- what the platform applied ------------------------------------------------------------


def e164_of_cxone(digits: str) -> str:
    """The E.164 form of a number as CXone stores it (10 NANP digits or 011 + E.164 digits)."""
    if len(digits) == 10:
        return "+1" + digits
    if digits.startswith("011"):
        return "+" + digits[3:]
    return "+" + digits


@dataclass(slots=True)
class AppliedWrite:
    """One write that reached the platform's handlers, with the numbers its body carried."""

    order: int
    correlation_id: str
    platform: str
    action: str  # add | remove
    phones: frozenset[str]  # E.164
    status: int = 0  # the platform's own answer; 0 while it is being applied

    @property
    def applied(self) -> bool:
        """The platform took the write (whatever the client then saw: see the request log)."""
        return 200 <= self.status < 300


def _phones_in(platform: str, body: bytes) -> tuple[str, frozenset[str]]:
    payload: Any = json.loads(body) if body else None
    if platform == "genesys":
        if isinstance(payload, dict):
            action = "remove" if payload.get("action") == "Remove" else "add"
            return action, frozenset(str(p) for p in payload.get("phoneNumbers") or ())
        return "add", frozenset(str(p) for p in payload or ())
    records = payload.get("dncGroupRecords", []) if isinstance(payload, dict) else []
    phones = frozenset(e164_of_cxone(str(r.get("phoneNumber"))) for r in records)
    return "add", phones


class WriteRecorder:
    """ASGI middleware inside the emulator: remembers the numbers of every write applied."""

    def __init__(self, app: ASGIApp, journal: WriteJournal) -> None:
        self.app = app
        self.journal = journal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if (
            scope["type"] != "http"
            or scope["method"] not in WRITE_METHODS
            or not path.endswith(NUMBER_PATHS)
        ):
            await self.app(scope, receive, send)
            return
        context = request_context(scope)
        action, phones = _phones_in(context.platform, context.body)
        if scope["method"] == "DELETE":
            action = "remove"
        # Recorded before the platform applies it, so the entry exists by the time the request
        # log shows the answer; the status is filled in as the answer starts.
        entry = self.journal.add(context.correlation_id, context.platform, action, phones)

        async def noting(message: Message) -> None:
            if message["type"] == "http.response.start":
                entry.status = int(message["status"])
            await send(message)

        await self.app(scope, receive, noting)


@dataclass
class WriteJournal:
    """The writes the emulator applied, in arrival order (thread-safe)."""

    entries: list[AppliedWrite] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(
        self, correlation_id: str, platform: str, action: str, phones: frozenset[str]
    ) -> AppliedWrite:
        """Append one write."""
        with self.lock:
            entry = AppliedWrite(len(self.entries), correlation_id, platform, action, phones)
            self.entries.append(entry)
            return entry

    def since(self, order: int = 0) -> list[AppliedWrite]:
        """Writes from position `order` on."""
        with self.lock:
            return list(self.entries[order:])

    def mark(self) -> int:
        """The position the next write will take."""
        with self.lock:
            return len(self.entries)


@dataclass
class Platforms:
    """A running emulator with one Genesys list and one CXone group, and what it applied."""

    running: RunningEmulator
    writes: WriteJournal
    list_id: str
    group_id: int

    @property
    def base_url(self) -> str:
        """Where both platforms answer."""
        return self.running.base_url

    def mark(self) -> int:
        """The request log's last sequence number (pass it to `requests(since=...)`)."""
        log = self.running.state.requests()
        return log[-1].seq if log else 0

    def requests(self, since: int = 0) -> list[RequestRecord]:
        """The request log after `since`."""
        return self.running.state.requests(since)

    def number_writes(self, since: int = 0, platform: str | None = None) -> list[RequestRecord]:
        """Write requests on a list's numbers (every attempt), after `since`."""
        return [
            r
            for r in self.requests(since)
            if r.method in WRITE_METHODS
            and r.path.endswith(NUMBER_PATHS)
            and (platform is None or r.platform == platform)
        ]

    def full_reads(self, since: int = 0) -> list[RequestRecord]:
        """Requests that read a whole list: a Genesys export, CXone records paging."""
        return [
            r
            for r in self.requests(since)
            if (r.path.endswith("/export") and r.method == "POST")
            or (r.path.endswith("/records") and r.method == "GET")
            or r.path.startswith("/api/v2/downloads/")
        ]

    def genesys(self) -> dict[str, str | None]:
        """The Genesys list: number -> expiration (`yyyy-MM-ddTHH:mmZ` or None)."""
        return self.running.state.genesys_numbers(self.list_id)

    def cxone(self) -> dict[str, str | None]:
        """The CXone group's held records in E.164 -> expiredDate (MM/DD/YYYY or None)."""
        held = self.running.state.cxone_held(self.group_id)
        records = self.running.state.cxone_records(self.group_id)
        return {e164_of_cxone(p): records[p] for p in held}

    def held(self, platform: str) -> set[str]:
        """The numbers one platform blocks now."""
        return set(self.genesys() if platform == "genesys" else self.cxone())

    def plant(self, numbers: Iterable[str]) -> None:
        """Put NANP numbers on both platforms directly, as if an earlier tool had."""
        phones = list(numbers)
        self.running.state.genesys_edit(self.list_id, add=phones)
        self.running.state.cxone_edit(self.group_id, upsert=[p[2:] for p in phones])

    def tokens(self) -> set[str]:
        """Every access and refresh token the emulator issued."""
        state = self.running.state
        with state.lock:
            return {
                *state.genesys_tokens,
                *state.cxone_tokens,
                *state.cxone_refresh_tokens,
            }

    def settle(self, deadline_seconds: float = 10.0) -> None:
        """Wait until every request that reached the emulator has been answered.

        A client killed mid-request leaves the platform to finish what it was given (as a
        real one does): platform state is read only once nothing is left in flight. Every
        arrival counts an attempt before anything else happens and is logged as it is
        answered, so the two counts agree once the emulator is idle; they must agree on two
        looks a little apart, since bytes a dead client sent may still be waiting to be read.
        """
        state = self.running.state

        def idle() -> bool:
            with state.lock:
                return sum(state.attempts.values()) == len(state.log)

        quiet_since: float | None = None
        deadline = time.monotonic() + deadline_seconds
        while True:
            now = time.monotonic()
            if idle():
                quiet_since = quiet_since or now
                if now - quiet_since >= 0.05:
                    return
            else:
                quiet_since = None
            if now > deadline:
                raise AssertionError("the emulator still had requests in flight at the deadline")
            time.sleep(0.002)


@contextlib.contextmanager
def serve(
    settings: EmulatorSettings, certificate: tuple[str, str] | None = None
) -> Iterator[Platforms]:
    """The emulator on a free loopback port, recording applied writes; a list and a group.
    Over https with `certificate` (a PEM certificate file and its key file)."""
    with run_in_thread(settings, certificate=certificate) as running:
        journal = WriteJournal()
        # No request has reached the app yet, so its middleware stack can still take one.
        running.app.add_middleware(WriteRecorder, journal=journal)
        list_id = running.state.genesys_create_list("e2e compliance")
        group_id = running.state.cxone_create_group("e2e compliance")
        yield Platforms(running, journal, list_id, group_id)


# --- sources -------------------------------------------------------------------------------

_AREA_CODES = (
    "201", "202", "212", "213", "305", "312", "404", "415", "503", "512",
    "602", "617", "646", "650", "702", "713", "718", "805", "917", "972",
)  # fmt: skip


def nanp_numbers(count: int, seed: int, exclude: Iterable[str] = ()) -> list[str]:
    """`count` distinct valid North American numbers in E.164, chosen by `seed`."""
    rng = random.Random(seed)
    taken = set(exclude)
    found: list[str] = []
    while len(found) < count:
        text = f"+1{rng.choice(_AREA_CODES)}{rng.randrange(200, 1000)}{rng.randrange(10_000):04d}"
        if text in taken:
            continue
        if phonenumbers.is_valid_number(phonenumbers.parse(text)):
            taken.add(text)
            found.append(text)
    return found


def written_forms(phone: str, rng: random.Random) -> str:
    """One of the forms an export writes a number in (dncsync must normalize them)."""
    if not phone.startswith("+1"):
        return rng.choice((phone, "011" + phone[1:]))
    national = phone[2:]
    area, exchange, line = national[:3], national[3:6], national[6:]
    return rng.choice(
        (
            phone,
            f"({area}) {exchange}-{line}",
            f"1-{area}-{exchange}-{line}",
            f"{area}.{exchange}.{line}",
        )
    )


@dataclass(frozen=True, slots=True)
class Row:
    """One source row."""

    phone: str
    reason: str = "NATIONAL"
    expiration: str = ""


def write_source(path: Path, rows: Sequence[Row | str], seed: int = 0) -> None:
    """A CSV source (`phone,reason,expiration`), numbers in mixed written forms."""
    rng = random.Random(seed)
    lines = ["phone,reason,expiration"]
    for row in rows:
        item = row if isinstance(row, Row) else Row(row)
        lines.append(f'"{written_forms(item.phone, rng)}",{item.reason},{item.expiration}')
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


# --- configuration -------------------------------------------------------------------------


def toml_value(value: object) -> str:
    """A value as TOML writes it (strings JSON-quoted, which TOML reads alike)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(str(value))


def genesys_target(platforms: Platforms, **overrides: object) -> dict[str, object]:
    """A `[[target]]` table for the emulator's Genesys list."""
    table: dict[str, object] = {
        "name": "genesys-e2e",
        "platform": "genesys",
        "base_url": platforms.base_url,
        "dnc_list_id": platforms.list_id,
        "client_id_env": "E2E_CLIENT_ID",
        "client_secret_env": "E2E_CLIENT_SECRET",
        "requests_per_minute": FAST,
        "retry_budget_seconds": 60.0,
        "request_timeout_seconds": 10.0,
        "export_poll_seconds": 0.05,  # the emulator's exports are ready within 50 ms
    }
    table.update(overrides)
    return table


def cxone_target(platforms: Platforms, **overrides: object) -> dict[str, object]:
    """A `[[target]]` table for the emulator's CXone group."""
    from dncsync.emulator import DEFAULT_TENANT_ID

    table: dict[str, object] = {
        "name": "cxone-e2e",
        "platform": "cxone",
        "base_url": platforms.base_url,
        "tenant_id": DEFAULT_TENANT_ID,
        "dnc_group_id": platforms.group_id,
        "access_key_id_env": "E2E_ACCESS_KEY_ID",
        "access_key_secret_env": "E2E_ACCESS_KEY_SECRET",
        "client_id_env": "E2E_CLIENT_ID",
        "client_secret_env": "E2E_CLIENT_SECRET",
        "requests_per_minute": FAST,
        "retry_budget_seconds": 60.0,
        "request_timeout_seconds": 10.0,
    }
    table.update(overrides)
    return table


def write_config(
    folder: Path,
    targets: Sequence[Mapping[str, object]],
    *,
    source: str = "source.csv",
    state: str = "state/dncsync.db",
    extra: str = "",
    sources: Mapping[str, str] | None = None,
) -> Path:
    """A dncsync.toml in `folder`: the sources ({name: url}; default one, "optouts"), the
    given targets, the state under `state/`."""
    lines = ["[state]", f"path = {toml_value(state)}", ""]
    for name, url in (sources or {"optouts": source}).items():
        lines += ["[[source]]", f"name = {toml_value(name)}", f"url = {toml_value(url)}", ""]
    for target in targets:
        lines.append("[[target]]")
        lines += [f"{key} = {toml_value(value)}" for key, value in target.items()]
        lines.append("")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "dncsync.toml"
    path.write_text("\n".join(lines) + extra, encoding="utf-8")
    return path


def list_key(config: Path, target: str) -> str:
    """The key a target's list is kept under in the state store: the list's identity."""
    from dncsync import config as config_module
    from dncsync.platforms import platform_of

    parsed, _ = config_module.load(config)
    (chosen,) = parsed.targets_named(target)
    return platform_of(chosen).list_identity(chosen)


# --- the command ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Finished:
    """A finished `dncsync` subprocess."""

    code: int
    stdout: str
    stderr: str

    def summary(self) -> dict[str, Any]:
        """The `--format json` summary printed on stdout."""
        found: dict[str, Any] = json.loads(self.stdout)
        return found


def command(
    config: Path,
    *args: str,
    log_level: str | None = None,
    log_format: str = "json",
    output: str = "json",
) -> list[str]:
    """The argv of `dncsync [--log-level L --log-format F] sync --config C --format O ARGS`."""
    prefix = [sys.executable, "-m", "dncsync"]
    if log_level is not None:
        prefix += ["--log-level", log_level, "--log-format", log_format]
    return [*prefix, "sync", "--config", str(config), "--format", output, *args]


class Sync:
    """One `dncsync sync` subprocess, its output kept in files (no pipe can fill up)."""

    def __init__(self, argv: list[str], folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        index = len(list(folder.glob("out-*.txt")))
        self._out = folder / f"out-{index}.txt"
        self._err = folder / f"err-{index}.txt"
        with self._out.open("wb") as out, self._err.open("wb") as err:
            self.process = subprocess.Popen(
                argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=dict(os.environ)
            )

    def running(self) -> bool:
        """Whether the process is still alive."""
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no cleanup of any kind runs."""
        if self.running():
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def wait(self, timeout: float = 60.0) -> Finished:
        """Wait for the end; the exit code and the output."""
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise
        return Finished(
            code,
            self._out.read_text(encoding="utf-8", errors="replace"),
            self._err.read_text(encoding="utf-8", errors="replace"),
        )


def run_sync(
    config: Path,
    *args: str,
    log_level: str | None = None,
    log_format: str = "json",
    output: str = "json",
    timeout: float = 60.0,
) -> Finished:
    """Run `dncsync sync` to the end."""
    argv = command(config, *args, log_level=log_level, log_format=log_format, output=output)
    return Sync(argv, config.parent / "output").wait(timeout)


def poll(
    check: Callable[[], T | None],
    *,
    deadline_seconds: float,
    what: str,
    interval: float = 0.002,
    alive: Callable[[], bool] | None = None,
) -> T | None:
    """Call `check` until it answers something truthy, `alive` turns false, or the deadline.

    Returns None when `alive` turned false first (the caller decides what that means); the
    deadline is a failure.
    """
    deadline = time.monotonic() + deadline_seconds
    while True:
        found = check()
        if found:
            return found
        if alive is not None and not alive():
            return check() or None
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what} after {deadline_seconds:g} s")
        time.sleep(interval)
