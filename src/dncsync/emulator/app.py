"""The emulator's ASGI application: both platforms and the inspection API on one origin."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import Receive, Scope, Send

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
        await self._door(scope, receive, send)


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
