"""Genesys Cloud's outbound DNC lists, in memory: lists, numbers, exports and CSV imports.

Behaviour follows ../shared/PLATFORMS.md; each emulator choice on an unconfirmed point is
marked "choice" and listed in docs/emulator.md. Not thread-safe by itself: callers hold the
emulator's state lock. Time comes in as arguments, never from a clock read here.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

SOURCE_TYPES = ("rds", "rds_custom", "dnc.com", "gryphon")
CONTACT_METHODS = ("Phone", "Email", "Any", "WhatsApp")
EXPIRATION_FORMAT = "%Y-%m-%dT%H:%MZ"
_EXPIRATION = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}Z$")
_NOT_DIGIT = re.compile(r"\D")
EXPORT_HEADER = ("phone_number", "date_added", "expiration_date_time")


class GenesysError(Exception):
    """A refusal in Genesys' terms: HTTP status, error code, message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def not_found(what: str) -> GenesysError:
    """The platform's 404."""
    return GenesysError(404, "not.found", f"The requested {what} was not found.")


def normalize_number(raw: str) -> str:
    """The key Genesys stores a number under: formatting stripped except a leading '+'."""
    text = raw.strip()
    digits = _NOT_DIGIT.sub("", text)
    return f"+{digits}" if text.startswith("+") else digits


