"""How each platform words a refusal, and the per-request context the handlers share.

Genesys errors have one documented shape (the SDK's `ErrorBody`); CXone's vary, and the
emulator uses OAuth's `{error, error_description}` for all of them (a choice; PLATFORMS.md).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import Scope

CONTEXT_KEY = "dncsync.emulator"

_GENESYS_5XX = {500: "internal.server.error", 502: "bad.gateway", 503: "service.unavailable"}


@dataclass(slots=True)
class RequestContext:
    """What the front door learned about a request, for the handlers and the log."""

    platform: str
    correlation_id: str
    body: bytes
    caller: str | None = None
    extra_headers: dict[str, str] = field(default_factory=dict)


def context(source: Request | Scope) -> RequestContext:
    """The context the front door attached to this request."""
    scope = source.scope if isinstance(source, Request) else source
    found = scope[CONTEXT_KEY]
    assert isinstance(found, RequestContext)
    return found


def genesys_error_body(
    status: int, code: str, message: str, correlation_id: str
) -> dict[str, object]:
    """A Genesys `ErrorBody`."""
    return {
        "message": message,
        "code": code,
        "status": status,
        "messageWithParams": message,
        "messageParams": {},
        "contextId": correlation_id,
        "details": [],
        "errors": [],
    }


def genesys_error(
    status: int,
    code: str,
    message: str,
    correlation_id: str,
    headers: dict[str, str] | None = None,
) -> Response:
    """A Genesys error answer."""
    return JSONResponse(
        genesys_error_body(status, code, message, correlation_id), status, headers=headers
    )


def genesys_server_error(status: int, correlation_id: str) -> Response:
    """An injected Genesys 5xx."""
    code = _GENESYS_5XX.get(status, "internal.server.error")
    return genesys_error(status, code, f"Injected fault: {code}", correlation_id)


def cxone_error(
    status: int, error: str, description: str, headers: dict[str, str] | None = None
) -> Response:
    """A CXone error answer."""
    return JSONResponse({"error": error, "error_description": description}, status, headers=headers)


def cxone_not_renderable() -> Response:
    """Choice: 406 text/plain, what CXone's Admin API says without `Accept: application/json`."""
    return PlainTextResponse("No known way to render data", 406)


def basic_credentials(request: Request) -> tuple[str, str] | None:
    """The (user, password) of an `Authorization: Basic` header; None when absent or malformed."""
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:].strip()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, password
