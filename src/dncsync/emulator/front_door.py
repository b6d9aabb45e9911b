"""The door every request passes: correlation ids, body cap, latency, rate limits, faults, log.

It wraps the whole Starlette app as plain ASGI (outermost, so it sees the server's own `send`):
a cut fault has to drop the real socket, which only the server's transport can do.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from starlette.types import Message, Receive, Scope, Send

from dncsync.emulator import answers
from dncsync.emulator.faults import Fault, FaultKind, body_digest, decide, request_key
from dncsync.emulator.ratelimit import RateVerdict
from dncsync.emulator.state import EmulatorState

ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_GENESYS_PREFIXES = ("/api/v2/", "/oauth/", "/uploads/")
_CXONE_PREFIXES = ("/.well-known/", "/auth/", "/authentication/", "/inContactAPI/")


def platform_of(path: str) -> str:
    """Which platform a path belongs to: genesys, cxone, or other (the inspection API)."""
    if path.startswith(_GENESYS_PREFIXES):
        return "genesys"
    if path.startswith(_CXONE_PREFIXES):
        return "cxone"
    return "other"


def numbers_carried(platform: str, method: str, path: str, body: bytes) -> int:
    """How many phone numbers a request body carries (for the request log)."""
    if not body:
        return 0
    if platform == "genesys" and path.startswith("/uploads/"):
        return max(0, sum(1 for line in body.splitlines() if line.strip()) - 1)
    try:
        payload: Any = json.loads(body)
    except ValueError:
        return 0
    if platform == "genesys" and path.endswith("/phonenumbers"):
        if isinstance(payload, list):
            return len(payload)
        if isinstance(payload, dict) and isinstance(payload.get("phoneNumbers"), list):
            return len(payload["phoneNumbers"])
    if platform == "cxone" and path.endswith("/records") and isinstance(payload, dict):
        records = payload.get("dncGroupRecords")
        if isinstance(records, list):
            return len(records)
    return 0


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            text = bytes(value).decode("latin-1")
            if text[:7].lower() == "bearer ":
                return text[7:].strip()
    return None


class FrontDoor:
    """ASGI wrapper applying the cross-cutting behaviour of both platforms."""

    def __init__(self, app: ASGIApp, state: EmulatorState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = self.state
        settings = state.settings
        if settings.speaks("cxone_lenient_requests"):
            scope = _canonical_admin_path(scope)
        path: str = scope["path"]
        method: str = scope["method"]
        query = scope.get("query_string", b"").decode("latin-1")
        platform = platform_of(path)
        body = await _read_body(receive)
        context = answers.RequestContext(platform, str(uuid.uuid4()), body)
        scope[answers.CONTEXT_KEY] = context
        if platform == "other":
            await self.app(scope, _replay(body, receive), send)
            return

        key = request_key(method, path, query, body_digest(body))
        attempt = state.next_attempt(key)
        outcome = _Outcome(numbers=numbers_carried(platform, method, path, body))

        def log() -> None:
            # Logged once, just before the answer (or the cut) leaves, so a client that has
            # its answer always finds the request in the log.
            if outcome.logged:
                return
            outcome.logged = True
            state.record(
                platform=platform,
                method=method,
                path=path,
                query=query,
                status=outcome.status,
                numbers=outcome.numbers,
                fault=outcome.fault.label if outcome.fault else None,
                attempt=attempt,
                caller=context.caller,
                correlation_id=context.correlation_id,
            )

        send = self._decorating(send, context, outcome, log)
        try:
            if settings.latency_ms:
                await asyncio.sleep(settings.latency_ms / 1000)
            refusal = self._limit(scope, context, platform, path, method, body)
            if refusal is not None:
                await refusal(scope, _replay(body, receive), send)
                return
            fault = decide(settings.faults, settings.seed, key, method, path, attempt)
            outcome.fault = fault
            if fault is None or fault.kind is FaultKind.DELAY:
                if fault is not None:
                    await asyncio.sleep(fault.delay_ms / 1000)
                await self.app(scope, _replay(body, receive), send)
            elif fault.kind in (FaultKind.ERROR, FaultKind.STORM):
                await self._fault_answer(fault, context, platform)(
                    scope, _replay(body, receive), send
                )
            elif fault.kind is FaultKind.CUT:
                log()
                await _cut(send)
            else:
                await self._after_write(
                    fault, scope, _replay(body, receive), send, context, outcome, log
                )
        finally:
            log()

    def _decorating(
        self,
        send: Send,
        context: answers.RequestContext,
        outcome: _Outcome,
        log: Callable[[], None],
    ) -> Send:
        """A send that stamps platform headers on the answer, notes its status, logs it."""

        async def decorated(message: Message) -> None:
            if message["type"] == "http.response.start":
                outcome.status = message["status"]
                log()
                headers = list(message.get("headers", []))
                if context.platform == "genesys":
                    headers.append((b"inin-correlation-id", context.correlation_id.encode()))
                for name, value in context.extra_headers.items():
                    headers.append((name.lower().encode(), value.encode()))
                message = {**message, "headers": headers}
            await send(message)

        # Keep the server's own send reachable: a cut needs its transport.
        decorated.server_send = getattr(send, "server_send", send)  # type: ignore[attr-defined]
        return decorated

    def _limit(
        self,
        scope: Scope,
        context: answers.RequestContext,
        platform: str,
        path: str,
        method: str,
        body: bytes,
    ) -> ASGIApp | None:
        """Count the request against its caller's window; a 429 answer when over the limit."""
        state = self.state
        settings = state.settings
        if platform == "genesys":
            limit = settings.rate_limit
            if path.startswith("/api/v2/") and len(body) > settings.max_body_bytes:
                return answers.genesys_error(
                    413,
                    "request.entity.too.large",
                    f"The body is {len(body)} bytes; the limit is {settings.max_body_bytes}",
                    context.correlation_id,
                )
            tokens, counter = state.genesys_tokens, state.genesys_rate
            counted = path.startswith("/api/v2/")
        else:
            limit = settings.effective_cxone_rate_limit
            tokens, counter = state.cxone_tokens, state.cxone_rate
            counted = path.startswith("/inContactAPI/")
        token = _bearer(scope)
        caller, expired = state.token_caller(tokens, token) if token else (None, False)
        verdict = None
        if counted and caller is not None and not expired:
            context.caller = caller
            with state.lock:
                verdict = counter.hit(caller, state.now_seconds())
        if platform == "genesys":
            context.extra_headers.update(
                _genesys_rate_headers(verdict, limit.allowed, limit.window_seconds)
            )
        if verdict is None or verdict.allowed:
            return None
        wait = (
            settings.retry_after
            if settings.retry_after is not None
            else verdict.reset_whole_seconds
        )
        return self._too_many(platform, wait, context)

    def _too_many(self, platform: str, wait: int, context: answers.RequestContext) -> ASGIApp:
        """A 429, with `Retry-After` unless the platform's variant leaves it out."""
        settings = self.state.settings
        if platform == "genesys":
            bare = settings.speaks("genesys_bare_429")
            return answers.genesys_error(
                429,
                "too.many.requests.retry.after",
                f"Rate limit exceeded the maximum. Retry the request in [{wait}] seconds",
                context.correlation_id,
                headers=None if bare else {"Retry-After": str(wait)},
            )
        headers = {"Retry-After": str(wait)} if settings.cxone_retry_after_header else None
        return answers.cxone_error(429, "TooManyRequests", "Rate limit exceeded", headers)

    def _fault_answer(
        self, fault: Fault, context: answers.RequestContext, platform: str
    ) -> ASGIApp:
        settings = self.state.settings
        if fault.kind is FaultKind.STORM:
            wait = settings.retry_after if settings.retry_after is not None else 1
            return self._too_many(platform, wait, context)
        if platform == "genesys":
            return answers.genesys_server_error(fault.status, context.correlation_id)
        return answers.cxone_error(fault.status, "ServerError", f"Injected fault {fault.status}")

    async def _after_write(
        self,
        fault: Fault,
        scope: Scope,
        receive: Receive,
        send: Send,
        context: answers.RequestContext,
        outcome: _Outcome,
        log: Callable[[], None],
    ) -> None:
        """Apply the request, then answer it with a failure (if it succeeded)."""
        held: list[Message] = []

        async def hold(message: Message) -> None:
            held.append(message)

        await self.app(scope, receive, hold)
        status = held[0]["status"] if held else 500
        if status >= 400:  # nothing was applied: pass the platform's own refusal through
            outcome.fault = None
            for message in held:
                await send(message)
        elif fault.kind is FaultKind.AFTER_WRITE_CUT:
            log()
            await _cut(send)
        else:
            answer = self._fault_answer(
                Fault(FaultKind.ERROR, fault.status), context, context.platform
            )
            await answer(scope, receive, send)


