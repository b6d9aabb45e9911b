"""Serving the emulator over a real socket: in a background thread, or in the foreground.

`run_in_thread` is what the demo and every end-to-end test use: it binds the socket itself
(port 0 means a free one, with no window for another process to take it), so the base URL is
known before uvicorn starts, then waits until the server accepts connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn

from dncsync.emulator.app import EmulatorApp, create_app
from dncsync.emulator.settings import EmulatorSettings
from dncsync.emulator.state import EmulatorState

_START_DEADLINE_SECONDS = 10.0
Certificate = tuple[str, str]  # a PEM certificate (chain) file and its key file


class EmulatorStartError(RuntimeError):
    """The emulator did not start accepting connections in time."""


@dataclass(frozen=True)
class RunningEmulator:
    """A started emulator: where it listens and its in-memory world."""

    base_url: str  # e.g. http://127.0.0.1:54321, no trailing slash
    app: EmulatorApp

    @property
    def state(self) -> EmulatorState:
        """The in-memory world (data, request log, helpers), shared with the server thread."""
        return self.app.emulator

    @property
    def settings(self) -> EmulatorSettings:
        """The settings the emulator runs with."""
        return self.app.emulator.settings


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (port 0 picks a free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted sockets only when the
    # listener says TCP, and without it every answer waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def base_url_of(sock: socket.socket, scheme: str = "http") -> str:
    """The URL a bound socket serves."""
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}:{port}"


class QuickServer(uvicorn.Server):
    """A uvicorn server that stops in milliseconds, so tests can start hundreds of them.

    uvicorn polls for exit every 0.1 s and sleeps another 0.1 s while shutting down; a test
    suite starting an emulator per test would spend most of its time there. Here the main
    loop waits on an event that `request_stop` sets from any thread, and shutdown polls the
    open connections every few milliseconds (still bounded by the graceful timeout).
    """

    _wake: asyncio.Event | None = None
    _loop: asyncio.AbstractEventLoop | None = None

    async def main_loop(self) -> None:
        """Wait for a stop request, refreshing uvicorn's Date header every second."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        while not await self.on_tick(0):  # tick 0 refreshes the Date header
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 1.0)

    def handle_exit(self, sig: int, frame: object) -> None:
        """SIGINT/SIGTERM in the foreground: stop now, and exit cleanly afterwards.

        uvicorn re-raises a captured signal once it has stopped; a stopped emulator has
        nothing left to do, so the command ends with status 0 instead.
        """
        if self.should_exit:
            self.force_exit = True  # a second signal: stop waiting for answers in flight
        self.request_stop()

    def request_stop(self) -> None:
        """Ask the server to stop (thread-safe)."""
        self.should_exit = True
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop already closed
                loop.call_soon_threadsafe(wake.set)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Close the listeners and connections, waiting briefly for answers in flight."""
        for listener in self.servers:
            listener.close()
        state = self.server_state
        for connection in list(state.connections):
            connection.shutdown()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (self.config.timeout_graceful_shutdown or 0)
        while (state.connections or state.tasks) and loop.time() < deadline:
            await asyncio.sleep(0.005)
        for task in list(state.tasks):
            task.cancel()
        for listener in self.servers:
            await listener.wait_closed()


def uvicorn_server(app: EmulatorApp, certificate: Certificate | None = None) -> QuickServer:
    """A quiet uvicorn server for the app (no access log, no logging configuration); https
    with `certificate` (its PEM certificate chain file and key file)."""
    config = uvicorn.Config(
        app,
        http="h11",  # the cut fault relies on h11's transport handling; httptools may be absent
        loop="asyncio",
        lifespan="off",
        log_config=None,
        access_log=False,
        date_header=False,  # the app dates each answer by the emulator's clock
        timeout_graceful_shutdown=2,
        timeout_keep_alive=5,
        ssl_certfile=None if certificate is None else certificate[0],
        ssl_keyfile=None if certificate is None else certificate[1],
    )
    return QuickServer(config)


@contextmanager
def run_in_thread(
    settings: EmulatorSettings | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    certificate: Certificate | None = None,
) -> Iterator[RunningEmulator]:
    """Serve an emulator on host:port in a background thread until the block exits; over
    https with `certificate` (tests of TLS verification), else http."""
    app = create_app(settings)
    sock = bind(host, port)
    server = uvicorn_server(app, certificate)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="dncsync-emulator", daemon=True
    )
    thread.start()
    try:
        _wait_until_started(server, thread)
        yield RunningEmulator(base_url_of(sock, "http" if certificate is None else "https"), app)
    finally:
        server.request_stop()
        thread.join(timeout=10)
        sock.close()


def _wait_until_started(server: uvicorn.Server, thread: threading.Thread) -> None:
    deadline = time.monotonic() + _START_DEADLINE_SECONDS
    while not server.started:
        if not thread.is_alive():
            raise EmulatorStartError("the emulator server thread stopped while starting")
        if time.monotonic() > deadline:
            raise EmulatorStartError(f"the emulator did not start in {_START_DEADLINE_SECONDS:g} s")
        time.sleep(0.005)


def serve_forever(
    settings: EmulatorSettings, sock: socket.socket, on_started: Callable[[str], None]
) -> None:
    """Serve on an already-bound socket in this thread until SIGINT or SIGTERM."""
    server = uvicorn_server(create_app(settings))
    url = base_url_of(sock)

    async def announce() -> None:
        while not server.started and not server.should_exit:
            await asyncio.sleep(0.005)
        if server.started:
            on_started(url)

    async def run() -> None:
        announcer = asyncio.create_task(announce())
        try:
            await server.serve(sockets=[sock])
        finally:
            announcer.cancel()

    try:
        asyncio.run(run())
    finally:
        sock.close()
