"""Serving the emulator over a real socket: in a background thread, or in the foreground.

`run_in_thread` is what the demo and every end-to-end test use: it binds the socket itself
(port 0 means a free one, with no window for another process to take it), so the base URL is
known before uvicorn starts, then waits until the server accepts connections.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn

from dncsync.emulator.app import EmulatorApp, create_app
from dncsync.emulator.settings import EmulatorSettings
from dncsync.emulator.state import EmulatorState

_START_DEADLINE_SECONDS = 10.0


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
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def base_url_of(sock: socket.socket) -> str:
    """The http URL a bound socket serves."""
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def uvicorn_server(app: EmulatorApp) -> uvicorn.Server:
    """A quiet uvicorn server for the app (no access log, no logging configuration)."""
    config = uvicorn.Config(
        app,
        http="h11",  # the cut fault relies on h11's transport handling; httptools may be absent
        loop="asyncio",
        lifespan="off",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=2,
        timeout_keep_alive=5,
    )
    return uvicorn.Server(config)


@contextmanager
def run_in_thread(
    settings: EmulatorSettings | None = None, *, host: str = "127.0.0.1", port: int = 0
) -> Iterator[RunningEmulator]:
    """Serve an emulator on host:port in a background thread until the block exits."""
    app = create_app(settings)
    sock = bind(host, port)
    server = uvicorn_server(app)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="dncsync-emulator", daemon=True
    )
    thread.start()
    try:
        _wait_until_started(server, thread)
        yield RunningEmulator(base_url_of(sock), app)
    finally:
        server.should_exit = True
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
