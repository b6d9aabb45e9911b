"""NICE CXone: one DNC group, written through the Admin API.

- Discovery: `GET {discovery host}/.well-known/cxone-configuration?tenantId=` gives the
  tenant's `api_endpoint`; the Admin API is `{api_endpoint}/inContactAPI/services/v{NN}.0`.
- Writes: `POST .../dnc-groups/{id}/records` (add) and `DELETE .../dnc-groups/{id}/records`
  (remove: CXone expires the records) with `{"dncGroupRecords": [{"phoneNumber", "expiredDate"}]}`.
  CXone answers 200 with a result per record. A number counts as done only when a result
  names it (`results.read_answer`); results that name no number at all are paired by position
  only when they are as many as the records, and the batch says so (`paired_by_position`).
  An answer that does not give every number its own result fails the whole request.
- Number forms (CXone takes digits, not E.164): North American numbers (+1) as their 10
  national digits; any other number as `011` + country code + national number (what a North
  American dialer dials), or, with `international = "skip"`, not sent and reported skipped.
  Bare country-code digits are never sent: `4930901820` (Berlin) would read as a US number.
- `expiredDate` (`MM/DD/YYYY`): CXone holds a record while its expiredDate is in the future,
  so a hold through day D is sent as D + 1; no expiredDate for a hold without end.
- Reads: `GET .../records?skip=&top=` pages, reporting held and expired records.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any, Literal

import httpx

from dncsync import logs
from dncsync.errors import (
    AnswerRefused,
    ConfigError,
    Failure,
    ListNotFound,
    NumberNotSendable,
    PartialFailure,
)
from dncsync.net.auth import Clock
from dncsync.net.retry import Outcome
from dncsync.platforms.cxone.auth import CxoneAuth
from dncsync.platforms.cxone.config import INTEGER_NEEDS_SKIP
from dncsync.platforms.cxone.discovery import discover
from dncsync.platforms.cxone.results import (
    UnreadableResult,
    read_answer,
    read_count,
    read_success,
)
from dncsync.platforms.cxone.traits import answer_traits, group_traits
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
)
from dncsync.targets.variant import json_type

DEFAULT_DISCOVERY_URL = "https://cxone.niceincontact.com"
DEFAULT_API_VERSION = 31

# Codes dncsync itself gives to numbers it does not send: a number not in E.164 fails; a
# number the settings say not to send is skipped.
NOT_E164 = "dncsync.not_e164"
INTERNATIONAL_SKIPPED = "dncsync.international_skipped"

CAPABILITIES = Capabilities(
    default_batch_size=500,
    max_body_bytes=None,  # none documented
    max_expiry_days=None,  # CXone keeps any expiredDate
    expiry_per_record=True,  # each record carries its own expiredDate
    capacity=1_000_000,  # per tenant, across its groups
    account_capacity=1_000_000,  # per tenant
    capacity_scope="account",
    size_is_eventual=False,
    number_form="digits: 10 for North America, else 011 + country code + national number",
    reads_by="pages",
)

# The page size tried when a larger one is refused: the one CXone documents (elsewhere).
PAGE_SIZE_FALLBACK = 100

# Records read before paging counts as not ending: a group lists its expired records too, so
# twice what a tenant holds.
PAGED_RECORDS_PER_CAPACITY = 2

log = logs.logger()

_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")


@dataclass(frozen=True, slots=True, kw_only=True)
class CxoneSettings:
    """One NICE CXone target; credential values come from the environment, never a file."""

    name: str
    tenant_id: str
    access_key_id: str
    access_key_secret: str = field(repr=False)
    client_id: str
    client_secret: str = field(repr=False)
    dnc_group_id: int = 0  # 0 only to create a group first (`create_group`)
    base_url: str | None = None  # the discovery and token host; default cxone.niceincontact.com
    international: Literal["011", "skip"] = "011"
    phone_json_type: Literal["string", "integer"] = "string"  # how phoneNumber is typed
    api_version: int = DEFAULT_API_VERSION  # the Admin API's v{NN}.0
    batch_size: int = 1000
    concurrency: int = 4
    requests_per_minute: float = 300.0  # the starting pace and ceiling; 429s lower it
    retry_budget_seconds: float = 300.0
    timeout_seconds: float = 30.0
    page_size: int = 1000  # records per GET when reading the group
    access_key_id_env: str = "CXONE_ACCESS_KEY_ID"  # named in messages about refused credentials
    access_key_secret_env: str = "CXONE_ACCESS_KEY_SECRET"  # noqa: S105 - a variable's name
    client_id_env: str = "CXONE_CLIENT_ID"
    client_secret_env: str = "CXONE_CLIENT_SECRET"  # noqa: S105 - a variable's name

    def __post_init__(self) -> None:
        if self.international not in ("011", "skip"):
            raise ConfigError(
                f'target {self.name!r}: international must be "011" or "skip", '
                f"not {self.international!r}"
            )
        if self.phone_json_type not in ("string", "integer"):
            raise ConfigError(
                f'target {self.name!r}: phone_json_type must be "string" or "integer", '
                f"not {self.phone_json_type!r}"
            )
        if self.phone_json_type == "integer" and self.international != "skip":
            raise ConfigError(f"target {self.name!r}: {INTEGER_NEEDS_SKIP}")
        if self.api_version < 1:
            raise ConfigError(f"target {self.name!r}: api_version must be a positive number")
        if self.page_size < 1:
            raise ConfigError(f"target {self.name!r}: page_size must be at least 1")
        check_settings(self.name, self.base_url, self.batch_size, self.concurrency)

    @property
    def discovery_url(self) -> str:
        """Where discovery and the token endpoint are."""
        return (self.base_url or DEFAULT_DISCOVERY_URL).rstrip("/")


def cxone_number(phone: str, international: str = "011") -> str:
    """The digits CXone is sent for an E.164 number: NANP 10 digits, else `011` + E.164 digits."""
    if not E164.match(phone):
        raise NumberNotSendable(NOT_E164, "not an E.164 number; not sent")
    digits = phone[1:]
    if digits.startswith("1"):
        if len(digits) != 11:
            raise NumberNotSendable(NOT_E164, "a +1 number must have 10 national digits; not sent")
        return digits[1:]
    if international == "skip":
        raise NumberNotSendable(
            INTERNATIONAL_SKIPPED,
            'numbers outside North America are not sent (international = "skip")',
        )
    return "011" + digits  # country code + national number, after the international prefix


def e164_from_cxone(digits: str) -> str:
    """Read a stored CXone number back as E.164 where its form says how; else as stored."""
    if len(digits) == 10 and digits.isdigit():
        return "+1" + digits
    if len(digits) == 11 and digits.startswith("1") and digits.isdigit():
        return "+" + digits
    if digits.startswith("011") and digits.isdigit() and len(digits) > 6:
        return "+" + digits[3:]
    return digits


def expired_date(expires: date) -> str:
    """CXone's expiredDate for a hold through `expires`: the next day, MM/DD/YYYY."""
    return (expires + timedelta(days=1)).strftime("%m/%d/%Y")


