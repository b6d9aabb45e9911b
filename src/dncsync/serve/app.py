"""The intake API (FastAPI): opt-outs in, their status and a number's check out.

    POST   /v1/optouts            one opt-out, or {"optouts": [...]} (up to 1,000): 202
    GET    /v1/optouts/{id}       the request and, per target, pending/held/failed/skipped
    DELETE /v1/optouts/{id}       an audited withdrawal (consent given back)
    POST   /v1/numbers/lookup     is this number blocked everywhere? (a POST: no number in a URL)
    GET    /healthz /readyz /metrics /openapi.json
    POST   /v1/webhooks/twilio    with [serve.sms]: texted opt-outs, signed (`serve.sms`)
    GET    /v1/sms/texts          with [serve.sms]: texts kept for review, START/UNSTOP

Every /v1/ route needs `Authorization: Bearer KEY` (but the webhook, which is signed); a 202
is sent only once the request is committed to the intake store. Errors are one JSON object,
`{"error": code, "reason": text}`, never a traceback. No phone number goes to a log unmasked,
and no key at all.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dncsync import logs
from dncsync.intake import OptOut
from dncsync.model import Strictness
from dncsync.phone import normalize
from dncsync.serve.backend import ApiSettings, Backend
from dncsync.serve.fast import FastIntake
from dncsync.serve.metrics import ServeMetrics
from dncsync.serve.openapi import (
    ERRORS,
    LOOKUP_BODY,
    OPTOUT_ANSWER,
    OPTOUT_BODY,
    REQUEST_ANSWER,
    WITHDRAW_BODY,
)
from dncsync.serve.sms import add_sms_routes
from dncsync.serve.taking import Answer, Taking
from dncsync.state.intake import Idempotency, IntakeStore

log = logs.logger("dncsync.serve")


def _error(status: int, error: str, reason: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": error, "reason": reason}, status_code=status, headers=headers)


def _response(answer: Answer) -> Response:
    return Response(answer.body, status_code=answer.status, headers=dict(answer.headers))


class BodyLimit:
    """Refuse a body larger than the limit with 413, before it is read into memory."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    too_big = int(value) > self.limit
                except ValueError:
                    too_big = False
                if too_big:
                    await self._refuse(scope, receive, send)
                    return
        # Read the body here, at most the limit (a chunked body has no length to trust),
        # then hand it on in one piece.
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.limit:
                await self._refuse(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        answer = _error(413, "body_too_large", f"the body is larger than {self.limit} bytes")
        await answer(scope, receive, send)


def build_app(
    settings: ApiSettings,
    intake: IntakeStore,
    backend: Backend,
    metrics: ServeMetrics,
    *,
    clock: Callable[[], float] = time.monotonic,
) -> FastAPI:
    """The ASGI app."""
    app = FastAPI(
        title="dncsync intake",
        version="1",
        description="Opt-outs in; each held on every platform within seconds, and its "
        "10-business-day deadline kept (docs/serve.md).",
        docs_url=None,
        redoc_url=None,
    )
    taking = Taking(settings, intake, backend, metrics, clock)
    app.state.taking = taking

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0] if error.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return _error(422, "invalid_request", f"{where}: {first.get('msg', 'invalid')}")

    @app.exception_handler(Exception)
    async def _bug(_request: Request, error: Exception) -> JSONResponse:
        # One line in the log, one JSON answer: never a traceback to the caller or stderr.
        log.error("dnc.api_error", error=type(error).__name__, detail=str(error))
        return _error(500, "internal_error", "the request failed; it was not taken")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "error")
        return _error(error.status_code, code, str(error.detail))

    async def guarded(request: Request, handle: Callable[[str], Awaitable[Response]]) -> Response:
        """The key checked, the rate limit applied, then the handler."""
        owner = taking.owner(request.headers.get("authorization"))
        if isinstance(owner, Answer):
            return _response(owner)
        return await handle(owner)

    async def json_body(request: Request) -> tuple[Any, bytes] | JSONResponse:
        raw = await request.body()
        try:
            return json.loads(raw), raw
        except (ValueError, UnicodeDecodeError):
            return _error(400, "invalid_json", "the body is not a JSON document")

    async def text_field(request: Request, name: str, limit: int, what: str) -> str | Response:
        """One required string field of a JSON object body, or the error answer."""
        parsed = await json_body(request)
        if isinstance(parsed, JSONResponse):
            return parsed
        body, _ = parsed
        value = body.get(name) if isinstance(body, dict) else None
        if not isinstance(value, str) or not value.strip() or len(value) > limit:
            return _error(422, "invalid_request", f"{name}: required, {what}")
        return value.strip()

    @app.post(
        "/v1/optouts",
        status_code=202,
        summary="Take in one opt-out, or up to 1,000",
        openapi_extra={"requestBody": OPTOUT_BODY},
        responses={202: OPTOUT_ANSWER, **ERRORS},
    )
    async def post_optouts(request: Request) -> Response:
        # Served by `FastIntake` in front of this app; this route gives the same answers
        # (one `Taking`) to anything that reaches the app directly, and the OpenAPI entry.
        answer = await taking.post(
            request.headers.get("authorization"),
            await request.body(),
            request.headers.get("idempotency-key"),
        )
        return _response(answer)

    async def take_one(optout: OptOut, idempotency: Idempotency | None) -> str | Response:
        taken = await taking.take_one(optout, idempotency)
        return _response(taken) if isinstance(taken, Answer) else taken

    if settings.sms is not None:
        add_sms_routes(
            app,
            settings.sms,
            intake,
            take_one,
            taking.read_one,
            guarded,
            metrics,
            backend.recording,
        )

    @app.get(
        "/v1/optouts/{request_id}",
        summary="A request and, per target, its status",
        responses={200: REQUEST_ANSWER, **ERRORS},
    )
    async def get_optout(request_id: str, request: Request) -> Response:
        async def handle(_owner: str) -> Response:
            found = intake.request(request_id)
            if found is None:
                return _error(404, "not_found", "no opt-out request with this id")
            return JSONResponse(found)

        return await guarded(request, handle)

    @app.delete(
        "/v1/optouts/{request_id}",
        summary="Withdraw a request: the consumer gave consent back (audited)",
        openapi_extra={"requestBody": WITHDRAW_BODY},
        responses={200: REQUEST_ANSWER, **ERRORS},
    )
    async def delete_optout(request_id: str, request: Request) -> Response:
        async def handle(_owner: str) -> Response:
            reason = await text_field(request, "reason", 500, "why the consent was given back")
            if isinstance(reason, Response):
                return reason
            done = await asyncio.wrap_future(intake.withdraw(request_id, reason))
            if done is None:
                return _error(404, "not_found", "no opt-out request with this id")
            if done:
                with backend.recording():
                    log.warning("dnc.optout_withdrawn", request=request_id, reason=reason)
            found = intake.request(request_id)
            return JSONResponse(found)

        return await guarded(request, handle)

    @app.post(
        "/v1/numbers/lookup",
        summary="Is this number blocked on every target? The check before a call",
        openapi_extra={"requestBody": LOOKUP_BODY},
        responses={200: {"description": "The number's status per target"}, **ERRORS},
    )
    async def lookup(request: Request) -> Response:
        async def handle(_owner: str) -> Response:
            phone = await text_field(request, "phone", 200, "a phone number in any form")
            if isinstance(phone, Response):
                return phone
            verdict = normalize(phone, settings.region, Strictness.VALID)
            if verdict.e164 is None:
                assert verdict.reject is not None
                return _error(422, "invalid_phone", verdict.reject.value)
            return JSONResponse(_lookup(verdict.e164, intake, backend))

        return await guarded(request, handle)

    @app.get("/healthz", summary="The process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz",
        summary="State reachable and targets configured",
        responses={503: {"description": "Not ready: see the checks"}},
    )
    async def readyz() -> Response:
        ready, checks = backend.ready()
        return JSONResponse(
            {"status": "ready" if ready else "not_ready", "checks": checks},
            status_code=200 if ready else 503,
        )

    @app.get(
        "/metrics",
        summary="Prometheus metrics (no phone numbers)",
        response_class=PlainTextResponse,
        responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
    )
    async def metrics_text() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app


