"""NICE CXone's HTTP surface: discovery, OAuth, and the Admin API's DNC groups.

Routes parse and answer; the rules live in `cxone_store`. The Admin API answers under
`/inContactAPI/services/v{NN}.0/` for any NN, insists on `Accept: application/json`, then on a
valid bearer token.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dncsync.emulator.answers import (
    basic_credentials,
    context,
    cxone_error,
    cxone_not_renderable,
)
from dncsync.emulator.cxone_store import CxoneError, Group, phone_key
from dncsync.emulator.state import EmulatorState
from dncsync.emulator.variants import CXONE_PAGE_CAP

Handler = Callable[[Request, EmulatorState], Response]

_VERSION = re.compile(r"^v\d+\.0$")
_ANY_CASE_VERSION = re.compile(r"^[vV]\d+\.0$")
_DEFAULT_TOP = 100


def _state(request: Request) -> EmulatorState:
    found = request.app.state.emulator
    assert isinstance(found, EmulatorState)
    return found


def _origin(request: Request) -> str:
    return str(request.base_url).rstrip("/")


# Discovery and OAuth -----------------------------------------------------------------


async def cxone_configuration(request: Request) -> Response:
    """GET /.well-known/cxone-configuration?tenantId=: where this tenant's APIs live."""
    state = _state(request)
    tenant = request.query_params.get("tenantId")
    if not tenant:
        return cxone_error(400, "invalid_request", "tenantId is required")
    if tenant != state.settings.tenant_id:
        return cxone_error(404, "TenantNotFound", f"No tenant {tenant}")
    origin = _origin(request)
    return JSONResponse(
        {
            "private": False,
            "area": "na1",
            "cluster": "emulator",
            "domain": request.url.hostname,
            "acdDomain": request.url.hostname,
            "uhDomain": request.url.hostname,
            "ui_endpoint": origin,
            "auth_endpoint": origin,
            "api_endpoint": origin,
            "tenantId": tenant,
        }
    )