def parse_expired_date(value: object) -> date | None:
    """Read an expiredDate (`MM/DD/YYYY`, or ISO); None when empty or unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        if match := _US_DATE.match(text):
            month, day, year = (int(part) for part in match.groups())
            return date(year, month, day)
        if match := _ISO_DATE.match(text):
            year, month, day = (int(part) for part in match.groups())
            return date(year, month, day)
    except ValueError:
        return None
    return None


class CxoneTarget(HttpTarget):
    """A NICE CXone DNC group."""

    platform = "cxone"
    platform_title = "NICE CXone"
    permissions_hint = (
        "the access key's user needs a role that may view and edit DNC groups and their records"
    )
    list_key = "dnc_group_id"
    capabilities = CAPABILITIES

    def __init__(
        self,
        settings: CxoneSettings,
        client: httpx.AsyncClient | None = None,
        *,
        now: Callable[[], datetime] | None = None,
        clock: Clock = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.dnc_group_id = settings.dnc_group_id
        auth = CxoneAuth(
            token_url=f"{settings.discovery_url}/auth/token",
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            access_key_id=settings.access_key_id,
            access_key_secret=settings.access_key_secret,
            target=settings.name,
            credential_env=(
                settings.access_key_id_env,
                settings.access_key_secret_env,
                settings.client_id_env,
                settings.client_secret_env,
            ),
            clock=clock,
        )
        hosts = [settings.discovery_url]
        super().__init__(settings, client, auth=auth, hosts=hosts, now=now, rng=rng)
        self._admin_api: str | None = None
        self._discovery_lock = asyncio.Lock()
        self._page_size = settings.page_size  # lowered when the platform refuses a page

    def host_keys(self) -> str:
        """Discovery is at `base_url`; the API host is the one discovery gives the tenant."""
        return "base_url and tenant_id"

    async def admin_api(self) -> str:
        """The tenant's Admin API base, discovered once."""
        async with self._discovery_lock:
            if self._admin_api is None:
                endpoints = await discover(
                    self.api, self.settings.discovery_url, self.settings.tenant_id
                )
                self._admin_api = endpoints.admin_api(self.settings.api_version)
            return self._admin_api

    async def _records_url(self) -> str:
        if not self.dnc_group_id:
            raise ConfigError(f"target {self.name!r}: dnc_group_id is not set")
        return f"{await self.admin_api()}/dnc-groups/{self.dnc_group_id}/records"

    # --- writes ----------------------------------------------------------------------------

    async def push(self, batch: BatchLike) -> BatchResult:
        """Add (POST) or remove (DELETE) one batch, counting every per-record result."""
        started = time.monotonic()
        result = BatchResult.of(batch, started)
        sent: dict[str, str] = {}  # CXone digits -> E.164
        ends: dict[str, date | None] = {}  # CXone digits -> the last day held
        for phone, expires in zip(batch.phones, expirations(batch), strict=True):
            try:
                digits = cxone_number(phone, self.settings.international)
            except NumberNotSendable as refused:
                reason = Failure(refused.code, str(refused.args[0]))
                if refused.code == INTERNATIONAL_SKIPPED:
                    result.skipped[phone] = reason  # as configured: not a failure
                else:
                    result.failed[phone] = reason
                continue
            sent[digits], ends[digits] = phone, expires
        if sent:
            await self._send(batch.action, sent, ends, result)
        result.duration_seconds = time.monotonic() - started
        log_batch(self.name, batch.action, batch.phones, result)
        return result

    async def _send(
        self,
        action: str,
        sent: dict[str, str],
        ends: dict[str, date | None],
        result: BatchResult,
    ) -> None:
        records: list[dict[str, str | int]] = []
        # A removal carries the day it takes effect: some tenants refuse a DELETE without an
        # expiredDate (NICE's spec and QA suite send one); today leaves the record unheld at
        # once, and a platform a day behind holds it one day more, never less.
        today = self._now().date().strftime("%m/%d/%Y")
        integer = self.settings.phone_json_type == "integer"
        for digits in sent:
            record: dict[str, str | int] = {"phoneNumber": int(digits) if integer else digits}
            if action == "remove":
                record["expiredDate"] = today
            elif (expires := ends[digits]) is not None:
                record["expiredDate"] = expired_date(expires)
            records.append(record)
        exchange = await self.api.call(
            "POST" if action == "add" else "DELETE",
            await self._records_url(),
            json={"dncGroupRecords": records},
        )
        account(result, exchange)
        phones = list(sent.values())
        if exchange.outcome is not Outcome.SUCCESS:
            self.fail_if_fatal(exchange, self.dnc_group_id)
            fail_all(result, phones, exchange)
            return
        body: Any = None
        if exchange.response is not None and exchange.response.content:
            try:
                body = exchange.response.json()
            except ValueError:
                body = None
        for trait, value in answer_traits(body).items():
            self.fingerprint.note(trait, value)
        reading = read_answer(body, phones, removing=action == "remove")
        if isinstance(reading, Failure):  # the answer does not give each number its result
            log.warning(
                "dnc.batch_answer_unusable",
                target=self.name,
                action=action,
                count=len(phones),
                code=reading.code,
                reason=reading.message,
            )
            for phone in phones:
                result.failed[phone] = reading
            return
        if reading.paired_by_position:
            result.paired_by_position = True
            log.warning(
                "dnc.batch_paired_by_position",
                target=self.name,
                action=action,
                count=len(phones),
            )
        for phone, failure in reading.outcomes.items():
            if failure is None:
                result.acknowledged.append(phone)
            else:
                result.failed[phone] = failure

    # --- reads -----------------------------------------------------------------------------

    def skips(self, phone: str) -> bool:
        """Numbers outside North America, with `international = "skip"`."""
        if self.settings.international != "skip":
            return False  # asked of every number a run holds: answer the usual case at once
        try:
            cxone_number(phone, self.settings.international)
        except NumberNotSendable as refused:
            return refused.code == INTERNATIONAL_SKIPPED
        return False

    async def describe(self) -> ListFacts:
        """The group exists; how many records it holds (`validRecords`)."""
        if not self.dnc_group_id:
            raise ConfigError(f"target {self.name!r}: dnc_group_id is not set")
        exchange = await self.api.call(
            "GET", f"{await self.admin_api()}/dnc-groups/{self.dnc_group_id}"
        )
        local = self._now()
        body = self.require_success(exchange, "reading the DNC group", self.dnc_group_id)
        holder = body.get("resultSet", body) if isinstance(body, dict) else None
        groups = holder.get("dncGroups") if isinstance(holder, dict) else None
        group = groups[0] if isinstance(groups, list) and groups else None
        if not isinstance(group, dict):
            raise ListNotFound(
                f"{self.name}: NICE CXone has no DNC group {self.dnc_group_id}; check the "
                "target's dnc_group_id"
            )
        for trait, value in group_traits(group).items():
            self.fingerprint.note(trait, value)
        facts = list_facts(exchange, group.get("validRecords"), local)
        if read_success(group.get("isActive")) is False:
            # Records of an inactive group block no dialing: the operator must know.
            facts = replace(facts, problem=f"DNC group {self.dnc_group_id} is not active")
        return facts

    async def records(self) -> AsyncIterator[RemoteRecord]:
        """Every record of the group, held and expired, page by page.

        Paging must advance: a page that repeats an earlier one (a platform that ignores
        `skip`), or more records than the tenant could hold without `totalRecords` being
        reached, stops the read with `AnswerRefused` instead of reading for ever.
        """
        url = await self._records_url()
        today = self._now().date()
        most = PAGED_RECORDS_PER_CAPACITY * self.capabilities.capacity
        skip = 0
        pages: set[int] = set()  # what each page held, to tell a page already read
        while True:
            body = await self._page(url, skip)
            result_set = body.get("resultSet") if isinstance(body, dict) else None
            items = result_set.get("dncRecords") if isinstance(result_set, dict) else None
            if not isinstance(items, list):
                raise PartialFailure(
                    f"{self.name}: reading DNC group {self.dnc_group_id} answered without "
                    "resultSet.dncRecords"
                )
            page = hash(frozenset(_record_key(item) for item in items))
            if items and page in pages:
                raise AnswerRefused(
                    f"{self.name}: reading DNC group {self.dnc_group_id} does not advance: the "
                    f"page at skip={skip} repeats an earlier page; the group was not read"
                )
            pages.add(page)
            for item in items:
                if isinstance(item, dict) and item.get("phoneNumber") not in (None, ""):
                    self.fingerprint.note("records_phone_number", json_type(item["phoneNumber"]))
                    yield _remote_record(item, today)
            skip += len(items)
            total = result_set.get("totalRecords") if isinstance(result_set, dict) else None
            if not items or ((count := _count(total)) is not None and skip >= count):
                return
            if skip > most:
                raise AnswerRefused(
                    f"{self.name}: reading DNC group {self.dnc_group_id} does not end: "
                    f"{skip:,} records read, more than a tenant holds "
                    f"({PAGED_RECORDS_PER_CAPACITY} × {self.capabilities.capacity:,}), and "
                    f"totalRecords ({_quoted(total)}) not reached; the group was not read"
                )

    # --- the preflight (`dncsync check`) ---------------------------------------------------

    async def read_check(self) -> Check:
        """The first page of records: what every read of the group needs."""
        body = await self._page(await self._records_url(), 0)
        result_set = body.get("resultSet") if isinstance(body, dict) else None
        items = result_set.get("dncRecords") if isinstance(result_set, dict) else None
        if not isinstance(items, list):
            return Check("read", False, "the first page of records came without dncRecords")
        integers = False
        for item in items:
            if isinstance(item, dict) and item.get("phoneNumber") not in (None, ""):
                kind = json_type(item["phoneNumber"])
                self.fingerprint.note("records_phone_number", kind)
                integers = integers or kind == "number"
        detail = f"first page of records read: {len(items):,} records (top={self._page_size})"
        if integers:
            detail += (
                "; numbers are listed as JSON integers: the tenant may need "
                'phone_json_type = "integer"'
            )
        return Check("read", True, detail)

    async def usage_check(self) -> Check:
        """The skills scrubbed against the group and those contributing to it."""
        found: list[str] = []
        for kind in ("scrubbed-skills", "contributing-skills"):
            exchange = await self.api.call(
                "GET", f"{await self.admin_api()}/dnc-groups/{self.dnc_group_id}/{kind}"
            )
            if (why := self.readable(exchange)) is not None:
                return Check("usage", True, f"skills {why}")
            body = exchange.response.json() if exchange.response is not None else None
            holder = body.get("resultSet", body) if isinstance(body, dict) else None
            skills = holder.get("skills") if isinstance(holder, dict) else None
            ids = [
                printable(str(skill.get("skillName") or skill.get("skillId")))
                for skill in (skills if isinstance(skills, list) else [])
                if isinstance(skill, dict)
            ]
            found.append(f"{kind.replace('-', ' ')}: {', '.join(ids[:10]) or 'none'}")
            if kind == "scrubbed-skills" and not ids:
                found[-1] += " (its records block no dialing yet)"
        return Check("usage", True, "; ".join(found))

    async def _page(self, url: str, skip: int) -> Any:
        """One page of records. A page size the platform refuses (400) is lowered, to 100 (the
        one page size CXone documents elsewhere) and then by halves, and kept for later pages."""
        while True:
            top = self._page_size
            exchange = await self.api.call("GET", url, params={"skip": skip, "top": top})
            if exchange.status != 400 or top <= 1:
                return self.require_success(
                    exchange, "reading the DNC group's records", self.dnc_group_id
                )
            self._page_size = PAGE_SIZE_FALLBACK if top > PAGE_SIZE_FALLBACK else top // 2
            self.fingerprint.note("page_size", f"top={top} refused (400)")
            log.info("dnc.page_size_lowered", target=self.name, refused=top, now=self._page_size)

    # --- helpers for the demo and tests ----------------------------------------------------

    async def create_group(self, name: str, description: str = "") -> int:
        """Create a DNC group; return its id (and use it from now on)."""
        body = self.require_success(
            await self.api.call(
                "POST",
                f"{await self.admin_api()}/dnc-groups",
                json={"dncGroupName": name, "dncGroupDescription": description},
            ),
            "creating a DNC group",
            name,
        )
        groups = body.get("dncGroups") if isinstance(body, dict) else None
        if groups is None and isinstance(body, dict) and isinstance(body.get("resultSet"), dict):
            groups = body["resultSet"].get("dncGroups")
        group_id = groups[0].get("dncGroupId") if isinstance(groups, list) and groups else None
        if not isinstance(group_id, int):
            raise PartialFailure(f"{self.name}: creating a DNC group answered without an id")
        self.dnc_group_id = group_id
        return group_id


def _record_key(item: object) -> str:
    """What tells a record apart on a page: its id, else its number, else the whole record."""
    if isinstance(item, dict):
        for key in ("recordId", "phoneNumber"):
            value = item.get(key)
            if value not in (None, ""):
                return f"{key}={value}"
    return repr(item)


def _count(value: object) -> int | None:
    """A count as CXone may type it (an integer or a string of digits); None otherwise."""
    try:
        return read_count(value)
    except UnreadableResult:
        return None


def _quoted(value: object) -> str:
    """A value from the platform as a message may quote it: printable and short."""
    text = printable(repr(value))
    return text if len(text) <= 40 else text[:39] + "…"


def _remote_record(item: dict[str, Any], today: date) -> RemoteRecord:
    phone = e164_from_cxone(str(item["phoneNumber"]).strip())
    ends = parse_expired_date(item.get("expiredDate"))
    if ends is None:
        return RemoteRecord(phone, None, True)
    # Held while expiredDate is in the future: the last held day is the day before it.
    return RemoteRecord(phone, ends - timedelta(days=1), ends > today)
