"""Test doubles for the network layer: a manual clock and a scripted platform (MockTransport)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import httpx


class ManualClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


Script = Callable[[httpx.Request], httpx.Response | Exception | None]


@dataclass
class ScriptedPlatform:
    """A token endpoint and an API that checks bearer tokens, with scriptable faults.

    `script` answers API requests first: return a Response or an Exception to inject a fault,
    or None to let the normal answer through.
    """

    token_lifetime: int = 3600
    refused: bool = False
    token_requests: list[dict[str, str]] = field(default_factory=list)
    api_requests: list[httpx.Request] = field(default_factory=list)
    valid_tokens: set[str] = field(default_factory=set)
    script: Script | None = None
    token_status: Iterator[int] = field(default_factory=lambda: itertools.repeat(200))
    _counter: Iterator[int] = field(default_factory=itertools.count)

    async def handle(self, request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0)  # let concurrent requests interleave, as over a network
        if request.url.path.endswith("/token"):
            return self._token(request)
        self.api_requests.append(request)
        if self.script is not None:
            scripted = self.script(request)
            if isinstance(scripted, Exception):
                raise scripted
            if scripted is not None:
                return scripted
        bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if bearer not in self.valid_tokens:
            return httpx.Response(401, json={"code": "bad.credentials", "status": 401})
        return httpx.Response(200, json={"ok": True})

    def _token(self, request: httpx.Request) -> httpx.Response:
        form = dict(httpx.QueryParams(request.content.decode()))
        form["authorization"] = request.headers.get("Authorization", "")
        self.token_requests.append(form)
        status = next(self.token_status)
        if status != 200:
            return httpx.Response(status, json={"error": "temporarily_unavailable"})
        if self.refused:
            return httpx.Response(
                401, json={"error": "invalid_client", "description": "client not found"}
            )
        if form.get("grant_type") == "refresh_token" and form.get("refresh_token") == "revoked":
            return httpx.Response(400, json={"error": "invalid_grant"})
        token = f"token-{next(self._counter)}"
        self.valid_tokens.add(token)
        return httpx.Response(
            200,
            json={
                "access_token": token,
                "token_type": "bearer",
                "expires_in": self.token_lifetime,
                "refresh_token": f"refresh-{token}",
            },
        )

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handle))