async def openid_configuration(request: Request) -> Response:
    """GET /.well-known/openid-configuration: the token endpoint."""
    origin = _origin(request)
    return JSONResponse(
        {
            "issuer": origin,
            "token_endpoint": f"{origin}/auth/token",
            "authorization_endpoint": f"{origin}/auth/authorize",
            "jwks_uri": f"{origin}/auth/jwks",
            "grant_types_supported": ["password", "refresh_token"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            "response_types_supported": ["code"],
        }
    )


def _segment(data: dict[str, object]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _token_answer(request: Request, state: EmulatorState, access_key_id: str) -> Response:
    settings = state.settings
    ttl = settings.cxone_token_ttl
    access = state.issue_token(state.cxone_tokens, access_key_id, ttl)
    refresh = secrets.token_urlsafe(32)
    with state.lock:
        state.cxone_refresh_tokens[refresh] = access_key_id
    now = int(state.now_seconds())
    # An unsigned id_token: clients read the tenant from it, nobody verifies it locally.
    id_token = ".".join(
        [
            _segment({"alg": "none", "typ": "JWT"}),
            _segment(
                {
                    "iss": _origin(request),
                    "sub": access_key_id,
                    "tenantId": settings.tenant_id,
                    "iat": now,
                    "exp": now + ttl,
                }
            ),
            "",
        ]
    )
    return JSONResponse(
        {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": ttl,
            "refresh_token": refresh,
            "id_token": id_token,
            "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
        }
    )


async def token(request: Request) -> Response:
    """POST /auth/token: password grant (access key) or refresh_token, Basic client auth."""
    state = _state(request)
    settings = state.settings
    form = {k: v[0] for k, v in parse_qs(context(request).body.decode("utf-8", "replace")).items()}
    if basic_credentials(request) != (settings.client_id, settings.client_secret):
        return cxone_error(401, "invalid_client", "Client authentication failed")
    grant = form.get("grant_type")
    if grant == "password":
        if (form.get("username"), form.get("password")) != (
            settings.access_key_id,
            settings.access_key_secret,
        ):
            return cxone_error(400, "invalid_grant", "Invalid access key id or secret")
        return _token_answer(request, state, settings.access_key_id)
    if grant == "refresh_token":
        with state.lock:
            owner = state.cxone_refresh_tokens.pop(form.get("refresh_token", ""), None)
        if owner is None:
            return cxone_error(400, "invalid_grant", "Unknown or already used refresh token")
        return _token_answer(request, state, owner)
    return cxone_error(
        400, "unsupported_grant_type", "grant_type must be password or refresh_token"
    )


async def access_key_token(request: Request) -> Response:
    """POST /authentication/v1/token/access-key: JSON access key id and secret."""
    state = _state(request)
    settings = state.settings
    try:
        body = json.loads(context(request).body or b"{}")
    except ValueError:
        return cxone_error(400, "invalid_request", "The body must be JSON")
    if not isinstance(body, dict) or (body.get("accessKeyId"), body.get("accessKeySecret")) != (
        settings.access_key_id,
        settings.access_key_secret,
    ):
        return cxone_error(401, "invalid_grant", "Invalid access key id or secret")
    return _token_answer(request, state, settings.access_key_id)


# Admin API ---------------------------------------------------------------------------


def _admin(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def run(request: Request) -> Response:
        state = _state(request)
        lenient = state.settings.speaks("cxone_lenient_requests")
        version = _ANY_CASE_VERSION if lenient else _VERSION
        if not version.match(request.path_params["version"]):
            return cxone_error(404, "NotFound", "Unknown API version")
        accept = request.headers.get("accept", "").lower()
        if "application/json" not in accept and not (lenient and "*/*" in accept):
            return cxone_not_renderable()
        header = request.headers.get("authorization", "")
        caller, expired = (
            state.token_caller(state.cxone_tokens, header[7:].strip())
            if header.lower().startswith("bearer ")
            else (None, False)
        )
        if caller is None:
            return cxone_error(401, "invalid_token", "A valid bearer token is required")
        if expired:
            return cxone_error(401, "invalid_token", "The access token has expired")
        try:
            with state.lock:
                return handler(request, state)
        except CxoneError as error:
            return cxone_error(error.status, error.error, error.description)

    return run


def _json(request: Request) -> Any:
    try:
        return json.loads(context(request).body or b"null")
    except ValueError:
        raise CxoneError(400, "InvalidParameter", "The request body is not valid JSON") from None


def _group_id(request: Request) -> int:
    try:
        return int(request.path_params["group_id"])
    except ValueError:
        raise CxoneError(400, "InvalidParameter", "groupId must be an integer") from None


def _int(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise CxoneError(400, "InvalidParameter", f"{name} must be an integer") from None
    if value < 0:
        raise CxoneError(400, "InvalidParameter", f"{name} must not be negative")
    return value


def _typed(state: EmulatorState, value: object) -> object:
    """A boolean or count as this tenant types it: JSON, or a string (`cxone_string_types`)."""
    if not state.settings.speaks("cxone_string_types"):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return value


def _group_json(state: EmulatorState, group: Group) -> dict[str, object]:
    body = group.as_json(state.today())
    for key in ("validRecords", "isActive", "isRemoved"):
        body[key] = _typed(state, body[key])
    return body


def _list_groups(request: Request, state: EmulatorState) -> Response:
    groups = sorted(state.cxone.groups.values(), key=lambda group: group.group_id)
    since = request.query_params.get("updatedSince")
    if since:
        try:
            moment = datetime.fromisoformat(since.replace("Z", "+00:00"))
        except ValueError:
            raise CxoneError(400, "InvalidParameter", "updatedSince must be ISO-8601") from None
        groups = [group for group in groups if group.last_update >= moment]
    return JSONResponse(
        {
            "resultSet": {
                "totalGroups": _typed(state, len(groups)),
                "dncGroups": [_group_json(state, group) for group in groups],
            }
        }
    )


def _create_group(request: Request, state: EmulatorState) -> Response:
    body = _json(request)
    if not isinstance(body, dict):
        raise CxoneError(400, "InvalidParameter", "The body must be a JSON object")
    group = state.cxone.create(
        body.get("dncGroupName"), body.get("dncGroupDescription"), state.now()
    )
    return JSONResponse({"dncGroups": [_group_json(state, group)]})


def _get_group(request: Request, state: EmulatorState) -> Response:
    group = state.cxone.get(_group_id(request))
    return JSONResponse({"resultSet": {"dncGroups": [_group_json(state, group)]}})


def _update_group(request: Request, state: EmulatorState) -> Response:
    group = state.cxone.get(_group_id(request))
    query = request.query_params
    if "dncGroupName" in query:
        if not query["dncGroupName"].strip():
            raise CxoneError(400, "InvalidParameter", "dncGroupName must not be empty")
        group.name = query["dncGroupName"]
    if "dncGroupDescription" in query:
        group.description = query["dncGroupDescription"]
    if "isActive" in query:
        group.is_active = query["isActive"].lower() == "true"
    group.last_update = state.now()
    return JSONResponse({"dncGroups": [_group_json(state, group)]})


_ORDERABLE = {"phonenumber": "phone", "expireddate": "expired", "recordid": "id"}


def _list_records(request: Request, state: EmulatorState) -> Response:
    group = state.cxone.get(_group_id(request))
    skip = _int(request, "skip", 0)
    top = _int(request, "top", _DEFAULT_TOP)
    if state.settings.speaks("cxone_page_cap") and top > CXONE_PAGE_CAP:
        raise CxoneError(400, "InvalidParameter", f"top must not exceed {CXONE_PAGE_CAP}")
    if top == 0 or top > state.settings.max_page_size:
        raise CxoneError(400, "InvalidParameter", f"top must be 1-{state.settings.max_page_size}")
    field, _, direction = _order_by(request, state).strip().partition(" ")
    order = _ORDERABLE.get(field.lower())
    if order is None:
        raise CxoneError(400, "InvalidParameter", f"cannot order by {field}")
    records = list(group.records.values())
    if order == "phone":
        records.sort(key=lambda record: record.phone)
    elif order == "expired":
        records.sort(key=lambda record: (record.expired_date is not None, record.expired_date))
    else:
        records.sort(key=lambda record: record.record_id)
    if direction.strip().lower() == "desc":
        records.reverse()
    as_integer = state.settings.speaks("cxone_integer_phone")
    return JSONResponse(
        {
            "resultSet": {
                "totalRecords": _typed(state, len(records)),
                "dncRecords": [
                    record.as_json(integer=as_integer) for record in records[skip : skip + top]
                ],
            }
        }
    )


def _order_by(request: Request, state: EmulatorState) -> str:
    """`orderBy`; a tenant speaking `cxone_lenient_requests` reads the key in any case."""
    if state.settings.speaks("cxone_lenient_requests"):
        for key, value in request.query_params.items():
            if key.lower() == "orderby":
                return value
        return "recordId"
    return request.query_params.get("orderBy", "recordId")


def _records_payload(request: Request, state: EmulatorState) -> list[object]:
    body = _json(request)
    records = body.get("dncGroupRecords") if isinstance(body, dict) else None
    if not isinstance(records, list):
        raise CxoneError(400, "InvalidParameter", "dncGroupRecords must be an array")
    if state.settings.speaks("cxone_integer_phone"):
        for item in records:
            number = item.get("phoneNumber") if isinstance(item, dict) else None
            if not isinstance(number, int) or isinstance(number, bool):
                raise CxoneError(
                    400,
                    "InvalidParameter",
                    "The JSON value of phoneNumber could not be converted to System.Int64",
                )
    return records


def _batch_answer(state: EmulatorState, results: list[Any], *, top_level: bool = False) -> Response:
    formatted_only = state.settings.speaks("cxone_formatted_results")
    answer = {
        "errorCount": _typed(state, sum(1 for result in results if not result.success)),
        "recordResults": [
            {
                **result.as_json(with_number=not formatted_only),
                "success": _typed(state, result.success),
            }
            for result in results
        ],
    }
    return JSONResponse(answer if top_level else {"resultSet": answer})


def _add_records(request: Request, state: EmulatorState) -> Response:
    items = _records_payload(request, state)
    return _batch_answer(state, state.cxone.upsert(_group_id(request), items, state.now()))


def _expire_records(request: Request, state: EmulatorState) -> Response:
    items = _records_payload(request, state)
    needs_date = state.settings.speaks("cxone_delete_expiry")
    if needs_date and not all(isinstance(item, dict) and item.get("expiredDate") for item in items):
        raise CxoneError(400, "InvalidParameter", "expiredDate is required for each record")
    results = state.cxone.expire(_group_id(request), items, state.today(), state.now())
    return _batch_answer(state, results, top_level=needs_date)


def _search(request: Request, state: EmulatorState) -> Response:
    raw: object = request.query_params.get("phoneNumber")
    if raw is None:
        body = _json(request)
        raw = body.get("phoneNumber") if isinstance(body, dict) else None
    key = phone_key(raw)
    if key is None:
        raise CxoneError(400, "InvalidPhoneNumber", "phoneNumber must be 10-18 digits")
    today = state.today()
    return JSONResponse(
        {
            "searchResults": [
                {
                    "dncGroupId": group.group_id,
                    "dncGroupName": group.name,
                    **record.as_json(),
                    "isHeld": record.held(today),
                }
                for group, record in state.cxone.search(key)
            ]
        }
    )


def _skills_of(group: Group, kind: str) -> set[int]:
    return group.contributing_skills if kind == "contributing-skills" else group.scrubbed_skills


def _skills_handler(kind: str) -> Handler:
    def handle(request: Request, state: EmulatorState) -> Response:
        return _skills(request, state, kind)

    return handle


def _skills(request: Request, state: EmulatorState, kind: str) -> Response:
    """Contributing and scrubbed skills: kept so clients can call them; not used by sync."""
    group = state.cxone.get(_group_id(request))
    skills = _skills_of(group, kind)
    if request.method == "GET":
        return JSONResponse(
            {"resultSet": {"skills": [{"skillId": skill} for skill in sorted(skills)]}}
        )
    try:
        skill = int(request.path_params["skill_id"])
    except (KeyError, ValueError):
        raise CxoneError(400, "InvalidParameter", "skillId must be an integer") from None
    if request.method == "POST":
        skills.add(skill)
    else:
        skills.discard(skill)
    return Response(status_code=204)


_ADMIN = "/inContactAPI/services/{version}/dnc-groups"

routes = [
    Route("/.well-known/cxone-configuration", cxone_configuration, methods=["GET"]),
    Route("/.well-known/openid-configuration", openid_configuration, methods=["GET"]),
    Route("/auth/token", token, methods=["POST"]),
    Route("/authentication/v1/token/access-key", access_key_token, methods=["POST"]),
    Route(_ADMIN, _admin(_list_groups), methods=["GET"]),
    Route(_ADMIN, _admin(_create_group), methods=["POST"]),
    Route(f"{_ADMIN}/search", _admin(_search), methods=["POST"]),
    Route(f"{_ADMIN}/{{group_id}}", _admin(_get_group), methods=["GET"]),
    Route(f"{_ADMIN}/{{group_id}}", _admin(_update_group), methods=["PUT"]),
    Route(f"{_ADMIN}/{{group_id}}/records", _admin(_list_records), methods=["GET"]),
    Route(f"{_ADMIN}/{{group_id}}/records", _admin(_add_records), methods=["POST"]),
    Route(f"{_ADMIN}/{{group_id}}/records", _admin(_expire_records), methods=["DELETE"]),
    *(
        route
        for kind in ("contributing-skills", "scrubbed-skills")
        for route in (
            Route(f"{_ADMIN}/{{group_id}}/{kind}", _admin(_skills_handler(kind)), methods=["GET"]),
            Route(
                f"{_ADMIN}/{{group_id}}/{kind}/{{skill_id}}",
                _admin(_skills_handler(kind)),
                methods=["POST", "DELETE"],
            ),
        )
    ),
]
