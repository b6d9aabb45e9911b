"""`POST /v1/optouts` served straight from the ASGI interface (see `serve.taking`).

Every other request, and any this path does not recognise exactly, goes on to the app. The
body arrives whole: `BodyLimit` in front has read it, within the size limit.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from dncsync import logs
from dncsync.serve.taking import Answer, Taking, error

log = logs.logger("dncsync.serve")
_PATH = "/v1/optouts"


class FastIntake:
    """The intake route without the framework; the framework for everything else."""

    def __init__(self, app: ASGIApp, taking: Taking) -> None:
        self.app = app
        self.taking = taking

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != _PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        authorization: str | None = None
        key: str | None = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value.decode("latin-1")
            elif name == b"idempotency-key":
                key = value.decode("latin-1")
        body = b""
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away before its body arrived: nothing was taken
            body += message.get("body", b"")
            more = message.get("more_body", False)
        try:
            answer = await self.taking.post(authorization, body, key)
        except Exception as failed:  # one line and one JSON answer, never a traceback
            log.error("dnc.api_error", error=type(failed).__name__, detail=str(failed))
            answer = error(500, "internal_error", "the request failed; it was not taken")
        await _send(answer, send)


async def _send(answer: Answer, send: Send) -> None:
    headers = [(n.encode("latin-1"), v.encode("latin-1")) for n, v in answer.headers]
    headers.append((b"content-length", str(len(answer.body)).encode()))
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body})


__all__ = ["FastIntake"]
