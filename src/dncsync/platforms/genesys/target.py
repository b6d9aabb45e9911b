"""Genesys Cloud: one Internal (`rds`) DNC list, written through the Platform API v2.

- Writes: `PATCH /api/v2/outbound/dnclists/{id}/phonenumbers` with
  `{"action": "Add"|"Remove", "phoneNumbers": [E.164 with +], "expirationDateTime": ...}`.
  The expiration is the instant the hold ends: the day after the batch's last held day, at
  00:00Z, in `yyyy-MM-ddTHH:mmZ`; Genesys accepts at most 180 days ahead. A 413 splits the
  batch in halves, each sent on its own.
- Reads: the export is the only way to read a list: `POST .../export`, poll `GET .../export`
  until a new export is ready, then download its CSV (column 0 the number, column 2 the
  expiration, read by position as the official terraform provider does). Where its link may
  lead, how large it may be and how it is read: `platforms.genesys.export`.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import IO, Any

import httpx

from dncsync import logs
from dncsync.errors import AnswerRefused, ConfigError, Failure, PartialFailure
from dncsync.files import writing
from dncsync.net.api import Exchange
from dncsync.net.auth import Clock
from dncsync.net.retry import Outcome
from dncsync.net.waiting import WAITS, Wait
from dncsync.platforms.genesys import export
from dncsync.platforms.genesys.auth import GenesysAuth
from dncsync.privacy import printable
from dncsync.targets.base import (
    BatchLike,
    BatchResult,
    Capabilities,
    Check,
    ListFacts,
    RemoteRecord,
    expirations,
)
from dncsync.targets.http import (
    E164,
    HttpTarget,
    account,
    check_settings,
    fail_all,
    list_facts,
    log_batch,
    platform_error,
)

log = logs.logger()

# Region -> API host, as the official SDK's PureCloudRegionHosts lists them. The login host
# is the API host with `api.` replaced by `login.`.
GENESYS_API_HOSTS: dict[str, str] = {
    "us_east_1": "api.mypurecloud.com",
    "eu_west_1": "api.mypurecloud.ie",
    "ap_southeast_2": "api.mypurecloud.com.au",
    "ap_northeast_1": "api.mypurecloud.jp",
    "eu_central_1": "api.mypurecloud.de",
    "us_west_2": "api.usw2.pure.cloud",
    "ca_central_1": "api.cac1.pure.cloud",
    "ap_northeast_2": "api.apne2.pure.cloud",
    "eu_west_2": "api.euw2.pure.cloud",
    "ap_south_1": "api.aps1.pure.cloud",
    "us_east_2": "api.use2.us-gov-pure.cloud",
    "sa_east_1": "api.sae1.pure.cloud",
    "me_central_1": "api.mec1.pure.cloud",
    "ap_northeast_3": "api.apne3.pure.cloud",
    "eu_central_2": "api.euc2.pure.cloud",
    "mx_central_1": "api.mxc1.pure.cloud",
    "ap_southeast_1": "api.apse1.pure.cloud",
    "eusc_de_east_1": "api.edee1.eusc-pure.cloud",
}

MAX_BODY_BYTES = 512_000
MAX_EXPIRY_DAYS = 180
CAPABILITIES = Capabilities(
    default_batch_size=1000,
    max_body_bytes=MAX_BODY_BYTES,
    max_expiry_days=MAX_EXPIRY_DAYS,
    expiry_per_record=False,  # one expirationDateTime per PATCH
    capacity=1_000_000,  # per list; about 2,000,000 per organization (unconfirmed)
    account_capacity=2_000_000,  # per organization (unconfirmed)
    capacity_scope="list",
    size_is_eventual=True,  # the list's `size` lags the numbers it holds
    number_form="E.164 with the +",
    reads_by="export",
)
EXPIRATION_FORMAT = "%Y-%m-%dT%H:%MZ"
CAMPAIGN_PAGES = 20  # campaigns read by the preflight: 2,000 at most
_OUTBOUND = "/api/v2/outbound/dnclists"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True, slots=True, kw_only=True)
class GenesysSettings:
    """One Genesys Cloud target; credential values come from the environment, never a file."""

    name: str
    client_id: str
    client_secret: str = field(repr=False)
    dnc_list_id: str = ""  # empty only to create a list first (`create_list`)
    region: str = "us_east_1"
    base_url: str | None = None  # overrides both the api. and login. hosts (emulator, gateway)
    batch_size: int = 1000
    concurrency: int = 4
    requests_per_minute: float = 300.0  # the starting pace; the headers refine it
    retry_budget_seconds: float = 300.0
    timeout_seconds: float = 30.0
    export_timeout_seconds: float = 600.0
    export_poll_seconds: float = 2.0
    client_id_env: str = "GENESYS_CLIENT_ID"  # named in messages about refused credentials
    client_secret_env: str = "GENESYS_CLIENT_SECRET"  # noqa: S105 - a variable's name

    def __post_init__(self) -> None:
        if self.base_url is None and self.region not in GENESYS_API_HOSTS:
            raise ConfigError(
                f"target {self.name!r}: region {self.region!r} is not a Genesys Cloud region; "
                f"use one of {', '.join(sorted(GENESYS_API_HOSTS))}"
            )
        check_settings(self.name, self.base_url, self.batch_size, self.concurrency)

    @property
    def api_url(self) -> str:
        """The API origin, e.g. https://api.mypurecloud.com."""
        if self.base_url is not None:
            return self.base_url.rstrip("/")
        return f"https://{GENESYS_API_HOSTS[self.region]}"

    @property
    def login_url(self) -> str:
        """The login origin, e.g. https://login.mypurecloud.com."""
        if self.base_url is not None:
            return self.base_url.rstrip("/")
        return "https://login." + GENESYS_API_HOSTS[self.region].removeprefix("api.")


