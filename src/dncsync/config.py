"""The TOML configuration: sources, targets, reasons, retention, state (docs/configuration.md).

Parsed and checked before any network call; a bad key fails with a message that names it.
Secrets never come from the file: a target names the environment variables that hold them,
and they are read when the target is built.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tomllib
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from phonenumbers import SUPPORTED_REGIONS
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from dncsync import platforms
from dncsync.errors import ConfigError, InputError
from dncsync.intake import INTAKE_SOURCE
from dncsync.model import Reason, Strictness
from dncsync.platforms.base import TargetConfigBase
from dncsync.sms import DEFAULT_KEYWORDS, keyword_set
from dncsync.sources.dialect import delimiter_of
from dncsync.sources.schedule import Schedule

DEFAULT_CONFIG = "dncsync.toml"
# A configuration is a few kilobytes; anything larger is not one (and is not read into memory).
MAX_CONFIG_BYTES = 4 << 20
# dncsync's keys nest at most four levels (target -> [0] -> sources -> [0]); a document nested
# much deeper is not a configuration, and would exhaust the parser's or validator's recursion.
MAX_DEPTH = 16

# Keys that would put a secret in the file; each points at the *_env key to use instead.
_SECRET_KEYS = {
    "client_id": "client_id_env",
    "client_secret": "client_secret_env",
    "access_key_id": "access_key_id_env",
    "access_key_secret": "access_key_secret_env",
    "password": "…_env",
    "token": "…_env",
}


class _Strict(BaseModel):
    # inf and nan are valid TOML floats, and no key of dncsync means either.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class StateConfig(_Strict):
    """`[state]`: where dncsync keeps what it knows between runs."""

    path: str = "dncsync.db"
    runs_dir: str | None = None  # audit logs and reports; default: "<state path>.runs/"
    # A PostgreSQL state shared by several `dncsync serve` replicas (docs/deploy.md), instead
    # of `path`; its password comes from the environment variable `password_env` names.
    url: str | None = None
    password_env: str = "DNCSYNC_DATABASE_PASSWORD"  # noqa: S105 - a variable's name

    @model_validator(mode="after")
    def _one_place(self) -> StateConfig:
        if self.url is None:
            return self
        if "path" in self.model_fields_set:
            raise ValueError("give either `path` (SQLite) or `url` (PostgreSQL), not both")
        problem = database_url_problem(self.url)
        if problem is not None:
            raise ValueError(problem)
        if not self.runs_dir:
            # Several replicas share the state but not a disk: the evidence folder must be
            # named, not derived from a state file that no longer exists.
            raise ValueError("`runs_dir` is required with `url` (where each run's evidence goes)")
        return self


_LOOPBACK = {"localhost", "127.0.0.1", "::1", "[::1]", ""}


def database_url_problem(url: str) -> str | None:
    """Why `url` is not a PostgreSQL state URL dncsync accepts, or None."""
    parsed = urlsplit(url)
    if parsed.scheme not in ("postgresql", "postgres"):
        return f"url must start with postgresql:// (got {parsed.scheme or 'no'} scheme)"
    if parsed.password is not None:
        return (
            "url must not hold a password: put it in the environment variable "
            "`password_env` names (DNCSYNC_DATABASE_PASSWORD by default)"
        )
    if not parsed.path.strip("/"):
        return "url must name a database (postgresql://user@host:5432/DATABASE)"
    host = (parsed.hostname or "").lower()
    ssl = dict(parse_qsl(parsed.query)).get("sslmode")
    if host not in _LOOPBACK and not host.startswith("/") and ssl != "verify-full":
        # Opt-outs are personal data, and a replica must know it talks to its own database.
        return f"url: a database on {host} (not this machine) needs ?sslmode=verify-full"
    return None


class SmsConfig(_Strict):
    """`[serve.sms]`: opt-outs texted in, through the SMS provider's webhook (docs/serve.md)."""

    # The variable holding the provider's auth token (it signs each webhook), never the token.
    auth_token_env: str = "TWILIO_AUTH_TOKEN"  # noqa: S105
    keywords: list[str] = Field(default_factory=lambda: list(DEFAULT_KEYWORDS))
    reply: str | None = Field(default=None, max_length=320)  # texted back to an opt-out
    scope: str = Field(default="", max_length=200)  # the scope of the opt-outs texted in

    @field_validator("keywords")
    @classmethod
    def _keywords_usable(cls, value: list[str]) -> list[str]:
        if not keyword_set(value):
            raise ValueError("lists no keyword: no text could opt out (omit it for the default)")
        return value