def iso(moment: datetime) -> str:
    """Genesys' timestamp format: ISO-8601 UTC with milliseconds and a Z."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def parse_expiration(text: str, now: datetime, max_days: int) -> datetime:
    """Read `yyyy-MM-ddTHH:mmZ`, at most `max_days` ahead; 400 invalid.date otherwise."""
    if not _EXPIRATION.match(text):
        raise GenesysError(
            400, "invalid.date", f"expirationDateTime {text!r} is not in yyyy-MM-ddTHH:mmZ format"
        )
    try:
        moment = datetime.strptime(text, EXPIRATION_FORMAT).replace(tzinfo=UTC)
    except ValueError as error:
        raise GenesysError(400, "invalid.date", f"expirationDateTime {text!r}: {error}") from None
    if moment > now + timedelta(days=max_days):
        raise GenesysError(
            400,
            "invalid.date",
            f"expirationDateTime {text!r} is more than {max_days} days in the future",
        )
    return moment


@dataclass(slots=True)
class StoredNumber:
    """One phone number on a list."""

    date_added: datetime
    expires: datetime | None


@dataclass(slots=True)
class ImportJob:
    """An uploaded CSV being imported; numbers land when it finishes (at `done_at`)."""

    total: int
    started_at: float
    done_at: float
    rows: list[tuple[str, datetime | None]]
    failure: str | None = None
    applied: bool = False


@dataclass(slots=True)
class ExportJob:
    """A requested export: a snapshot, downloadable once `ready_at` has passed."""

    download_id: str
    requested_at: datetime
    ready_at: float
    csv_text: str


@dataclass(slots=True)
class DncList:
    """One DNC list with its numbers."""

    id: str
    name: str
    dnc_source_type: str
    contact_method: str
    date_created: datetime
    date_modified: datetime
    version: int = 1
    extra: dict[str, object] = field(default_factory=dict)  # loginId, dncCodes, division, ...
    numbers: dict[str, StoredNumber] = field(default_factory=dict)
    import_job: ImportJob | None = None
    export: ExportJob | None = None
    # (when, size before, size after) of each API write: the `size` a lagging tenant reports.
    sizes: list[tuple[float, int, int]] = field(default_factory=list)

    def size_at(self, moment: float) -> int:
        """How many numbers the list held at `moment`, as far as its API writes tell."""
        found = len(self.numbers)
        for when, before, after in reversed(self.sizes):
            if when <= moment:
                return after
            found = before
        return found

    def as_json(self, include_size: bool, include_import_status: bool) -> dict[str, object]:
        """The `DncList` body."""
        body: dict[str, object] = {
            "id": self.id,
            "name": self.name,
            "dateCreated": iso(self.date_created),
            "dateModified": iso(self.date_modified),
            "version": self.version,
            "dncSourceType": self.dnc_source_type,
            "contactMethod": self.contact_method,
            **self.extra,
            "selfUri": f"/api/v2/outbound/dnclists/{self.id}",
        }
        if include_size:
            body["size"] = len(self.numbers)
        if include_import_status and self.import_job is not None:
            body["importStatus"] = import_status_json(self.import_job, self.import_job.done_at)
        return body


# Fields a client may set besides name/type/method; echoed back as given.
_EXTRA_FIELDS = (
    "loginId",
    "campaignId",
    "dncCodes",
    "licenseId",
    "division",
    "customExclusionColumn",
)


def import_status_json(job: ImportJob, now: float) -> dict[str, object]:
    """The `ImportStatus` body at `now`.

    Choice: the SDK's enum only knows IN_PROGRESS and FAILED, so a finished import carries
    no `state` and reads 100 percent complete.
    """
    if job.failure is not None:
        return {
            "state": "FAILED",
            "totalRecords": job.total,
            "completedRecords": 0,
            "percentComplete": 0,
            "failureReason": job.failure,
        }
    span = job.done_at - job.started_at
    fraction = 1.0 if now >= job.done_at or span <= 0 else (now - job.started_at) / span
    completed = min(job.total, int(job.total * fraction))
    body: dict[str, object] = {
        "totalRecords": job.total,
        "completedRecords": completed,
        "percentComplete": int(100 * completed / job.total) if job.total else 100,
    }
    if now < job.done_at:
        body["state"] = "IN_PROGRESS"
    return body


@dataclass(slots=True)
class Upload:
    """A signed upload URL handed out by POST /dnclists/uploads."""

    list_id: str
    phone_columns: list[str]
    expiration_column: str | None
    headers: dict[str, str]
    expires_at: float


class GenesysStore:
    """All Genesys outbound DNC state of one org."""

    def __init__(self, seed: int, list_capacity: int, org_capacity: int, max_days: int) -> None:
        self._seed = seed
        self._ids = 0
        self.list_capacity = list_capacity
        self.org_capacity = org_capacity
        self.max_days = max_days
        self.lists: dict[str, DncList] = {}
        self.uploads: dict[str, Upload] = {}
        self.downloads: dict[str, str] = {}  # download id -> list id
        # Outbound campaigns, only as far as they name DNC lists (`dncsync check` reads them).
        self.campaigns: dict[str, dict[str, Any]] = {}

    def new_id(self, kind: str) -> str:
        """A UUID fixed by the seed and the order of creation (readable, reproducible ids)."""
        self._ids += 1
        return str(
            uuid.uuid5(uuid.NAMESPACE_URL, f"dncsync-emulator:{self._seed}:{kind}:{self._ids}")
        )

    # Lists -----------------------------------------------------------------------------

    def get(self, list_id: str) -> DncList:
        """The list, or 404."""
        found = self.lists.get(list_id)
        if found is None:
            raise not_found("dnc list")
        return found

    def create(self, body: object, now: datetime) -> DncList:
        """POST /dnclists."""
        if not isinstance(body, dict):
            raise GenesysError(
                400, "bad.request", "The request body must be a DncListCreate object"
            )
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise GenesysError(400, "invalid.value", "name is required")
        source_type = body.get("dncSourceType")
        if source_type not in SOURCE_TYPES:
            raise GenesysError(
                400, "invalid.value", f"dncSourceType must be one of {', '.join(SOURCE_TYPES)}"
            )
        contact_method = body.get("contactMethod") or "Phone"
        if contact_method not in CONTACT_METHODS:
            raise GenesysError(
                400, "invalid.value", f"contactMethod must be one of {', '.join(CONTACT_METHODS)}"
            )
        created = DncList(
            id=self.new_id("dnclist"),
            name=name,
            dnc_source_type=str(source_type),
            contact_method=str(contact_method),
            date_created=now,
            date_modified=now,
            extra={key: body[key] for key in _EXTRA_FIELDS if body.get(key) is not None},
        )
        self.lists[created.id] = created
        return created

    def update(self, list_id: str, body: object, now: datetime) -> DncList:
        """PUT /dnclists/{id}: only with the current version (409 otherwise)."""
        current = self.get(list_id)
        if not isinstance(body, dict):
            raise GenesysError(400, "bad.request", "The request body must be a DncList object")
        if body.get("version") != current.version:
            raise GenesysError(
                409,
                "conflict",
                f"version {body.get('version')!r} is stale; the current one is {current.version}",
            )
        name = body.get("name", current.name)
        if not isinstance(name, str) or not name.strip():
            raise GenesysError(400, "invalid.value", "name is required")
        source_type = body.get("dncSourceType", current.dnc_source_type)
        if source_type != current.dnc_source_type:
            raise GenesysError(400, "invalid.value", "dncSourceType cannot be changed")
        current.name = name
        current.contact_method = str(body.get("contactMethod") or current.contact_method)
        current.extra.update({key: body[key] for key in _EXTRA_FIELDS if key in body})
        current.version += 1
        current.date_modified = now
        return current

    def delete(self, list_id: str) -> None:
        """DELETE /dnclists/{id}."""
        self.get(list_id)
        del self.lists[list_id]

    def page(
        self,
        page_size: int,
        page_number: int,
        name: str | None,
        source_type: str | None,
        sort_by: str,
        descending: bool,
    ) -> tuple[list[DncList], int]:
        """One page of lists and the total matching."""
        matching = [
            found
            for found in self.lists.values()
            if (name is None or name.lower() in found.name.lower())
            and (source_type is None or found.dnc_source_type == source_type)
        ]
        if sort_by == "name":
            matching.sort(key=lambda found: (found.name.lower(), found.id), reverse=descending)
        else:
            matching.sort(key=lambda found: (found.date_created, found.id), reverse=descending)
        start = (page_number - 1) * page_size
        return matching[start : start + page_size], len(matching)

    # Numbers ---------------------------------------------------------------------------

    def _writable(self, list_id: str) -> DncList:
        found = self.get(list_id)
        if found.dnc_source_type != "rds":
            raise GenesysError(
                400,
                "dnc.source.operation.not.supported",
                "Phone numbers can only be changed on internal (rds) lists, "
                f"not {found.dnc_source_type}",
            )
        return found

    def org_size(self) -> int:
        """Numbers stored across all lists of the org."""
        return sum(len(found.numbers) for found in self.lists.values())

    def add(
        self, list_id: str, numbers: list[str], expires: datetime | None, now: datetime
    ) -> None:
        """Add numbers (stored once; re-adding replaces the expiration); capacity-checked."""
        target = self._writable(list_id)
        keys = [normalize_number(number) for number in numbers]
        if any(key.lstrip("+") == "" for key in keys):
            raise GenesysError(400, "invalid.value", "phoneNumbers contains a value with no digits")
        new = {key for key in keys if key not in target.numbers}
        if len(target.numbers) + len(new) > self.list_capacity:
            raise GenesysError(
                400,
                "dnc.phone.numbers.per.list.limit.exceeded",
                f"A DNC list may hold at most {self.list_capacity} phone numbers",
            )
        if self.org_size() + len(new) > self.org_capacity:
            raise GenesysError(
                400,
                "dnc.phone.numbers.per.organization.limit.exceeded",
                f"An organization may hold at most {self.org_capacity} DNC phone numbers",
            )
        for key in keys:
            held = target.numbers.get(key)
            if held is None:
                target.numbers[key] = StoredNumber(date_added=now, expires=expires)
            else:
                held.expires = expires

    def remove(self, list_id: str, numbers: list[str]) -> None:
        """Remove numbers; numbers not on the list are ignored."""
        target = self._writable(list_id)
        for number in numbers:
            target.numbers.pop(normalize_number(number), None)

    def clear(self, list_id: str, expired_only: bool, now: datetime) -> None:
        """DELETE .../phonenumbers: all numbers, or only those whose expiration has passed."""
        target = self._writable(list_id)
        if not expired_only:
            target.numbers.clear()
            return
        for key in [k for k, v in target.numbers.items() if v.expires and v.expires <= now]:
            del target.numbers[key]

    # Export ----------------------------------------------------------------------------

    def start_export(
        self,
        list_id: str,
        now: datetime,
        ready_at: float,
        header: tuple[str, str, str] = EXPORT_HEADER,
        order: tuple[int, int, int] = (0, 1, 2),
    ) -> DncList:
        """POST .../export: snapshot the list now, downloadable at `ready_at`."""
        target = self.get(list_id)
        if target.export is not None:
            self.downloads.pop(target.export.download_id, None)
        download_id = self.new_id("download")
        target.export = ExportJob(download_id, now, ready_at, export_csv(target, header, order))
        self.downloads[download_id] = list_id
        return target

    def download(self, download_id: str) -> str:
        """The CSV behind a download id, or 404."""
        list_id = self.downloads.get(download_id)
        found = self.lists.get(list_id) if list_id else None
        if found is None or found.export is None:
            raise not_found("download")
        return found.export.csv_text

    # Import ----------------------------------------------------------------------------

    def new_upload(self, body: object, headers: dict[str, str], expires_at: float) -> str:
        """POST /dnclists/uploads: remember what a PUT to the signed URL will import."""
        if not isinstance(body, dict):
            raise GenesysError(
                400, "bad.request", "The request body must be a DNCListUploadUrlRequest"
            )
        list_id = body.get("id")
        if not isinstance(list_id, str):
            raise GenesysError(400, "invalid.value", "id (the DNC list id) is required")
        self._writable(list_id)
        if body.get("contentType", "text/csv") != "text/csv":
            raise GenesysError(400, "invalid.value", "contentType must be text/csv")
        columns = body.get("phoneColumns") or []
        if (
            not isinstance(columns, list)
            or not columns
            or not all(isinstance(c, str) for c in columns)
        ):
            raise GenesysError(400, "invalid.value", "phoneColumns must name at least one column")
        expiration = body.get("expirationDateTimeColumn")
        key = self.new_id("upload")
        self.uploads[key] = Upload(
            list_id,
            list(columns),
            expiration if isinstance(expiration, str) else None,
            headers,
            expires_at,
        )
        return key

    def receive_upload(
        self, key: str, content: bytes, started_at: float, done_at: float, now: datetime
    ) -> None:
        """The PUT of a CSV to a signed URL: start its import."""
        upload = self.uploads.pop(key)
        target = self._writable(upload.list_id)
        job = ImportJob(total=0, started_at=started_at, done_at=done_at, rows=[])
        target.import_job = job
        try:
            reader = csv.DictReader(io.StringIO(content.decode("utf-8-sig")))
            header = reader.fieldnames or []
            missing = [c for c in upload.phone_columns if c not in header]
            if missing:
                job.failure = f"phone columns not in the file header: {', '.join(missing)}"
                return
            for row in reader:
                expires = None
                raw = (
                    (row.get(upload.expiration_column) or "").strip()
                    if upload.expiration_column
                    else ""
                )
                if raw:
                    expires = parse_expiration(raw, now, self.max_days)
                for column in upload.phone_columns:
                    value = (row.get(column) or "").strip()
                    if value and normalize_number(value).lstrip("+"):
                        job.rows.append((value, expires))
        except (UnicodeDecodeError, csv.Error) as error:
            job.failure = f"the file is not a readable CSV: {error}"
        except GenesysError as error:
            job.failure = error.message
        job.total = len(job.rows)

    def settle_imports(self, now_seconds: float, now: datetime) -> None:
        """Apply every import whose time has come (imports are asynchronous)."""
        for target in self.lists.values():
            job = target.import_job
            if job is None or job.applied or job.failure or now_seconds < job.done_at:
                continue
            job.applied = True
            by_expiry: dict[datetime | None, list[str]] = {}
            for number, expires in job.rows:
                by_expiry.setdefault(expires, []).append(number)
            try:
                for expires, numbers in by_expiry.items():
                    self.add(target.id, numbers, expires, now)
            except GenesysError as error:
                job.failure = error.message


def export_csv(
    target: DncList,
    header: tuple[str, str, str] = EXPORT_HEADER,
    order: tuple[int, int, int] = (0, 1, 2),
) -> str:
    """The export file: by default `phone_number,date_added,expiration_date_time`, one number a
    row; `header` names the columns and `order` places (number, date added, expiration)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([header[place] for place in order])
    for number in sorted(target.numbers):
        held = target.numbers[number]
        expires = held.expires.strftime(EXPIRATION_FORMAT) if held.expires else ""
        cells = (number, iso(held.date_added), expires)
        writer.writerow([cells[place] for place in order])
    return out.getvalue()
