"""`dncsync serve`'s process: the API on uvicorn, the pusher, one sealed run per period.

    start: keys read, intake store opened, the API listening (loopback unless told)
    loop:  a `Run` ("serve") per `run_seconds`, each target's pusher inside it; the run is
           sealed with its report (requests received, held, pending, past deadline)
    timed: a collection per target with `collect = true` every `collect_every`, a watch per
           source with a `schedule` (`serve.schedules`), each job a run of its own
    stop:  SIGTERM or SIGINT -> new opt-outs refused (503) and the listener closed, the
           requests in hand answered; pushing goes on until nothing is pending, at most
           `drain_seconds`: exit 0, or 143 with the pending count (they are sent after the
           next start: nothing answered 202 is lost)

A SIGKILLed serve leaves its run `running` with its lock released: the next process to open
the state marks it `interrupted` (`state.sqlite.StateStore._settle_dead_runs`).

Replicas on one PostgreSQL state (`[state] url`, docs/deploy.md) each run this same loop:
they claim intake work without overlap and push one list at a time between them
(`state.postgres_intake`, `state.postgres`). A replica that stops leaves what it had not
pushed to the others; its drain counts what is still open on the shared state.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import uvicorn

from dncsync import logs, wiring
from dncsync.alerts import Alerter, while_serving
from dncsync.config import Config, ServeConfig
from dncsync.errors import ConfigError, DncsyncError
from dncsync.intake import rfc3339
from dncsync.privacy import mask_phone
from dncsync.run.lifecycle import Run
from dncsync.serve import schedules
from dncsync.serve.app import ApiSettings, build_asgi
from dncsync.serve.keys import read_keys
from dncsync.serve.metrics import ServeMetrics
from dncsync.serve.pusher import TargetPusher
from dncsync.serve.sms import SmsSettings
from dncsync.state.intake import IntakeStats, IntakeStore
from dncsync.storage import open_intake

log = logs.logger("dncsync.serve")

TERMINATED_EXIT = 143  # the contract's code for a drain that ran out of time, either signal


@dataclass(frozen=True, slots=True)
class ServeEnd:
    """How the process ended: its exit code, what was still pending, a line to print."""

    code: int
    pending: int
    message: str


@dataclass(slots=True)
class Serving:
    """The state the API asks about: the current run, its pushers, whether it takes more."""

    intake: IntakeStore
    zone: ZoneInfo
    accepting: bool = True
    run: Run | None = None
    pushers: dict[str, TargetPusher] = field(default_factory=dict)

    def accepted(self, count: int) -> None:
        """New requests committed: tell every target's pusher."""
        for pusher in self.pushers.values():
            pusher.accepted(count)

    def holdings(self, phone: str) -> dict[str, bool | None]:
        """Per target, whether its list's snapshot holds the number."""
        found: dict[str, bool | None] = {}
        for name, pusher in self.pushers.items():
            key = pusher.outcome.key if pusher.outcome is not None else None
            if self.run is None or key is None:
                found[name] = None
                continue
            found[name] = phone in self.run.store.holding(key, [phone])
        return found

    def ready(self) -> tuple[bool, dict[str, Any]]:
        """State reachable, targets configured and opened."""
        checks: dict[str, Any] = {
            "intake_store": self.intake.reachable(),
            "accepting": self.accepting,
            "targets": {
                name: "ready" if p.ready else (p.error or "starting")
                for name, p in self.pushers.items()
            },
        }
        ready = (
            checks["intake_store"]
            and self.accepting
            and bool(self.pushers)
            and all(p.ready for p in self.pushers.values())
        )
        return ready, checks

    def recording(self) -> contextlib.AbstractContextManager[None]:
        """Events logged in the block reach the current run's audit log."""
        return self.run.recording() if self.run is not None else contextlib.nullcontext()

    def today(self) -> date:
        """Today where requests are received (their deadlines are counted there)."""
        return datetime.now(self.zone).date()

    def stats(self) -> IntakeStats:
        """The intake's figures as of now."""
        return self.intake.stats(self.today())


_LISTED_PER_STATE = 500  # a report lists at most this many requests of each state


def requests_by_state(intake: IntakeStore, since: datetime) -> dict[str, list[dict[str, Any]]]:
    """The report's list: every request still open, and those received during the run, by
    state, phones masked."""
    listed: dict[str, list[dict[str, Any]]] = {}
    for request in intake.listing(limit=20_000):
        state = request["status"]
        is_open = state in ("pending", "failed")
        if not is_open and request["received_at"] < rfc3339(since):
            continue
        bucket = listed.setdefault(state, [])
        if len(bucket) < _LISTED_PER_STATE:
            bucket.append(
                {
                    "id": request["id"],
                    "phone": mask_phone(request["phone"]),
                    "received_at": request["received_at"],
                    "deadline": request["deadline"],
                    "targets": {n: t["status"] for n, t in request["targets"].items()},
                }
            )
    return listed