def _lookup(phone: str, intake: IntakeStore, backend: Backend) -> dict[str, Any]:
    """A number's status on every target, and the requests that asked for it."""
    requests = [r for r in intake.requests_for(phone)]
    live = [r for r in requests if r["status"] != "withdrawn"]
    targets: dict[str, dict[str, Any]] = {}
    for name, held in backend.holdings(phone).items():
        deliveries = [r["targets"][name] for r in live if name in r["targets"]]
        held_at = sorted(d["held_at"] for d in deliveries if d.get("held_at"))
        if held:
            status = "held"
        elif deliveries and all(d["status"] == "skipped" for d in deliveries):
            status = "skipped"
        elif any(d["status"] == "failed" for d in deliveries):
            status = "failed"
        elif any(d["status"] == "pending" for d in deliveries):
            status = "pending"
        else:
            status = "not_held"
        targets[name] = {"status": status, "since": held_at[0] if held and held_at else None}
    considered = [t for t in targets.values() if t["status"] != "skipped"]
    return {
        "phone": phone,
        "blocked": bool(considered) and all(t["status"] == "held" for t in considered),
        "targets": targets,
        "requests": requests,
    }


def build_asgi(
    settings: ApiSettings, intake: IntakeStore, backend: Backend, metrics: ServeMetrics
) -> ASGIApp:
    """What uvicorn serves: the body limit, the fast intake route, then the app."""
    app = build_app(settings, intake, backend, metrics)
    fast = FastIntake(app, app.state.taking)
    return BodyLimit(fast, settings.max_body_bytes)


__all__ = ["ApiSettings", "Backend", "BodyLimit", "build_app", "build_asgi"]