def expiration_instant(expires: date) -> str:
    """The instant a hold through `expires` ends, as Genesys wants it: the next day, 00:00Z."""
    return (expires + timedelta(days=1)).strftime("%Y-%m-%dT00:00Z")


def last_held_day(instant: datetime) -> date:
    """The last (UTC) day a hold ending at `instant` covers."""
    return (instant.astimezone(UTC) - timedelta(microseconds=1)).date()


class GenesysTarget(HttpTarget):
    """A Genesys Cloud DNC list."""

    platform = "genesys"
    platform_title = "Genesys Cloud"
    permissions_hint = (
        "give the OAuth client a role with outbound:dncList:view, outbound:dncList:add, "
        "outbound:dncList:edit, outbound:dnc:add, outbound:dnc:edit and outbound:dnc:view"
    )
    list_key = "dnc_list_id"
    capabilities = CAPABILITIES
    max_body_bytes = CAPABILITIES.max_body_bytes
    max_expiry_days = CAPABILITIES.max_expiry_days

    def __init__(
        self,
        settings: GenesysSettings,
        client: httpx.AsyncClient | None = None,
        *,
        now: Callable[[], datetime] | None = None,
        clock: Clock = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.dnc_list_id = settings.dnc_list_id
        auth = GenesysAuth(
            token_url=f"{settings.login_url}/oauth/token",
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            target=settings.name,
            credential_env=(settings.client_id_env, settings.client_secret_env),
            clock=clock,
        )
        hosts = [settings.api_url, settings.login_url]
        super().__init__(settings, client, auth=auth, hosts=hosts, now=now, rng=rng)
        self._size_seen: int | None = None  # the list's `size` when last described
        self._written = False  # whether this target has sent a write (size then moves)
        # Numbers per request the platform took when it called a larger request too large.
        self._request_cap: int | None = None

    def host_keys(self) -> str:
        """`base_url` when it replaces the region's hosts, else `region`."""
        return "base_url" if self.settings.base_url is not None else "region"

    def _list_url(self, suffix: str = "") -> str:
        if not self.dnc_list_id:
            raise ConfigError(f"target {self.name!r}: dnc_list_id is not set")
        return f"{self.settings.api_url}{_OUTBOUND}/{self.dnc_list_id}{suffix}"

    # --- writes ----------------------------------------------------------------------------

    @staticmethod
    def body(action: str, phones: list[str] | tuple[str, ...], expires: date | None) -> Any:
        """The PATCH body for one request."""
        payload: dict[str, Any] = {
            "action": "Add" if action == "add" else "Remove",
            "phoneNumbers": list(phones),
        }
        if action == "add" and expires is not None:
            payload["expirationDateTime"] = expiration_instant(expires)
        return payload

    def body_bytes(self, batch: BatchLike) -> int:
        """The size of the largest request body a batch makes (httpx's compact JSON)."""
        expiry = next((d for d in expirations(batch) if d is not None), None)
        encoded = json.dumps(
            self.body(batch.action, batch.phones, expiry),
            ensure_ascii=False,
            separators=(",", ":"),
        )
        return len(encoded.encode())

    def accepts_expiry(self, expires: date, now: datetime) -> bool:
        """Whether Genesys takes a hold through `expires`: its end at most 180 days ahead."""
        end = datetime.combine(expires + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
        return end <= now + timedelta(days=MAX_EXPIRY_DAYS)

    async def push(self, batch: BatchLike) -> BatchResult:
        """Add or remove one batch; a 413 splits it; other failures mark every number failed."""
        started = time.monotonic()
        result = BatchResult.of(batch, started)
        # One expiration per request: numbers with different ones go in separate requests.
        groups: dict[date | None, list[str]] = {}
        for phone, expires in zip(batch.phones, expirations(batch), strict=True):
            if E164.match(phone):
                groups.setdefault(expires if batch.action == "add" else None, []).append(phone)
            else:
                result.failed[phone] = Failure("dncsync.not_e164", "not an E.164 number; not sent")
        for expires, phones in groups.items():
            cap = self._request_cap or len(phones)
            for start in range(0, len(phones), cap):
                await self._send(batch.action, phones[start : start + cap], expires, result)
        result.duration_seconds = time.monotonic() - started
        log_batch(self.name, batch.action, batch.phones, result)
        return result

    async def _send(
        self, action: str, phones: list[str], expires: date | None, result: BatchResult
    ) -> None:
        self._written = True
        exchange = await self.api.call(
            "PATCH", self._list_url("/phonenumbers"), json=self.body(action, phones, expires)
        )
        account(result, exchange)
        if too_large(exchange) and len(phones) > 1:
            half = len(phones) // 2
            if exchange.status != 413:
                # A count the platform refuses: later requests carry at most the half.
                self._request_cap = min(self._request_cap or half, half)
                self.fingerprint.note("request_cap", f"{len(phones)} numbers refused (400)")
            log.info(
                "dnc.batch_split",
                target=self.name,
                count=len(phones),
                status=exchange.status,
                halves=[half, len(phones) - half],
            )
            await self._send(action, phones[:half], expires, result)
            await self._send(action, phones[half:], expires, result)
            return
        if exchange.outcome is Outcome.SUCCESS:
            result.acknowledged.extend(phones)
            return
        self.fail_if_fatal(exchange, self.dnc_list_id)
        fail_all(result, phones, exchange)

    # --- reads -----------------------------------------------------------------------------

    async def describe(self) -> ListFacts:
        """The list exists and is Internal (`rds`, the only type that takes numbers); its size."""
        exchange = await self.api.call("GET", self._list_url(), params={"includeSize": "true"})
        local = self._now()
        body = self.require_success(exchange, "reading the DNC list", self.dnc_list_id)
        if not isinstance(body, dict):
            raise PartialFailure(
                f"{self.name}: reading DNC list {self.dnc_list_id} answered no list"
            )
        kind = body.get("dncSourceType")
        if isinstance(kind, str) and kind.lower() != "rds":
            raise ConfigError(
                f"{self.name}: Genesys Cloud DNC list {self.dnc_list_id} is of type {kind!r}, "
                "which does not take numbers (only Internal `rds` lists do); check the "
                "target's dnc_list_id"
            )
        facts = list_facts(exchange, body.get("size"), local)
        self._size_seen = facts.size
        return facts

    async def records(self) -> AsyncIterator[RemoteRecord]:
        """Every number on the list, from a fresh export; a damaged export fails the read."""
        link = await self._export()
        now = self._now()
        # The export holds every number: a private temporary file (mode 0600, unlinked at once
        # on POSIX) rather than memory, and gone when the read ends. A full or read-only
        # temporary folder is the operator's to fix: one line naming it.
        with _spooling():
            raw = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the `with raw` below
        with raw:
            with _spooling():
                await self._download(link, raw)
            raw.seek(0)
            unreadable = 0
            count = 0
            rows = export.rows(raw)
            try:
                where = export.columns(next(rows, []))
                self.fingerprint.note("export_columns", where.describe())
                for line, row in enumerate(rows, 2):
                    phone = export.phone_of(row, where, line)
                    if not phone:
                        continue
                    record, readable = _record(phone, row, where, now)
                    unreadable += not readable
                    count += 1
                    yield record
            except export.ExportUnreadable as error:
                raise AnswerRefused(
                    f"{self.name}: the export of DNC list {self.dnc_list_id} is not a readable "
                    f"CSV ({error}); the list was not read"
                ) from None
        if unreadable:
            log.warning("dnc.unreadable_expiration", target=self.name, records=unreadable)
        if self._size_seen is not None and not self._written:
            # Compared only before this target wrote: afterwards the two differ by design.
            agrees = "matches" if self._size_seen == count else "differs from"
            self.fingerprint.note("size", f"{agrees} the export")

    def _export_domain(self) -> str:
        """The region's own domain, e.g. mypurecloud.com: where an export may be downloaded."""
        return GENESYS_API_HOSTS.get(self.settings.region, "").removeprefix("api.")

    def _followable(self, value: object, what: str) -> httpx.URL:
        """An export link (or a redirect's target) that may be followed; else AnswerRefused."""
        url = export.link_of(value)
        if url is None:
            raise AnswerRefused(
                f"{self.name}: {what} a link that is not a URL ({export.shown(value)}); "
                f"the list of DNC list {self.dnc_list_id} was not read"
            )
        domain = self._export_domain()
        if not export.allowed(url, domain, self.settings.base_url):
            where = f"https on *.{domain}" if domain else "https on Genesys Cloud's hosts"
            if self.settings.base_url is not None:
                where += f" or {httpx.URL(self.settings.base_url).netloc.decode()} (base_url)"
            raise AnswerRefused(
                f"{self.name}: {what} {export.shown(str(url.copy_with(query=None)))}, which is "
                f"not {where}; not followed, and DNC list {self.dnc_list_id} was not read"
            )
        return url

    async def _download(self, link: httpx.URL, raw: IO[bytes]) -> None:
        """The export's CSV into `raw`, following redirects only where `_followable` allows."""
        cap = self.capabilities.capacity * export.EXPORT_BYTES_PER_NUMBER
        api_origin = httpx.URL(self.settings.api_url)
        url = link
        for _ in range(export.MAX_REDIRECTS + 1):
            # The token goes to the API host only, never to a storage host.
            same_origin = (url.scheme, url.netloc) == (api_origin.scheme, api_origin.netloc)
            exchange = await self.api.call(
                "GET",
                str(url),
                authenticated=same_origin,
                sink=raw,
                sink_max_bytes=cap,
                accept="text/csv, */*",
            )
            if exchange.refused is not None and exchange.refused_limit == cap:
                raise AnswerRefused(
                    f"{self.name}: the export of DNC list {self.dnc_list_id} is larger than "
                    f"{cap:,} bytes ({export.EXPORT_BYTES_PER_NUMBER} bytes for each of the "
                    f"{self.capabilities.capacity:,} numbers a list holds); not read"
                )
            if exchange.status in _REDIRECTS and exchange.response is not None:
                location = exchange.response.headers.get("Location")
                url = self._followable(
                    str(url.join(location)) if location else location,
                    "the export's download redirected to",
                )
                continue
            if exchange.outcome is not Outcome.SUCCESS:
                self.require_success(exchange, "downloading the export", self.dnc_list_id)
            return
        raise AnswerRefused(
            f"{self.name}: the export's download of DNC list {self.dnc_list_id} redirected more "
            f"than {export.MAX_REDIRECTS} times; not followed"
        )

    async def _export(self) -> httpx.URL:
        url = self._list_url("/export")
        before = await self._export_stamp(url)
        self.require_success(
            await self.api.call("POST", url), "starting an export", self.dnc_list_id
        )
        started = time.monotonic()
        deadline = started + self.settings.export_timeout_seconds
        waits = WAITS.key()
        try:
            while True:
                exchange = await self.api.call("GET", url)
                status = exchange.status
                if exchange.outcome is Outcome.SUCCESS:
                    body = self.require_success(exchange, "reading the export", self.dnc_list_id)
                    uri = body.get("uri") if isinstance(body, dict) else None
                    stamp = body.get("exportTimestamp") if isinstance(body, dict) else None
                    if uri is not None and uri != "":
                        # A link that is not one is refused at once, not polled until timeout.
                        link = self._followable(uri, "the export answered")
                        if before is None or stamp != before:
                            log.info("dnc.export_ready", target=self.name)
                            return link
                elif status not in (400, 404):  # 404/400: not ready yet
                    self.require_success(exchange, "reading the export", self.dnc_list_id)
                now = time.monotonic()
                if now > deadline:
                    raise PartialFailure(
                        f"{self.name}: the export of DNC list {self.dnc_list_id} was not ready "
                        f"within {self.settings.export_timeout_seconds:g} s"
                    )
                WAITS.note(
                    waits,
                    Wait(
                        target=self.name,
                        host=httpx.URL(url).netloc.decode("ascii", "replace"),
                        reason="the export is not ready yet",
                        since=started,
                        retry_at=now + self.settings.export_poll_seconds,
                        gives_up_at=deadline,
                    ),
                )
                await asyncio.sleep(self.settings.export_poll_seconds)
        finally:
            WAITS.clear(waits)

    async def _export_stamp(self, url: str) -> object:
        """The timestamp of the export already there (None if none), to tell a new one apart."""
        exchange = await self.api.call("GET", url)
        if exchange.outcome is not Outcome.SUCCESS and exchange.status in (400, 404):
            return None
        body = self.require_success(exchange, "reading the export", self.dnc_list_id)
        return body.get("exportTimestamp") if isinstance(body, dict) else None

    # --- the preflight (`dncsync check`) ---------------------------------------------------

    async def read_check(self) -> Check:
        """One export, read whole: what every read of a Genesys list needs."""
        records = await self.read_all()
        held = sum(record.held for record in records)
        return Check("read", True, f"one export read: {len(records):,} numbers ({held:,} held)")

    async def usage_check(self) -> Check:
        """The campaigns whose `dncLists` name this list (needs outbound:campaign:view)."""
        names: list[str] = []
        for page in range(1, CAMPAIGN_PAGES + 1):
            exchange = await self.api.call(
                "GET",
                f"{self.settings.api_url}/api/v2/outbound/campaigns",
                params={"pageSize": 100, "pageNumber": page, "dncListIds": self.dnc_list_id},
            )
            if (why := self.readable(exchange)) is not None:
                return Check("usage", True, f"campaigns {why}")
            body = exchange.response.json() if exchange.response is not None else None
            entities = body.get("entities") if isinstance(body, dict) else None
            for campaign in entities if isinstance(entities, list) else []:
                lists = campaign.get("dncLists") if isinstance(campaign, dict) else None
                if any(
                    isinstance(item, dict) and item.get("id") == self.dnc_list_id
                    for item in lists or []
                ):
                    names.append(printable(str(campaign.get("name") or campaign.get("id"))))
            count = body.get("pageCount") if isinstance(body, dict) else None
            if not isinstance(count, int) or page >= count:
                break
        if not names:
            return Check(
                "usage", True, "no campaign uses this list: its numbers block no dialing yet"
            )
        shown = ", ".join(names[:10]) + (" …" if len(names) > 10 else "")
        return Check("usage", True, f"used by {len(names)} campaign(s): {shown}")

    # --- helpers for the demo and tests ----------------------------------------------------

    async def create_list(self, name: str) -> str:
        """Create an Internal (`rds`) phone DNC list; return its id (and use it from now on)."""
        body = self.require_success(
            await self.api.call(
                "POST",
                f"{self.settings.api_url}{_OUTBOUND}",
                json={"name": name, "dncSourceType": "rds", "contactMethod": "Phone"},
            ),
            "creating a DNC list",
            name,
        )
        list_id = body.get("id") if isinstance(body, dict) else None
        if not isinstance(list_id, str) or not list_id:
            raise PartialFailure(f"{self.name}: creating a DNC list answered without an id")
        self.dnc_list_id = list_id
        return list_id


def _record(
    phone: str, row: list[str], where: export.Columns, now: datetime
) -> tuple[RemoteRecord, bool]:
    raw = row[where.expiration].strip() if len(row) > where.expiration else ""
    if not raw:
        return RemoteRecord(phone, None, True), True
    try:
        instant = datetime.fromisoformat(raw)
    except ValueError:
        # Unreadable: assume the platform still holds it, the protective reading.
        return RemoteRecord(phone, None, True), False
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return RemoteRecord(phone, last_held_day(instant), instant > now), True


# A 400 that calls a request too large (no documented maximum count per PATCH exists): an
# invalid-value code whose message speaks of a count. Codes of other refusals (a full list,
# a bad date) never split a batch.
_SIZE_CODES = frozenset({"invalid.value", "constraint.validation", "bad.request"})
_SIZE_WORDS = re.compile(
    r"at most|maximum|too many|too large|exceed|size must|no more than|limit of", re.IGNORECASE
)


def too_large(exchange: Exchange) -> bool:
    """Whether the platform called a request too large: 413, or a 400 that says so."""
    if exchange.status == 413:
        return True
    if exchange.status != 400:
        return False
    code, message = platform_error(exchange)
    return code in _SIZE_CODES and bool(_SIZE_WORDS.search(message))


def _spooling() -> AbstractContextManager[None]:
    """Writes to the export's temporary file: a full or read-only temporary folder is an
    InputError naming it (TMPDIR chooses another)."""
    return writing(tempfile.gettempdir(), "cannot keep the list's export (TMPDIR names the folder)")
