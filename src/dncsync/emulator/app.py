"""The emulator's ASGI application: both platforms and the inspection API on one origin."""

from __future__ import annotations

from email.utils import formatdate

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import Message, Receive, Scope, Send

from dncsync.emulator import answers, cxone_api, genesys_api, inspection_api
from dncsync.emulator.front_door import FrontDoor, platform_of
from dncsync.emulator.settings import EmulatorSettings
from dncsync.emulator.state import EmulatorState


class EmulatorApp(Starlette):
    """A Starlette app whose every request passes the front door first."""

    def __init__(self, state: EmulatorState, routes: list[BaseRoute]) -> None:
        super().__init__(
            routes=routes,
            exception_handlers={404: _no_route, 405: _no_route},
        )
        self.state.emulator = state
        self._door = FrontDoor(super().__call__, state)

    @property
    def emulator(self) -> EmulatorState:
        """The in-memory world: data, tokens, the request log, and test helpers."""
        found = self.state.emulator
        assert isinstance(found, EmulatorState)
        return found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._door(scope, receive, send)
            return
        # Every answer carries `Date` from the emulator's own clock, as a platform's carries
        # its own: a test can set the platform's clock apart from the client's.
        stamp = formatdate(self.emulator.now_seconds(), usegmt=True).encode("ascii")
        await self._door(scope, receive, _Dated(send, stamp))


class _Dated:
    """A `send` that sets the answer's `Date` header."""

    def __init__(self, send: Send, stamp: bytes) -> None:
        self._send = send
        self._stamp = stamp
        # The cut fault aborts the socket behind the server's own `send` (front_door._cut).
        self.server_send = getattr(send, "server_send", send)

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"date"]
            message = {**message, "headers": [*headers, (b"date", self._stamp)]}
        await self._send(message)


async def _no_route(request: Request, error: Exception) -> Response:
    """Unknown paths answer in the platform's own words."""
    status = error.status_code if isinstance(error, HTTPException) else 404
    message = f"No resource {request.method} {request.url.path}"
    platform = platform_of(request.url.path)
    ctx = answers.context(request)
    if platform == "genesys":
        code = "not.found" if status == 404 else "bad.request"
        return answers.genesys_error(status, code, message, ctx.correlation_id)
    return answers.cxone_error(status, "NotFound" if status == 404 else "MethodNotAllowed", message)


def create_app(settings: EmulatorSettings | None = None) -> EmulatorApp:
    """Build an emulator from its settings (defaults: fault-free, 300/min, test credentials)."""
    state = EmulatorState(settings or EmulatorSettings())
    routes: list[BaseRoute] = [*genesys_api.routes, *cxone_api.routes, *inspection_api.routes]
    return EmulatorApp(state, routes)
