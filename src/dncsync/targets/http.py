"""The machinery both platform targets share: the API client, error reading, fatal errors."""

from __future__ import annotations

import random
import re
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar, Protocol, Self

import httpx

from dncsync import logs
from dncsync.errors import (
    AuthError,
    ConfigError,
    Failure,
    ListNotFound,
    PartialFailure,
    error_for_status,
)
from dncsync.logs import mask_phone, mask_text
from dncsync.net.api import ApiClient, Exchange, unreachable, utc_now
from dncsync.net.auth import OAuthFlow
from dncsync.net.client import build_client
from dncsync.net.pacing import Pacer
from dncsync.net.retry import Outcome, RetryPolicy
from dncsync.targets.base import Action, BatchResult, Capabilities, ListFacts, RemoteRecord
from dncsync.targets.variant import Fingerprint

log = logs.logger()

E164 = re.compile(r"^\+[1-9]\d{1,14}$")
_MESSAGE_LIMIT = 200
_SAMPLE_SIZE = 3  # masked numbers shown in a batch's log line


ANSWER_REFUSED = "dncsync.answer_refused"


def platform_error(exchange: Exchange) -> tuple[str, str]:
    """The platform's error code and message (masked), whatever shape its error body has."""
    response = exchange.response
    if exchange.refused is not None:
        return ANSWER_REFUSED, f"{exchange.refused}; not read"
    if response is None:
        return "network.error", f"no answer ({exchange.network_error}) within the retry budget"
    code, message = "", ""
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text.strip()
    if isinstance(body, dict):
        code = _first_text(body, "code", "errorCode", "error")
        message = _first_text(body, "message", "error_description", "description")
    elif isinstance(body, str) and body and " " not in body and len(body) <= 64:
        code = body  # CXone sometimes answers a bare word, e.g. InvalidParameter
    elif isinstance(body, str):
        message = body
    code = code or f"http.{response.status_code}"
    return code, mask_text(message)[:_MESSAGE_LIMIT]


def _first_text(body: dict[str, Any], *keys: str) -> str:
    for key in keys:
        value = body.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


class CommonSettings(Protocol):
    """What every target's settings share."""

    @property
    def name(self) -> str: ...

    @property
    def batch_size(self) -> int: ...

    @property
    def concurrency(self) -> int: ...

    @property
    def requests_per_minute(self) -> float: ...

    @property
    def retry_budget_seconds(self) -> float: ...

    @property
    def timeout_seconds(self) -> float: ...


class HttpTarget:
    """One platform list reached over HTTP; subclasses add the platform's calls."""

    platform: ClassVar[str]
    platform_title: ClassVar[str]
    permissions_hint: ClassVar[str]
    list_key: ClassVar[str]  # the config key naming the list, for messages
    capabilities: ClassVar[Capabilities]
    max_body_bytes: int | None = None
    max_expiry_days: int | None = None

    def __init__(
        self,
        settings: CommonSettings,
        client: httpx.AsyncClient | None,
        *,
        auth: httpx.Auth,
        hosts: Sequence[str],
        now: Callable[[], datetime] | None,
        rng: random.Random | None,
    ) -> None:
        self.name = settings.name
        self.retry_budget_seconds = settings.retry_budget_seconds
        self.batch_size = settings.batch_size
        self.concurrency = settings.concurrency
        self._owns_client = client is None
        if client is None:
            client = build_client(
                hosts, timeout_seconds=settings.timeout_seconds, concurrency=settings.concurrency
            )
        self._client = client
        self._now = now or utc_now
        self.api = ApiClient(
            client,
            auth=auth,
            target=settings.name,
            pacer=Pacer(settings.requests_per_minute, target=settings.name),
            policy=RetryPolicy(
                budget_seconds=settings.retry_budget_seconds,
                request_timeout_seconds=settings.timeout_seconds,
            ),
            concurrency=settings.concurrency,
            now=self._now,
            rng=rng,
        )
        self.fingerprint = Fingerprint()

    def variant(self) -> dict[str, str]:
        """The variant fingerprint this target's answers showed so far (`targets.variant`)."""
        if self.api.timed_429s:
            self.fingerprint.note("429_retry_after", "given")
        if self.api.bare_429s:
            self.fingerprint.note("429_retry_after", "absent")
        return self.fingerprint.as_dict()

    @property
    def signed_in(self) -> bool:
        """Whether the platform has issued this target a token."""
        auth = self.api.auth
        return isinstance(auth, OAuthFlow) and auth.tokens_fetched > 0

    def readable(self, exchange: Exchange) -> str | None:
        """None when an informational read succeeded; else why not, in words for a check."""
        if exchange.outcome is Outcome.SUCCESS:
            return None
        if exchange.status in (401, 403):
            return f"not readable with these credentials (HTTP {exchange.status})"
        code, _ = platform_error(exchange)
        return f"not read (HTTP {exchange.status or '-'} {code})"

    async def aclose(self) -> None:
        """Close the HTTP client if this target opened it."""
        if self._owns_client:
            await self._client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def skips(self, phone: str) -> bool:
        """True for a number this target is configured not to send (none, unless it says)."""
        return False

    def records(self) -> AsyncIterator[RemoteRecord]:
        """Every number the list stores, streamed."""
        raise NotImplementedError

    async def read_all(self) -> list[RemoteRecord]:
        """Every number the list stores, once. A number the platform lists twice is kept once,
        in its most protective reading (held over expired, the later expiration, none latest):
        a confused or hostile answer must not fail the run, nor drop a protection."""
        found: dict[str, RemoteRecord] = {}
        repeated = 0
        async for record in self.records():
            known = found.get(record.phone)
            if known is None:
                found[record.phone] = record
                continue
            repeated += 1
            if _protection(record) > _protection(known):
                found[record.phone] = record
        if repeated:
            log.warning("dnc.records_repeated", target=self.name, records=repeated)
        return list(found.values())

    # --- shared handling of answers -------------------------------------------------------

    def host_keys(self) -> str:
        """The configuration keys that say which hosts the target talks to, for messages
        about a host that does not answer."""
        return "base_url"

    def fail_if_fatal(self, exchange: Exchange, list_id: object) -> None:
        """Raise when the answer means every request would fail the same way: a fatal status,
        or no answer at all for the whole retry budget (the platform is down or stalled, and
        every further batch would wait as long for nothing)."""
        if exchange.unanswered:
            raise unreachable(exchange, self.name, self.host_keys(), self.retry_budget_seconds)
        if exchange.response is None:
            return
        code, message = platform_error(exchange)
        status = exchange.response.status_code
        error = error_for_status(status, code)
        if error is None or not error.fatal:
            return
        if status == 401:
            raise AuthError(
                f"{self.name}: {self.platform_title} refused a freshly issued token "
                f"(HTTP 401 {code}); check that the credentials are active"
            )
        if status == 403:
            raise AuthError(
                f"{self.name}: {self.platform_title} denied access (HTTP 403 {code}); "
                f"{self.permissions_hint}"
            )
        if error is ListNotFound:
            raise ListNotFound(
                f"{self.name}: {self.platform_title} has no DNC list {list_id} "
                f"(HTTP 404 {code}); check the target's {self.list_key}"
            )
        raise error(
            f"{self.name}: {self.platform_title} refused DNC list {list_id} "
            f"(HTTP {status} {code}: {message}); check the target's {self.list_key}"
        )

    def require_success(self, exchange: Exchange, what: str, list_id: object) -> Any:
        """The JSON body of a successful answer; otherwise a fatal or partial-failure error."""
        self.fail_if_fatal(exchange, list_id)
        if exchange.outcome is Outcome.SUCCESS:
            assert exchange.response is not None
            if not exchange.response.content:
                return None
            try:
                return exchange.response.json()
            except ValueError:
                raise PartialFailure(
                    f"{self.name}: {what} answered HTTP {exchange.status} with a body that is "
                    "not JSON"
                ) from None
        code, message = platform_error(exchange)
        raise PartialFailure(
            f"{self.name}: {what} failed (HTTP {exchange.status or '-'} {code}: {message})"
        )