def texts_kept(intake: IntakeStore) -> dict[str, Any]:
    """The report's texts: how many of each kind, and those a person must review (masked;
    the words themselves stay in the intake store, behind `GET /v1/sms/texts`)."""
    counts = intake.text_counts()
    if not counts:
        return {}
    return {
        "sms_texts": counts,
        "sms_for_review": [
            {"sid": t["sid"], "phone": mask_phone(t["phone"]), "received_at": t["received_at"]}
            for t in intake.texts("review", _LISTED_PER_STATE)
        ],
    }


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound here so a taken port is one clear line (exit 3)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        listener = socket.socket(family, kind, proto)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
        listener.listen(4096)
    except OSError as error:
        raise ConfigError(
            f"serve: cannot listen on {host}:{port}: {error.strerror or error} (is the port "
            "in use, or the address not this machine's?)"
        ) from None
    listener.setblocking(False)
    return listener


def _quiet_uvicorn() -> None:
    """uvicorn's own loggers print tracebacks on stderr through Python's last-resort handler
    when nothing is configured; serve logs its own one-line events instead."""
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        quiet = logging.getLogger(name)
        quiet.handlers = [logging.NullHandler()]
        quiet.propagate = False


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the serve process drains first."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def serve(
    config: Config,
    base: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    transport: httpx.AsyncBaseTransport | None = None,
) -> ServeEnd:
    """Serve until SIGTERM or SIGINT; returns how it ended (0, or 143 with pending)."""
    settings = config.serve or ServeConfig()
    keys = read_keys(settings.api_keys_env)
    sms = None if settings.sms is None else SmsSettings.read(settings.sms, settings.public_url)
    targets = config.targets_named(None)
    alerter = Alerter.configured(config, base)  # its secrets read before listening
    with asyncio.Runner(loop_factory=_event_loop()) as runner:
        return runner.run(
            _serve(config, base, settings, keys, sms, alerter, targets, host, port, transport)
        )


def _event_loop() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop where it is installed (not on Windows), else asyncio's own."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


async def _serve(
    config: Config,
    base: Path,
    settings: ServeConfig,
    keys: tuple[bytes, ...],
    sms: SmsSettings | None,
    alerter: Alerter | None,
    targets: list[Any],
    host: str,
    port: int,
    transport: httpx.AsyncBaseTransport | None,
) -> ServeEnd:
    _quiet_uvicorn()
    zone = ZoneInfo(settings.timezone)
    intake = open_intake(config, base, {t.name: t.scopes for t in targets if t.intake})
    intake.start()
    try:
        await asyncio.wrap_future(intake.ensure_targets())
        serving = Serving(intake, zone)
        metrics = ServeMetrics(serving.stats, serving.today)
        policy = wiring.policy(config)
        api = ApiSettings(
            keys,
            zone,
            settings.default_region,
            policy,
            settings.max_body_bytes,
            settings.rate_per_second,
            sms,
        )
        app = build_asgi(api, intake, serving, metrics)
        server = _Server(
            uvicorn.Config(
                app,
                host=host,
                port=port,
                log_config=None,
                access_log=False,  # paths hold request ids only, but quiet is safer
                lifespan="off",
                timeout_graceful_shutdown=max(1, round(settings.drain_seconds)),
            )
        )
        stop = asyncio.Event()
        received: list[int] = []
        loop = asyncio.get_running_loop()

        def on_signal(signum: int) -> None:
            received.append(signum)
            stop.set()

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, on_signal, sig)
        listener = _listen(host, port)
        listening = asyncio.create_task(server.serve(sockets=[listener]))
        while not server.started:
            if listening.done():
                raise ConfigError(f"serve: the server on {host}:{port} stopped as it started")
            await asyncio.sleep(0.01)
        bound = listener.getsockname()
        print(f"dncsync serve: listening on http://{bound[0]}:{bound[1]}", file=sys.stderr)
        sys.stderr.flush()
        log.info("dnc.serve_started", host=bound[0], port=bound[1], targets=len(targets))
        alerting = None
        if alerter is not None:
            alerting = asyncio.create_task(_watch(alerter, serving, settings, metrics, stop))
        scheduled = _scheduled(config, base, serving, stop, transport)
        ended: ServeEnd | None = None
        try:
            while ended is None:
                ended = await _one_run(
                    config,
                    base,
                    settings,
                    serving,
                    metrics,
                    policy,
                    transport,
                    stop,
                    received,
                    server,
                    listening,
                    alerter,
                )
        finally:
            # No new timed job (also when leaving on an error); one under way runs to its end
            # in its thread (the process could not exit before it anyway), and the intake
            # store stays open for it.
            stop.set()
            await asyncio.gather(*scheduled, return_exceptions=True)
        if alerting is not None:
            await alerting
        return ended
    finally:
        intake.close()


