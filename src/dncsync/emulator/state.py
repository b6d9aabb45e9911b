"""The emulator's whole in-memory world behind one lock, and the helpers tests use on it.

The ASGI handlers and a test's own thread touch the same objects (the server runs in a
background thread), so every read and write goes through `EmulatorState.lock`. The helper
methods here are the in-process twin of the `/_emulator/` inspection API.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime

from dncsync.emulator.cxone_store import CxoneStore, parse_expired_date, phone_key
from dncsync.emulator.genesys_store import (
    EXPIRATION_FORMAT,
    GenesysStore,
    StoredNumber,
    normalize_number,
)
from dncsync.emulator.ratelimit import FixedWindowCounter
from dncsync.emulator.settings import EmulatorSettings


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request the emulator answered (or cut), as the request log shows it."""

    seq: int
    at: float
    platform: str  # genesys | cxone | other
    method: str
    path: str
    query: str
    status: int  # 0 when the connection was cut without an answer
    numbers: int  # phone numbers the request body carried
    fault: str | None  # e.g. error_503, cut, after_write_cut, storm_429, delay_250ms
    attempt: int  # how many times this same request (method, path, query, body) was seen
    caller: str | None  # OAuth client id (Genesys) or access key id (CXone)
    correlation_id: str

    def as_json(self) -> dict[str, object]:
        """The log entry as JSON."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Token:
    """An issued access token."""

    caller: str
    expires_at: float


class EmulatorState:
    """Both platforms' data, issued tokens, the request log and fault bookkeeping."""

    def __init__(self, settings: EmulatorSettings) -> None:
        self.settings = settings
        self.lock = threading.RLock()
        self._build()

    def _build(self) -> None:
        s = self.settings
        self.genesys = GenesysStore(s.seed, s.list_capacity, s.org_capacity, s.max_expiration_days)
        self.cxone = CxoneStore(s.tenant_capacity)
        self.genesys_tokens: dict[str, Token] = {}
        self.cxone_tokens: dict[str, Token] = {}
        self.cxone_refresh_tokens: dict[str, str] = {}  # refresh token -> access key id
        self.genesys_rate = FixedWindowCounter(s.rate_limit)
        self.cxone_rate = FixedWindowCounter(s.effective_cxone_rate_limit)
        self.attempts: dict[str, int] = {}
        self.log: list[RequestRecord] = []

    # Time ------------------------------------------------------------------------------

    def now_seconds(self) -> float:
        """The emulator's clock, in epoch seconds."""
        return self.settings.clock()

    def now(self) -> datetime:
        """The emulator's clock as an aware UTC datetime."""
        return datetime.fromtimestamp(self.settings.clock(), UTC)

    def today(self) -> date:
        """The emulator's UTC date (CXone's expiredDate is a date)."""
        return self.now().date()

    # Tokens ----------------------------------------------------------------------------

    def issue_token(self, tokens: dict[str, Token], caller: str, ttl: int) -> str:
        """A fresh opaque access token for `caller`, valid `ttl` seconds."""
        token = secrets.token_urlsafe(32)
        with self.lock:
            tokens[token] = Token(caller, self.now_seconds() + ttl)
        return token

    def token_caller(self, tokens: dict[str, Token], token: str) -> tuple[str | None, bool]:
        """(caller, expired) for a bearer token; (None, False) when unknown."""
        with self.lock:
            found = tokens.get(token)
        if found is None:
            return None, False
        return found.caller, self.now_seconds() >= found.expires_at

    # Request bookkeeping ---------------------------------------------------------------

    def next_attempt(self, key: str) -> int:
        """Count one more sighting of this request identity; returns its attempt number."""
        with self.lock:
            attempt = self.attempts.get(key, 0) + 1
            self.attempts[key] = attempt
            return attempt

    def record(self, **fields: object) -> RequestRecord:
        """Append one entry to the request log."""
        with self.lock:
            entry = RequestRecord(seq=len(self.log) + 1, at=self.now_seconds(), **fields)  # type: ignore[arg-type]
            self.log.append(entry)
            return entry

    # Helpers for tests and the demo (the in-process twin of /_emulator/) ---------------

    def requests(self, since: int = 0) -> list[RequestRecord]:
        """The request log, entries after sequence number `since`."""
        with self.lock:
            return [entry for entry in self.log if entry.seq > since]

    def clear_requests(self) -> None:
        """Empty the request log (attempt counts too, so faults replay from attempt 1)."""
        with self.lock:
            self.log.clear()
            self.attempts.clear()

    def reset(self) -> None:
        """Forget everything: data, tokens, rate windows, attempts, the log."""
        with self.lock:
            self._build()

    def genesys_create_list(
        self,
        name: str,
        numbers: Iterable[str] = (),
        *,
        source_type: str = "rds",
        expiration: str | None = None,
    ) -> str:
        """Create a Genesys DNC list (optionally seeded with numbers); returns its id."""
        with self.lock:
            now = self.now()
            created = self.genesys.create(
                {"name": name, "dncSourceType": source_type, "contactMethod": "Phone"}, now
            )
            self._genesys_put(created.id, numbers, expiration, now)
            return created.id

    def genesys_create_campaign(self, name: str, dnc_list_ids: Iterable[str] = ()) -> str:
        """Create a Genesys outbound campaign that scrubs against DNC lists; returns its id."""
        with self.lock:
            campaign_id = self.genesys.new_id("campaign")
            self.genesys.campaigns[campaign_id] = {
                "id": campaign_id,
                "name": name,
                "campaignStatus": "off",
                "dncLists": [
                    {"id": list_id, "selfUri": f"/api/v2/outbound/dnclists/{list_id}"}
                    for list_id in dnc_list_ids
                ],
                "selfUri": f"/api/v2/outbound/campaigns/{campaign_id}",
            }
            return campaign_id

    def _genesys_put(
        self, list_id: str, numbers: Iterable[str], expiration: str | None, now: datetime
    ) -> None:
        expires = (
            datetime.strptime(expiration, EXPIRATION_FORMAT).replace(tzinfo=UTC)
            if expiration
            else None
        )
        target = self.genesys.get(list_id)
        for number in numbers:
            target.numbers[normalize_number(number)] = StoredNumber(now, expires)

    def genesys_edit(
        self,
        list_id: str,
        add: Iterable[str] = (),
        remove: Iterable[str] = (),
        *,
        expiration: str | None = None,
    ) -> None:
        """Change a list directly, bypassing every platform rule (to plant drift)."""
        with self.lock:
            self._genesys_put(list_id, add, expiration, self.now())
            target = self.genesys.get(list_id)
            for number in remove:
                target.numbers.pop(normalize_number(number), None)

    def genesys_numbers(self, list_id: str) -> dict[str, str | None]:
        """A list's numbers and their expirations (`yyyy-MM-ddTHH:mmZ` or None)."""
        with self.lock:
            self.genesys.settle_imports(self.now_seconds(), self.now())
            target = self.genesys.get(list_id)
            return {
                number: held.expires.strftime(EXPIRATION_FORMAT) if held.expires else None
                for number, held in sorted(target.numbers.items())
            }

    def cxone_create_group(
        self, name: str, records: Mapping[str, str | None] | Iterable[str] = ()
    ) -> int:
        """Create a CXone DNC group (optionally seeded with records); returns its id."""
        with self.lock:
            group = self.cxone.create(name, "", self.now())
            self._cxone_put(group.group_id, records)
            return group.group_id

    def _cxone_put(self, group_id: int, records: Mapping[str, str | None] | Iterable[str]) -> None:
        group = self.cxone.get(group_id)
        now = self.now()
        items = records.items() if isinstance(records, Mapping) else ((r, None) for r in records)
        for raw, expired in items:
            key = phone_key(raw)
            if key is None:
                raise ValueError(f"{raw!r} is not 10-18 digits")
            self.cxone.place(group.group_id, key, parse_expired_date(expired), now)

    def cxone_edit(
        self,
        group_id: int,
        upsert: Mapping[str, str | None] | Iterable[str] = (),
        delete: Iterable[str] = (),
    ) -> None:
        """Change a group directly: upsert records (number -> expiredDate) or hard-delete them."""
        with self.lock:
            self._cxone_put(group_id, upsert)
            group = self.cxone.get(group_id)
            for raw in delete:
                group.records.pop(str(raw), None)

    def cxone_records(self, group_id: int) -> dict[str, str | None]:
        """A group's records (held and expired) and their expiredDate (MM/DD/YYYY or None)."""
        with self.lock:
            group = self.cxone.get(group_id)
            return {
                phone: record.expired_date.strftime("%m/%d/%Y") if record.expired_date else None
                for phone, record in sorted(group.records.items())
            }

    def cxone_held(self, group_id: int) -> set[str]:
        """The numbers a group currently blocks (expiredDate empty or in the future)."""
        with self.lock:
            today = self.today()
            group = self.cxone.get(group_id)
            return {phone for phone, record in group.records.items() if record.held(today)}

    def dump(self) -> dict[str, object]:
        """Everything stored, as JSON-ready data (the inspection API's state dump)."""
        with self.lock:
            self.genesys.settle_imports(self.now_seconds(), self.now())
            today = self.today()
            return {
                "genesys": {
                    "dnclists": [
                        {
                            **found.as_json(include_size=True, include_import_status=False),
                            "numbers": self.genesys_numbers(found.id),
                        }
                        for found in self.genesys.lists.values()
                    ]
                },
                "cxone": {
                    "tenantId": self.settings.tenant_id,
                    "dncGroups": [
                        {**group.as_json(today), "records": self.cxone_records(group.group_id)}
                        for group in self.cxone.groups.values()
                    ],
                },
                "requests": len(self.log),
            }