class _Outcome:
    """What happened to a request, filled in as it goes (for the log)."""

    __slots__ = ("fault", "logged", "numbers", "status")

    def __init__(self, numbers: int) -> None:
        self.logged = False
        self.numbers = numbers
        self.status = 0
        self.fault: Fault | None = None


def _genesys_rate_headers(
    verdict: RateVerdict | None, allowed: int, window: float
) -> dict[str, str]:
    if verdict is None:
        return {
            "inin-ratelimit-count": "0",
            "inin-ratelimit-allowed": str(allowed),
            "inin-ratelimit-reset": str(max(1, int(window))),
        }
    return {
        "inin-ratelimit-count": str(verdict.count),
        "inin-ratelimit-allowed": str(verdict.limit),
        "inin-ratelimit-reset": str(verdict.reset_whole_seconds),
    }


def _canonical_admin_path(scope: Scope) -> Scope:
    """`/InContactAPI/Services/V27.0/...` as the routes spell it (`cxone_lenient_requests`):
    a tenant that takes the Admin API's path in any case."""
    path: str = scope["path"]
    if not path.lower().startswith("/incontactapi/"):
        return scope
    parts = path.split("/")
    if len(parts) < 4:
        return scope
    parts[1], parts[2], parts[3] = "inContactAPI", parts[2].lower(), parts[3].lower()
    canonical = "/".join(parts[:4] + [part.lower() for part in parts[4:]])
    return {**scope, "path": canonical, "raw_path": canonical.encode()}


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that hands the already-read body to the app once, then the server's own."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # the app only asks again to watch for a disconnect

    return replayed


async def _cut(send: Send) -> None:
    """Drop the connection with no answer at all.

    Over a real socket (uvicorn), abort the transport behind the server's `send`, then wait
    until the server has noticed, so it neither logs a missing response nor writes a 500.
    In process (httpx.ASGITransport) there is no socket: raise the error a client would get.
    """
    server_send = getattr(send, "server_send", send)
    cycle = getattr(server_send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise httpx.ReadError("connection cut by an injected emulator fault")
    transport.abort()
    for _ in range(100):
        if getattr(cycle, "disconnected", True):
            return
        await asyncio.sleep(0)