def _protection(record: RemoteRecord) -> tuple[bool, bool, date]:
    """How much a reading of a number protects it: held first, then no expiry, then the later."""
    return (record.held, record.expires is None, record.expires or date.min)


def list_facts(exchange: Exchange, size: object, local: datetime) -> ListFacts:
    """The facts of a list from the answer that described it (a count given as text too)."""
    stamp = exchange.response.headers.get("Date") if exchange.response is not None else None
    platform_time = None
    if stamp:
        try:
            platform_time = parsedate_to_datetime(stamp)
        except (TypeError, ValueError, IndexError):
            platform_time = None
        if platform_time is not None and platform_time.tzinfo is None:
            platform_time = platform_time.replace(tzinfo=UTC)
    count: int | None = None
    if isinstance(size, int) and not isinstance(size, bool):
        count = size
    elif isinstance(size, str) and size.strip().isdigit():
        count = int(size.strip())
    return ListFacts(count, platform_time, local)


def account(result: BatchResult, exchange: Exchange) -> None:
    """Add one logical request's cost to a batch result."""
    result.requests += 1
    result.attempts += exchange.attempts
    result.rate_limited += exchange.rate_limited
    result.waited_seconds += exchange.rate_limit_wait_seconds
    result.correlation_ids.extend(exchange.correlation_ids)
    result.status = exchange.status


def fail_all(result: BatchResult, phones: Sequence[str], exchange: Exchange) -> None:
    """Mark every number of a request failed with the platform's error."""
    failure = Failure(*platform_error(exchange))
    for phone in phones:
        result.failed[phone] = failure


def log_batch(target: str, action: Action, phones: tuple[str, ...], result: BatchResult) -> None:
    """The `dnc.batch_pushed` event: counts, cost and a masked sample, never a full number."""
    log.info(
        "dnc.batch_pushed",
        target=target,
        action=action,
        count=len(phones),
        acknowledged=len(result.acknowledged),
        failed=len(result.failed),
        skipped=len(result.skipped),
        paired_by_position=result.paired_by_position,
        requests=result.requests,
        attempts=result.attempts,
        rate_limited=result.rate_limited,
        status=result.status,
        correlation_id=result.correlation_ids[-1] if result.correlation_ids else None,
        sample=[mask_phone(phone) for phone in phones[:_SAMPLE_SIZE]],
    )


def check_settings(name: str, base_url: str | None, batch_size: int, concurrency: int) -> None:
    """The checks every target's settings share; a ConfigError names the key."""
    if base_url is not None and not base_url.startswith(("https://", "http://")):
        raise ConfigError(f"target {name!r}: base_url must start with https:// or http://")
    if batch_size < 1:
        raise ConfigError(f"target {name!r}: batch_size must be at least 1")
    if concurrency < 1:
        raise ConfigError(f"target {name!r}: concurrency must be at least 1")
