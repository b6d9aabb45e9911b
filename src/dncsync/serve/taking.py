"""Taking opt-outs in: `POST /v1/optouts` without a web framework around it.

This is the one route a contact center calls at its busiest (every IVR keypress and SMS STOP
of the day), so its answer is built here as bytes, from the key check to the commit, and
`FastIntake` serves it straight from the ASGI interface. The framework's routing, dependency
solving, middleware stack and response classes cost about a third of serve's CPU per opt-out;
without them one core takes 1,000 opt-outs a second (docs/benchmarks.md). The FastAPI route
of the same path calls the same `Taking.take`, so the OpenAPI document and every other way
into the app give the same answers.

Receipts (the audit log's evidence that a request arrived) are logged as one line per group
commit rather than one per request: the requests of one commit resume on the event loop in
the same turn, and a line with all of them costs a fraction of one line each.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dncsync import logs
from dncsync.errors import DncsyncError
from dncsync.intake import MAX_BATCH_OPTOUTS, OptOut, Refused, read_optout
from dncsync.privacy import mask_phone
from dncsync.serve.backend import ApiSettings, Backend
from dncsync.serve.keys import RateLimit, authenticate
from dncsync.serve.metrics import ServeMetrics
from dncsync.state.intake import Idempotency, IntakeStore

log = logs.logger("dncsync.serve")
_MAX_IDEMPOTENCY_KEY = 200
_JSON = ("content-type", "application/json")


@dataclass(frozen=True, slots=True)
class Answer:
    """An HTTP answer as bytes: what both the framework route and the fast path send."""

    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = (_JSON,)


def _dumps(document: Any) -> bytes:
    # The framework's JSONResponse encoding, so both paths answer byte for byte alike.
    return json.dumps(document, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def error(status: int, code: str, reason: str, **headers: str) -> Answer:
    """`{"error": code, "reason": text}`, the one shape of every error answer."""
    extra = tuple((name.lower(), value) for name, value in headers.items())
    return Answer(status, _dumps({"error": code, "reason": reason}), (_JSON, *extra))


class Taking:
    """The key check, the rate limit, and taking opt-outs in: pure of any web framework."""

    def __init__(
        self,
        settings: ApiSettings,
        intake: IntakeStore,
        backend: Backend,
        metrics: ServeMetrics,
        clock: Callable[[], float],
    ) -> None:
        self.settings = settings
        self.intake = intake
        self.backend = backend
        self.clock = clock
        self.limiter = RateLimit(settings.rate_per_second)
        # Children bound once: a labelled lookup per request is measurable at 1,000/s.
        requests = metrics.requests
        self._accepted = requests.labels("accepted")
        self._rejected = requests.labels("rejected")
        self._unauthorized = requests.labels("unauthorized")
        self._conflict = requests.labels("conflict")
        self._replayed = requests.labels("replayed")
        self._rate_limited = metrics.api_rate_limited
        self._receipts: list[dict[str, Any]] = []

    def owner(self, authorization: str | None) -> str | Answer:
        """The caller's key id, or the 401 or 429 answer."""
        owner = authenticate(authorization, self.settings.keys)
        if owner is None:
            self._unauthorized.inc()
            return error(
                401,
                "unauthorized",
                "a valid API key is required: Authorization: Bearer KEY",
                **{"WWW-Authenticate": "Bearer"},
            )
        wait = self.limiter.take(owner, self.clock())
        if wait > 0:
            self._rate_limited.inc()
            return error(
                429,
                "rate_limited",
                "too many requests for this API key; retry after the delay given",
                **{"Retry-After": str(max(1, round(wait + 0.5)))},
            )
        return owner

    async def post(self, authorization: str | None, raw: bytes, key: str | None) -> Answer:
        """`POST /v1/optouts` from its authorization header, body and Idempotency-Key."""
        owner = self.owner(authorization)
        if isinstance(owner, Answer):
            return owner
        if not self.backend.accepting:
            return error(503, "shutting_down", "the server is shutting down; retry")
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            self._rejected.inc()
            return error(400, "invalid_json", "the body is not a JSON document")
        return await self.take(owner, body, raw, key)

    async def take(self, owner: str, body: Any, raw: bytes, key: str | None) -> Answer:
        """Read, commit and answer one opt-out or a batch (`raw` is the body, for the
        Idempotency-Key's digest)."""
        if key is not None and not (0 < len(key) <= _MAX_IDEMPOTENCY_KEY):
            return error(400, "invalid_idempotency_key", "Idempotency-Key: 1 to 200 characters")
        settings = self.settings
        now = datetime.now(UTC)
        batch = isinstance(body, dict) and "optouts" in body
        if batch:
            items = body["optouts"]
            if not isinstance(items, list) or not 1 <= len(items) <= MAX_BATCH_OPTOUTS:
                self._rejected.inc()
                return error(
                    422, "invalid_request", f"optouts: a list of 1 to {MAX_BATCH_OPTOUTS} opt-outs"
                )
        else:
            items = [body]
        verdicts = [
            read_optout(
                item, now=now, zone=settings.zone, region=settings.region, policy=settings.policy
            )
            for item in items
        ]
        accepted = [v for v in verdicts if isinstance(v, OptOut)]
        refused = [(i, v) for i, v in enumerate(verdicts) if isinstance(v, Refused)]
        if refused:
            self._rejected.inc(len(refused))
        if not accepted:
            if not batch:
                return error(422, refused[0][1].error, refused[0][1].reason)
            every_phone = all(r.error == "invalid_phone" for _, r in refused)
            document = {
                "error": "invalid_phone" if every_phone else "invalid_request",
                "reason": "no opt-out in the batch was usable",
                "rejected": [{"index": i, "reason": r.reason} for i, r in refused],
            }
            return Answer(422, _dumps(document))
        if batch:
            answer: dict[str, Any] = {
                "accepted": [o.answer() for o in accepted],
                "rejected": [{"index": i, "reason": r.reason} for i, r in refused],
            }
        else:
            answer = accepted[0].answer()
        text = json.dumps(answer, separators=(",", ":"))
        idempotency = None
        if key is not None:
            idempotency = Idempotency(owner, key, hashlib.sha256(raw).hexdigest())
        try:
            result = await asyncio.wrap_future(self.intake.accept(accepted, text, idempotency))
        except DncsyncError as failed:  # the store cannot commit (a full disk): no promise
            log.error("dnc.intake_unavailable", error=str(failed))
            return error(503, "storage_unavailable", "the request could not be stored; retry")
        if result.conflict:
            self._conflict.inc()
            return error(
                409, "idempotency_conflict", "this Idempotency-Key was used with another body"
            )
        if result.replayed:
            self._replayed.inc()
            return Answer(result.status, result.body.encode())
        self.received(accepted)
        return Answer(202, text.encode())

    async def take_one(self, optout: OptOut, idempotency: Idempotency | None) -> str | Answer:
        """Commit one opt-out that did not come as JSON (a text): its request id, the first
        one's for a replay, or the error answer."""
        if not self.backend.accepting:
            return error(503, "shutting_down", "the server is shutting down; retry")
        text = json.dumps(optout.answer(), separators=(",", ":"))
        try:
            result = await asyncio.wrap_future(self.intake.accept([optout], text, idempotency))
        except DncsyncError as failed:
            log.error("dnc.intake_unavailable", error=str(failed))
            return error(503, "storage_unavailable", "the request could not be stored; retry")
        if result.conflict:
            return error(409, "idempotency_conflict", "this message id came with another body")
        if result.replayed:
            self._replayed.inc()
            return str(json.loads(result.body)["id"])
        self.received([optout])
        return optout.id

    def read_one(self, body: dict[str, str], now: datetime) -> OptOut | Refused:
        """An opt-out read as `POST /v1/optouts` reads one."""
        settings = self.settings
        return read_optout(
            body, now=now, zone=settings.zone, region=settings.region, policy=settings.policy
        )

    def received(self, accepted: list[OptOut]) -> None:
        """Committed: counted, the pushers told, the receipts queued."""
        self._accepted.inc(len(accepted))
        self.backend.accepted(len(accepted))
        self._receipt(accepted)

    def _receipt(self, accepted: list[OptOut]) -> None:
        """Queue the receipts for this turn's one audit line."""
        if not self._receipts:
            asyncio.get_running_loop().call_soon(self._log_receipts)
        self._receipts.extend(
            {
                "request": o.id,
                "phone": mask_phone(o.phone),
                **({"source": o.source} if o.source else {}),
                "deadline": o.deadline.isoformat(),
                **({"warnings": list(o.warnings)} if o.warnings else {}),
            }
            for o in accepted
        )

    def _log_receipts(self) -> None:
        receipts, self._receipts = self._receipts, []
        with self.backend.recording():  # the receipts are evidence: the run's audit log
            log.info("dnc.optouts_received", count=len(receipts), requests=receipts)


__all__ = ["Answer", "Taking", "error"]