def _scheduled(
    config: Config,
    base: Path,
    serving: Serving,
    stop: asyncio.Event,
    transport: httpx.AsyncBaseTransport | None,
) -> list[asyncio.Task[None]]:
    """The timed jobs (`serve.schedules`): a collector per target with `collect = true`, a
    watch per source with a `schedule`; they end once `stop` is set."""
    gate = asyncio.Lock()
    jobs = [
        schedules.collecting(
            config, base, t, serving.intake, serving.accepted, stop.is_set, gate, transport
        )
        for t in config.target
        if t.collect
    ]
    jobs += [
        schedules.watching(config, base, source, serving.intake, stop.is_set, gate, transport)
        for source in config.source
        if source.schedule is not None
    ]
    return [asyncio.create_task(job) for job in jobs]


async def _watch(
    alerter: Alerter,
    serving: Serving,
    settings: ServeConfig,
    metrics: ServeMetrics,
    stop: asyncio.Event,
) -> None:
    """Every `alert_check_seconds`: opt-outs pending past half their deadline, targets whose
    pushes keep failing. Sending happens in a thread: the API never waits on a webhook."""
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), settings.alert_check_seconds)
        if stop.is_set():
            return
        try:
            pending = serving.intake.open_requests()
            streaks = [
                (name, p.failures_in_a_row, p.error or "pushes failed")
                for name, p in serving.pushers.items()
            ]
            now = datetime.now(UTC)
            found = functools.partial(while_serving, pending, streaks, now, serving.zone)
            with serving.recording():
                done = await asyncio.to_thread(alerter.send, found, now)
            for delivery in done:
                metrics.alerts.labels(delivery.alert.condition.value, delivery.result).inc()
        except DncsyncError as error:  # the ledger unreadable: said, and tried again later
            log.error("dnc.alert_failed", error=str(error))


async def _one_run(
    config: Config,
    base: Path,
    settings: ServeConfig,
    serving: Serving,
    metrics: ServeMetrics,
    policy: Any,
    transport: httpx.AsyncBaseTransport | None,
    stop: asyncio.Event,
    received: list[int],
    server: _Server,
    listening: asyncio.Task[None],
    alerter: Alerter | None,
) -> ServeEnd | None:
    """One sealed run: pushers until the period ends (None) or a signal (how it ended)."""
    with Run(config, base, "serve", signals=False, alerts=False) as run:
        started_at = datetime.now(UTC)
        serving.run = run
        ending = False
        draining = False
        pushers = {
            target.name: TargetPusher(
                target,
                run,
                serving.intake,
                policy,
                metrics,
                settings.flush_seconds,
                settings.max_batch or target.batch_size,
                transport,
            )
            for target in run.targets
            if target.intake
        }
        serving.pushers = pushers
        tasks = [
            asyncio.create_task(p.serve(lambda: ending, lambda: draining)) for p in pushers.values()
        ]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), settings.run_seconds)
        result: ServeEnd | None = None
        if stop.is_set():
            serving.accepting = False
            server.should_exit = True
            signalled = time.monotonic()
            # The listener closes and the requests in hand are answered first (their opt-outs
            # are then pending too); that time counts within drain_seconds.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(listening), settings.drain_seconds)
            draining = True
            left = max(0.0, settings.drain_seconds - (time.monotonic() - signalled))
            late: set[asyncio.Task[None]] = set()
            if tasks:
                _, late = await asyncio.wait(tasks, timeout=left)
            ending = True
            for task in late:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            pending = serving.intake.open_count()
            signum = received[0] if received else signal.SIGTERM
            if pending:
                run.interrupted = signum
                result = ServeEnd(
                    TERMINATED_EXIT,
                    pending,
                    f"dncsync serve: stopped by {signal.Signals(signum).name} with {pending} "
                    f"opt-out deliveries still pending after {settings.drain_seconds:g} s of "
                    "draining; they are committed and are sent when serve starts again (or by "
                    "another replica sharing the state)",
                )
            else:
                result = ServeEnd(
                    0,
                    0,
                    f"dncsync serve: stopped by {signal.Signals(signum).name}; "
                    "every opt-out received is held on every target",
                )
        else:
            ending = True
            await asyncio.gather(*tasks, return_exceptions=True)
        stats = serving.intake.stats(serving.today())
        own = serving.intake.stats(serving.today(), since=started_at)
        run.result.intake = {
            **stats.as_dict(),
            "received_this_run": own.requests,
            "held_this_run": own.by_status.get("held", 0),
            "requests_by_state": requests_by_state(serving.intake, started_at),
            **texts_kept(serving.intake),
        }
        log.info("dnc.serve_run_ended", run=run.id, pending=stats.by_status.get("pending", 0))
    serving.run = None
    if alerter is not None:  # the run's end, as sync's: in a thread, the API keeps answering
        try:
            done = await asyncio.to_thread(alerter.after_run, run.result, run.today)
            for delivery in done:
                metrics.alerts.labels(delivery.alert.condition.value, delivery.result).inc()
        except DncsyncError as error:
            log.error("dnc.alert_failed", error=str(error))
    if result is not None:
        log.info("dnc.serve_stopped", code=result.code, pending=result.pending)
    return result


__all__ = ["ServeEnd", "Serving", "serve"]
