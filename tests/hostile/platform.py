"""A small hostile platform: the emulator over a loopback socket, some answers made hostile.

`Hostile` is ASGI middleware added inside the emulator (as `tests/e2e/test_cxone_answers.py`
does): while its `scenario` is set, the requests that scenario concerns are answered by it
instead of by the platform; every other request, and every request once the scenario is
cleared (`hostile.scenario = None`, the honest platform of a following sync), reaches the
emulator as usual. Giant bodies are made as they are sent, never held, and `sent_bytes`
counts what actually went out.
"""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.types import ASGIApp, Receive, Scope, Send

GIANT_BYTES = 1_500_000_000  # what made a sync take 4.2 GB before answers were capped
CHUNK = 1 << 20

# Text a platform might put in an error message: rich markup, terminal escapes, a forged line.
HOSTILE_TEXT = "list [/x] is [bold]locked[/bold] \x1b[31;1mRED\x1b[0m \x1b]0;pwn\x07\r\nforged: OK"


@dataclass
class Hostile:
    """What the hostile platform does now; shared with the middleware (thread-safe)."""

    scenario: str | None = None
    sent_bytes: int = 0
    answered: list[str] = field(default_factory=list)  # "METHOD path" of each hostile answer
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, sent: int) -> None:
        """Add bytes a giant answer sent."""
        with self.lock:
            self.sent_bytes += sent


def _giant(request: Request, hostile: Hostile, size: int) -> AsyncIterator[bytes]:
    """`size` bytes of junk, made as they go; stops when the client has gone (the server
    would otherwise go on producing into a closed connection, and the count would lie)."""

    async def stream() -> AsyncIterator[bytes]:
        block = b"x" * CHUNK
        sent = 0
        while sent < size and not await request.is_disconnected():
            part = block if size - sent >= CHUNK else block[: size - sent]
            yield part
            sent += len(part)
            hostile.count(len(part))

    return stream()


def _export_lines(request: Request, hostile: Hostile, size: int) -> AsyncIterator[bytes]:
    """A well-formed export far above the cap: a header, then a block of numbers again and
    again (made once: the cap is met long before the numbers would be read)."""

    async def stream() -> AsyncIterator[bytes]:
        yield b"phone_number,date_added,expiration_date_time\n"
        block = b"".join(f"+1415{n:07d},2026-01-01T00:00Z,\n".encode() for n in range(25_000))
        sent = 0
        while sent < size and not await request.is_disconnected():
            yield block
            sent += len(block)
            hostile.count(len(block))

    return stream()


Scenario = Callable[[Request, Hostile], Response | None]


def _describe(request: Request) -> bool:
    parts = request.url.path.rstrip("/").split("/")
    return request.method == "GET" and len(parts) == 6 and parts[4] == "dnclists"


def _export_poll(request: Request) -> bool:
    return request.method == "GET" and request.url.path.endswith("/export")


def _download(request: Request) -> bool:
    return request.method == "GET" and request.url.path.startswith("/api/v2/downloads/")


def _export_answer(uri: object) -> JSONResponse:
    return JSONResponse({"uri": uri, "exportTimestamp": "2099-01-01T00:00:00Z"})


def _giant_describe(declared: bool) -> Scenario:
    def answer(request: Request, hostile: Hostile) -> Response | None:
        if not _describe(request):
            return None
        headers = {"Content-Length": str(GIANT_BYTES)} if declared else None
        return StreamingResponse(
            _giant(request, hostile, GIANT_BYTES), headers=headers, media_type="application/json"
        )

    return answer


def _giant_export(request: Request, hostile: Hostile) -> Response | None:
    if not _download(request):
        return None
    # Above the cap (1,000,000 numbers x 256 bytes), no Content-Length: read until the cap.
    return StreamingResponse(_export_lines(request, hostile, 257_000_000), media_type="text/csv")


def _export_csv(content: bytes) -> Scenario:
    def answer(request: Request, hostile: Hostile) -> Response | None:
        return Response(content, media_type="text/csv") if _download(request) else None

    return answer


def _export_link(uri: object) -> Scenario:
    def answer(request: Request, hostile: Hostile) -> Response | None:
        return _export_answer(uri) if _export_poll(request) else None

    return answer


def _redirect_download(location: str) -> Scenario:
    def answer(request: Request, hostile: Hostile) -> Response | None:
        return RedirectResponse(location, status_code=302) if _download(request) else None

    return answer


def _repeated_page(request: Request, hostile: Hostile) -> Response | None:
    if request.method != "GET" or not request.url.path.endswith("/records"):
        return None
    records = [{"recordId": i, "phoneNumber": f"41555526{i:02d}"} for i in range(10)]
    return JSONResponse({"resultSet": {"totalRecords": 10**9, "dncRecords": records}})


def _refusing_writes(status: int) -> Scenario:
    def answer(request: Request, hostile: Hostile) -> Response | None:
        if request.method != "PATCH" or not request.url.path.endswith("/phonenumbers"):
            return None
        body = {"status": status, "code": "bad.request", "message": HOSTILE_TEXT}
        return JSONResponse(body, status_code=status)

    return answer


def _refusing_list(request: Request, hostile: Hostile) -> Response | None:
    if not _describe(request):
        return None
    body = {"status": 400, "code": "dnc.source.operation.not.supported", "message": HOSTILE_TEXT}
    return JSONResponse(body, status_code=400)


SCENARIOS: dict[str, Scenario] = {
    "giant_declared": _giant_describe(declared=True),
    "giant_streamed": _giant_describe(declared=False),
    "giant_export": _giant_export,
    "export_not_utf8": _export_csv(b"phone_number,a,b\n+14155552671,,\n+1415\xff555267,,\n"),
    "export_giant_field": _export_csv(b"phone_number,a,b\n" + b"1" * 300_000 + b",,\n"),
    "export_link_not_a_url": _export_link({"href": "export.csv"}),
    "export_link_elsewhere": _export_link("https://storage.example.net/export.csv?sig=abc"),
    "export_redirect_elsewhere": _redirect_download("http://127.0.0.2:9/export.csv"),
    "pages_repeat": _repeated_page,
    "markup_in_batch_errors": _refusing_writes(400),
    "markup_in_fatal_error": _refusing_list,
}


class HostileMiddleware:
    """ASGI middleware inside the emulator: the scenario's requests get its answers."""

    def __init__(self, app: ASGIApp, hostile: Hostile) -> None:
        self.app = app
        self.hostile = hostile

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scenario = self.hostile.scenario
        if scope["type"] == "http" and scenario is not None:
            request = Request(scope, receive)
            response = SCENARIOS[scenario](request, self.hostile)
            if response is not None:
                with self.hostile.lock:
                    self.hostile.answered.append(f"{scope['method']} {scope['path']}")
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def body_of(response: Response) -> object:
    """A JSONResponse's body (for tests that look at an answer)."""
    return json.loads(bytes(response.body))


__all__ = ["GIANT_BYTES", "HOSTILE_TEXT", "SCENARIOS", "Hostile", "HostileMiddleware"]
