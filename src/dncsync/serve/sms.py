"""Opt-outs texted in: the SMS provider's inbound webhook, and the texts kept for review.

    POST /v1/webhooks/twilio   the provider's form POST, signed (X-Twilio-Signature): TwiML
    GET  /v1/sms/texts         kept texts (?kind=review | resume | opt_out), with an API key

The webhook needs no API key (the provider cannot send one): its signature, keyed by the
account's auth token, is the authentication, and a missing or wrong one is 403 before anything
is read into the store. A keyword becomes an opt-out of the sender exactly as
`POST /v1/optouts` takes one (source `sms`), committed before the 200; the message id is its
idempotency key, so a webhook the provider retries is stored once.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from dncsync import logs
from dncsync.config import SmsConfig
from dncsync.errors import ConfigError, DncsyncError
from dncsync.intake import OptOut, Refused
from dncsync.privacy import mask_phone, register_secret
from dncsync.serve.metrics import ServeMetrics
from dncsync.serve.openapi import ERRORS, SMS_WEBHOOK_ANSWERS, SMS_WEBHOOK_BODY, TEXTS_ANSWER
from dncsync.sms import MAX_BODY_CHARS, TextKind, classify, keyword_set, signature_valid, twiml
from dncsync.state.intake import Idempotency, IntakeStore, Text

log = logs.logger("dncsync.serve")
WEBHOOK_PATH = "/v1/webhooks/twilio"
_IDEMPOTENCY_OWNER = "sms-provider"  # message ids live apart from the API keys' own keys
_KEPT_KINDS = ("review", "resume", "opt_out")


@dataclass(frozen=True, slots=True)
class SmsSettings:
    """The webhook's settings: `[serve.sms]` with its token read, and `[serve] public_url`."""

    token: str
    keywords: frozenset[str]
    reply: str | None
    scope: str
    public_url: str | None

    @classmethod
    def read(cls, config: SmsConfig, public_url: str | None) -> SmsSettings:
        """The settings, the auth token read from the environment (missing: exit 3)."""
        token = os.environ.get(config.auth_token_env, "").strip()
        if not token:
            raise ConfigError(
                f"serve.sms.auth_token_env: the environment variable {config.auth_token_env} "
                "is not set; it must hold the SMS provider's auth token"
            )
        register_secret(token)
        return cls(token, keyword_set(config.keywords), config.reply, config.scope, public_url)

    def signed_url(self, request: Request) -> str:
        """The URL the provider signed: the public one behind a proxy, else the request's."""
        if self.public_url is None:
            return str(request.url)
        query = request.url.query
        return self.public_url + request.url.path + (f"?{query}" if query else "")


def _xml(text: str, status: int = 200) -> Response:
    return Response(text, status_code=status, media_type="text/xml")


def add_sms_routes(
    app: FastAPI,
    sms: SmsSettings,
    intake: IntakeStore,
    take: Callable[[OptOut, Idempotency | None], Awaitable[str | Response]],
    read: Callable[[dict[str, str], datetime], OptOut | Refused],
    guarded: Callable[[Request, Callable[[str], Awaitable[Response]]], Awaitable[Response]],
    metrics: ServeMetrics,
    recording: Callable[[], AbstractContextManager[None]],
) -> None:
    """The webhook and the texts' listing, on the intake API."""

    @app.post(
        WEBHOOK_PATH,
        summary="The SMS provider's inbound-message webhook (signed; no API key)",
        openapi_extra={"requestBody": SMS_WEBHOOK_BODY},
        responses=SMS_WEBHOOK_ANSWERS,
    )
    async def inbound(request: Request) -> Response:
        async with request.form(max_files=0, max_fields=200) as form:
            params = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
        if not signature_valid(
            sms.token, sms.signed_url(request), params, request.headers.get("x-twilio-signature")
        ):
            metrics.sms_texts.labels("bad_signature").inc()
            log.warning("dnc.sms_bad_signature")
            return JSONResponse(
                {"error": "forbidden", "reason": "the webhook's signature does not match"},
                status_code=403,
            )
        fields = dict(params)
        body = fields.get("Body", "")[:MAX_BODY_CHARS]
        sender = fields.get("From", "").strip()
        sid = fields.get("MessageSid", "").strip()[:200]
        kind = classify(body, sms.keywords)
        metrics.sms_texts.labels(kind.value).inc()
        if kind is TextKind.OTHER:
            return _xml(twiml(None))  # an ordinary reply to a campaign: not ours to keep
        now = datetime.now(UTC)
        request_id: str | None = None
        if kind is TextKind.OPT_OUT:
            optout = read({"phone": sender, "source": "sms", "scope": sms.scope}, now)
            if isinstance(optout, OptOut):
                digest = hashlib.sha256(json.dumps(sorted(params)).encode()).hexdigest()
                key = Idempotency(_IDEMPOTENCY_OWNER, sid, digest) if sid else None
                taken = await take(optout, key)
                if isinstance(taken, Response):
                    return taken  # the store cannot commit: the provider retries a 503
                request_id = taken
            else:
                # A keyword from a sender that is no usable number (a short code, a foreign
                # alphanumeric id): never dropped silently, a person looks at it.
                kind = TextKind.REVIEW
        text = Text(
            sid or f"unsigned-{hashlib.sha256(repr(params).encode()).hexdigest()[:32]}",
            kind.value,
            sender,
            fields.get("To", "").strip()[:200],
            body,
            now,
            request_id,
        )
        try:
            await asyncio.wrap_future(intake.record_text(text))
        except DncsyncError as failed:
            log.error("dnc.intake_unavailable", error=str(failed))
            return JSONResponse(
                {"error": "storage_unavailable", "reason": "the text could not be stored"},
                status_code=503,
            )
        with recording():
            log.info(
                f"dnc.sms_{kind.value}",
                phone=mask_phone(sender),
                request=request_id,
            )
        return _xml(twiml(sms.reply if kind is TextKind.OPT_OUT else None))

    @app.get(
        "/v1/sms/texts",
        summary="Texts kept: for review (default), START/UNSTOP (resume), or opt-outs",
        responses={200: TEXTS_ANSWER, **ERRORS},
    )
    async def texts(request: Request, kind: str = "review", limit: int = 1000) -> Response:
        async def handle(_owner: str) -> Response:
            if kind not in _KEPT_KINDS or not 1 <= limit <= 10_000:
                return JSONResponse(
                    {
                        "error": "invalid_request",
                        "reason": f"kind: one of {', '.join(_KEPT_KINDS)}; limit: 1 to 10000",
                    },
                    status_code=422,
                )
            return JSONResponse({"texts": intake.texts(kind, limit)})

        return await guarded(request, handle)


__all__ = ["WEBHOOK_PATH", "SmsSettings", "add_sms_routes"]