class ServeConfig(_Strict):
    """`[serve]`: the opt-out intake API (docs/serve.md)."""

    api_keys_env: str = "DNCSYNC_API_KEYS"  # comma-separated keys, read at start
    default_region: str = "US"
    timezone: str = "America/New_York"  # the day a request was received, for its deadline
    flush_seconds: float = Field(default=1.0, gt=0, le=3600)
    # Numbers per micro-batch; default: the target's batch_size.
    max_batch: int | None = Field(default=None, ge=1, le=100_000)
    run_seconds: float = Field(default=3600.0, ge=1)
    drain_seconds: float = Field(default=25.0, ge=0, le=3600)
    max_body_bytes: int = Field(default=1 << 20, ge=1024, le=64 << 20)
    rate_per_second: float = Field(default=2000.0, gt=0)  # per API key, with a burst of one second
    # The URL callers reach serve at, behind a proxy: webhook signatures are checked against it.
    public_url: str | None = None
    sms: SmsConfig | None = None
    alert_check_seconds: float = Field(default=60.0, gt=0, le=3600)  # alerts looked at this often

    @field_validator("public_url")
    @classmethod
    def _public_url_absolute(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError(f"{value!r} is not an http(s):// URL (e.g. https://dnc.example.com)")
        return value.rstrip("/") if value is not None else None

    @field_validator("timezone")
    @classmethod
    def _timezone_known(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not a time zone (e.g. America/New_York)") from None
        return value

    @field_validator("default_region")
    @classmethod
    def _region_known(cls, value: str) -> str:
        if value.upper() not in SUPPORTED_REGIONS:
            raise ValueError(f"{value!r} is not a region phonenumbers knows (e.g. US)")
        return value.upper()


AlertCondition = Literal[
    "run_failed", "target_failing", "optout_overdue", "drift", "rejects", "registry_stale"
]


class AlertConfig(_Strict):
    """One `[[alert]]`: a JSON webhook (`url_env`) or e-mail (`smtp_host`), and when."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, allow_inf_nan=False, populate_by_name=True
    )

    name: str | None = None  # how logs and metrics name it (default: "alert-N")
    url_env: str | None = None  # the variable holding the webhook's URL (a secret)
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    sender: str | None = Field(default=None, alias="from")
    to: list[str] = Field(default_factory=list)
    username_env: str | None = None
    password_env: str | None = None
    on: list[AlertCondition] | None = None  # the conditions it is sent for (default: all)
    failures_in_a_row: int = Field(default=3, ge=1, le=10_000)
    rejected_percent: float = Field(default=5.0, ge=0, le=100)
    timeout_seconds: float = Field(default=10.0, gt=0, le=300)

    @model_validator(mode="after")
    def _one_channel(self) -> AlertConfig:
        if (self.url_env is None) == (self.smtp_host is None):
            raise ValueError("give either url_env (a webhook) or smtp_host (e-mail), not both")
        if self.smtp_host is not None and (not self.sender or not self.to):
            raise ValueError("e-mail needs from (the sender) and to (a list of recipients)")
        if (self.username_env is None) != (self.password_env is None):
            raise ValueError("username_env and password_env go together")
        return self


class SourceConfig(_Strict):
    """One `[[source]]`: the column options are those of `dncsync validate`."""

    name: str
    url: str
    default_region: str = "US"
    strictness: Strictness = Strictness.VALID
    phone_column: str | None = None
    phone_columns: list[str] = Field(default_factory=list)
    area_code_column: str | None = None
    number_column: str | None = None
    where: dict[str, list[str]] = Field(default_factory=dict)  # column -> values (any of)
    # A source of many objects: does a mirror keep the numbers of an object that disappeared?
    vanished: Literal["keep", "remove"] = "keep"
    reason_column: str | None = None
    source_column: str | None = None
    date_collected_column: str | None = None
    expiration_column: str | None = None
    expiration_policy_column: str | None = None
    no_header: bool = False
    encoding: str | None = None
    sheet: str | None = None  # .xlsx: the sheet's name (default: the first sheet)
    delimiter: str | None = None  # ",", "\t" (or "tab"), ";" or "|"; default: detected
    kind: Literal["file", "registry"] = "file"
    registry_date: date | None = None
    s3_endpoint_url: str | None = None
    default_reason: Reason | None = None  # for rows with no reason; registries: NATIONAL
    # `dncsync serve` reads the source again on this schedule ("15m", or a cron line in UTC)
    # and syncs the targets that use it when it changed.
    schedule: str | None = None

    @field_validator("schedule")
    @classmethod
    def _schedule_parses(cls, value: str | None) -> str | None:
        if value is not None:
            Schedule.parse(value)
        return value

    @field_validator("where")
    @classmethod
    def _filters_have_values(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for column, values in value.items():
            if not values:
                raise ValueError(f"where.{column} lists no value: no row could pass")
        return value

    @field_validator("delimiter")
    @classmethod
    def _delimiter_known(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                delimiter_of(value)
            except InputError as error:
                raise ValueError(str(error)) from None
        return value


# The `[[target]]` union: one model per platform, told apart by `platform` (each model lives in
# its platform's folder; the registry lists them).
if TYPE_CHECKING:
    TargetConfig = TargetConfigBase
else:
    TargetConfig = Annotated[
        Union[platforms.config_models()],  # noqa: UP007 - built at run time from the registry
        Field(discriminator="platform"),
    ]


class Config(_Strict):
    """The whole file."""

    state: StateConfig = StateConfig()
    serve: ServeConfig | None = None  # `[serve]`: intake opt-outs are a source
    source: list[SourceConfig] = Field(default_factory=list)
    target: list[TargetConfig] = Field(default_factory=list)
    reasons: dict[str, Reason] = Field(default_factory=dict)  # free text -> reason code
    retention: dict[Reason, str] = Field(default_factory=dict)  # reason -> "never" | "5y"
    alert: list[AlertConfig] = Field(default_factory=list)  # `[[alert]]`: docs/configuration.md
    _origin: str = PrivateAttr(default=DEFAULT_CONFIG)  # the file it was read from, for messages

    @field_validator("retention")
    @classmethod
    def _retentions_parse(cls, value: dict[Reason, str]) -> dict[Reason, str]:
        for reason, text in value.items():
            years = retention_years(text, f"retention.{reason.value}")
            if reason in _PERMANENT and years is not None:
                raise ValueError(f"{reason.value} is permanent by rule: its retention is 'never'")
            if reason is Reason.CUSTOMER_REQUESTED and years is not None and years < 5:
                raise ValueError(
                    "CUSTOMER_REQUESTED is kept at least 5 years (FCC): use 5y or more"
                )
        return value

    def digest(self) -> str:
        """SHA-256 of the parsed configuration; it holds no secrets, only variable names."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()

    def targets_named(self, name: str | None) -> list[TargetConfigBase]:
        """All targets, or the one named; an unknown name, or no target at all, is a
        configuration error (a run with no target would do nothing and exit 0)."""
        if not self.target:
            raise ConfigError(
                f"{self._origin}: target: the configuration has no [[target]]; plan, sync and "
                "reconcile need at least one (docs/configuration.md)"
            )
        if name is None:
            return list(self.target)
        chosen = [target for target in self.target if target.name == name]
        if not chosen:
            known = ", ".join(t.name for t in self.target) or "none"
            raise ConfigError(f"no target named {name!r} in the configuration (targets: {known})")
        return chosen

    def sources_for(self, target: TargetConfigBase) -> list[SourceConfig]:
        """The sources a target syncs from."""
        if target.sources is None:
            return list(self.source)
        by_name = {source.name: source for source in self.source}
        return [by_name[name] for name in target.sources]


_PERMANENT = (Reason.NATIONAL, Reason.STATE, Reason.LITIGATOR)


def retention_years(text: str, key: str) -> int | None:
    """Whole years in a retention such as "5y"; None for "never"."""
    value = text.strip().lower()
    if value == "never":
        return None
    if not (value.endswith("y") and value[:-1].isdigit() and int(value[:-1]) > 0):
        raise ValueError(f"{key}: {text!r} is not a retention (use 'never' or years, e.g. 5y)")
    return int(value[:-1])


def load(path: Path | str | None) -> tuple[Config, Path]:
    """Read and check a configuration file; returns it and the folder paths resolve against."""
    file = Path(path or DEFAULT_CONFIG)
    text = _read(file)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{file}: not valid TOML: {error}") from None
    except RecursionError:
        where = _too_deep_in_text(text)
        raise ConfigError(
            f"{file}: {where + ': ' if where else ''}arrays or inline tables nested more than "
            f"{MAX_DEPTH} levels deep; this is not a dncsync configuration"
        ) from None
    return parse(raw, file), file.resolve().parent


def _read(file: Path) -> str:
    """The file's text: a regular file (or a pipe) of at most MAX_CONFIG_BYTES, in UTF-8."""
    try:
        kind = os.stat(file).st_mode
        if stat.S_ISDIR(kind):
            raise ConfigError(f"{file}: is a directory, not a configuration file (--config PATH)")
        if not (stat.S_ISREG(kind) or stat.S_ISFIFO(kind)):
            raise ConfigError(f"{file}: not a regular file, so not a configuration file")
        with open(file, "rb") as handle:
            data = handle.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(
            f"configuration file {file} not found (give one with --config PATH)"
        ) from None
    except OSError as error:
        raise ConfigError(f"cannot read configuration file {file}: {error.strerror}") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(
            f"{file}: larger than {MAX_CONFIG_BYTES >> 20} MiB, so not a dncsync configuration"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError(f"{file}: not valid TOML: not UTF-8 text ({error.reason})") from None


def _too_deep_in_text(text: str) -> str | None:
    """Where a TOML text first nests deeper than MAX_DEPTH: "line N (key K)", for a message.

    Only called once the parser gave up, so a rough reading is enough: strings and comments
    are skipped, brackets and braces counted.
    """
    depth, line, key, table = 0, 1, "", ""
    quote = ""
    index, size = 0, len(text)
    line_start = 0
    while index < size:
        char = text[index]
        if quote:
            if text.startswith(quote, index):
                index += len(quote)
                quote = ""
                continue
            if char == "\\" and quote[0] == '"':
                index += 1
            elif char == "\n":
                line += 1
                line_start = index + 1
        elif char == "#":
            end = text.find("\n", index)
            index = size if end < 0 else end
            continue
        elif text.startswith(('"""', "'''"), index):
            quote = text[index : index + 3]
            index += 3
            continue
        elif char in "\"'":
            quote = char
        elif char == "\n":
            line += 1
            line_start = index + 1
        elif depth == 0 and char == "[" and not text[line_start:index].strip():
            end = text.find("\n", index)
            end = size if end < 0 else end
            table = text[index:end].split("#", 1)[0].strip().strip("[]").strip()
            index = end
            continue
        elif depth == 0 and char == "=":
            key = text[line_start:index].strip()
        elif char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                named = ".".join(part for part in (table, key) if part)
                return f"line {line}" + (f" (key {named})" if named else "")
        elif char in "]}":
            depth = max(depth - 1, 0)
        index += 1
    return None


def parse(raw: dict[str, Any], origin: Path | str = DEFAULT_CONFIG) -> Config:
    """Check a parsed TOML document; the first problem names its key."""
    _refuse_deep_nesting(raw, origin)
    _refuse_secrets(raw, origin)
    _refuse_alert_secrets(raw, origin)
    try:
        config = Config.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        raise ConfigError(f"{origin}: {_key(first['loc'], raw)}: {_message(first)}") from None
    config._origin = str(origin)
    _check_references(config, origin)
    return config


def _refuse_deep_nesting(raw: dict[str, Any], origin: Path | str) -> None:
    """A document nested deeper than MAX_DEPTH (dotted keys nest without brackets) is
    refused naming its key, before validation recurses into it."""
    pending: list[tuple[Any, tuple[str, ...]]] = [(raw, ())]
    while pending:
        node, path = pending.pop()
        if len(path) > MAX_DEPTH:
            shown = ".".join(path[:4]) + "..."
            raise ConfigError(
                f"{origin}: {shown}: nested more than {MAX_DEPTH} levels deep; this is not a "
                "dncsync configuration"
            )
        if isinstance(node, dict):
            pending.extend((value, (*path, str(key))) for key, value in node.items())
        elif isinstance(node, list):
            pending.extend((value, (*path, f"[{i}]")) for i, value in enumerate(node))


def _refuse_secrets(raw: dict[str, Any], origin: Path | str) -> None:
    for index, target in enumerate(raw.get("target", []) or []):
        if not isinstance(target, dict):
            continue
        for key, instead in _SECRET_KEYS.items():
            if key in target:
                raise ConfigError(
                    f"{origin}: target[{index}].{key}: secrets are read from environment "
                    f"variables only; name the variable with {instead} instead"
                )


_ALERT_SECRET_KEYS = {"url": "url_env", "password": "password_env", "username": "username_env"}


def _refuse_alert_secrets(raw: dict[str, Any], origin: Path | str) -> None:
    for index, alert in enumerate(raw.get("alert", []) or []):
        if not isinstance(alert, dict):
            continue
        for key, instead in _ALERT_SECRET_KEYS.items():
            if key in alert:
                raise ConfigError(
                    f"{origin}: alert[{index}].{key}: secrets are read from environment "
                    f"variables only; name the variable with {instead} instead"
                )


def _check_references(config: Config, origin: Path | str) -> None:
    names = [source.name for source in config.source]
    for name in names:
        if names.count(name) > 1:
            raise ConfigError(f"{origin}: source.name: {name!r} is used twice")
    targets = [target.name for target in config.target]
    for name in targets:
        if targets.count(name) > 1:
            raise ConfigError(f"{origin}: target.name: {name!r} is used twice")
    seen: dict[str, str] = {}
    for target in config.target:
        platform = platforms.platform_of(target)
        for part in platform.lists(target):
            identity = platform.list_identity(part)
            if identity in seen:
                raise ConfigError(
                    f"{origin}: target.{target.name}: names the same list as target "
                    f"{seen[identity]!r} ({identity}); two targets (or one twice) on one "
                    "list would fight over it: keep one"
                )
            seen[identity] = target.name
    alerts = [alert.name for alert in config.alert if alert.name]
    for name in alerts:
        if alerts.count(name) > 1:
            raise ConfigError(f"{origin}: alert.name: {name!r} is used twice")
    if INTAKE_SOURCE in names:
        raise ConfigError(
            f"{origin}: source.name: {INTAKE_SOURCE!r} is reserved for the opt-outs "
            "`dncsync serve` takes in; give the source another name"
        )
    for source in config.source:
        if source.schedule is not None and source.url == "-":
            raise ConfigError(
                f"{origin}: source.{source.name}.schedule: standard input cannot be read "
                "again; schedule a file or an S3 source"
            )
    for target in config.target:
        if target.collect and target.remove_foreign:
            raise ConfigError(
                f"{origin}: target.{target.name}: collect = true takes every number found "
                "on the list that dncsync did not add as an opt-out, and remove_foreign = "
                "true would remove those very numbers: keep one"
            )
    for index, target in enumerate(config.target):
        for name in target.sources or []:
            if name not in names:
                raise ConfigError(
                    f"{origin}: target[{index}].sources: no source named {name!r} "
                    f"(sources: {', '.join(names) or 'none'})"
                )


def _key(loc: tuple[int | str, ...], raw: dict[str, Any]) -> str:
    parts: list[str] = []
    node: Any = raw
    for part in loc:
        if isinstance(part, int):
            parts[-1] = f"{parts[-1]}[{part}]" if parts else f"[{part}]"
            node = node[part] if isinstance(node, list) and part < len(node) else None
            continue
        if isinstance(node, dict) and part not in node and part in platforms.names():
            continue  # the discriminator's tag, not a key the user wrote
        parts.append(str(part))
        node = node.get(part) if isinstance(node, dict) else None
    return ".".join(parts) or "(top level)"


def _message(error: Any) -> str:
    if error["type"] == "missing":
        return "required key is missing"
    if error["type"] == "extra_forbidden":
        return "unknown key (see docs/configuration.md)"
    if error["type"] == "union_tag_invalid":
        return f"platform must be {_platform_choices()}"
    if error["type"] == "union_tag_not_found":
        return f"required key 'platform' is missing ({_platform_choices()})"
    if error["type"] == "finite_number":
        return "must be a finite number (inf and nan mean nothing here)"
    if error["type"] == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    return str(error["msg"])


def _platform_choices() -> str:
    return " or ".join(f"'{name}'" for name in platforms.names())


def resolve_path(base: Path, value: str) -> str:
    """A local path relative to the configuration file's folder; URLs and '-' stay as they are."""
    if value == "-" or "://" in value:
        return value
    path = Path(os.path.expanduser(value))
    return str(path if path.is_absolute() else base / path)
