"""Genesys Cloud's HTTP surface: `/oauth/token` and the outbound DNC list API.

Routes parse and answer; the rules live in `genesys_store`. Each handler runs under the state
lock after the bearer token is checked (401 `authentication.required`, `bad.credentials` or
`credentials.expired`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dncsync.emulator.answers import (
    basic_credentials,
    context,
    genesys_error,
    genesys_error_body,
)
from dncsync.emulator.genesys_store import (
    EXPORT_HEADER,
    GenesysError,
    import_status_json,
    iso,
    parse_expiration,
)
from dncsync.emulator.state import EmulatorState
from dncsync.emulator.variants import (
    GENESYS_PATCH_CAP,
    GENESYS_SIZE_LAG_SECONDS,
    RENAMED_EXPORT_HEADER,
    REORDERED_EXPORT,
)

Handler = Callable[[Request, EmulatorState], Response]

_UPLOAD_HEADERS = {"Content-Type": "text/csv", "x-amz-server-side-encryption": "AES256"}


def _state(request: Request) -> EmulatorState:
    found = request.app.state.emulator
    assert isinstance(found, EmulatorState)
    return found


def _json(request: Request) -> Any:
    try:
        return json.loads(context(request).body or b"null")
    except ValueError:
        raise GenesysError(400, "bad.request", "The request body is not valid JSON") from None


def _bool(request: Request, name: str) -> bool:
    return request.query_params.get(name, "false").lower() == "true"


def _authenticate(request: Request, state: EmulatorState) -> str:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer "):
        raise GenesysError(
            401, "authentication.required", "No authentication bearer token specified"
        )
    caller, expired = state.token_caller(state.genesys_tokens, header[7:].strip())
    if caller is None:
        raise GenesysError(401, "bad.credentials", "Invalid login credentials.")
    if expired:
        raise GenesysError(401, "credentials.expired", "The access token has expired.")
    return caller


def _endpoint(
    handler: Handler, *, authenticated: bool = True
) -> Callable[[Request], Awaitable[Response]]:
    async def run(request: Request) -> Response:
        state = _state(request)
        try:
            with state.lock:
                if authenticated:
                    _authenticate(request, state)
                state.genesys.settle_imports(state.now_seconds(), state.now())
                return handler(request, state)
        except GenesysError as error:
            return genesys_error(
                error.status, error.code, error.message, context(request).correlation_id
            )

    return run


# OAuth -------------------------------------------------------------------------------


def _oauth_error(request: Request, status: int, code: str, error: str, message: str) -> Response:
    body = genesys_error_body(status, code, message, context(request).correlation_id)
    body.update({"error": error, "error_description": message})
    return JSONResponse(body, status)


async def token(request: Request) -> Response:
    """POST /oauth/token: client credentials with Basic auth."""
    state = _state(request)
    form = {k: v[0] for k, v in parse_qs(context(request).body.decode("utf-8", "replace")).items()}
    if form.get("grant_type") != "client_credentials":
        return _oauth_error(
            request,
            400,
            "bad.request",
            "unsupported_grant_type",
            "grant_type must be client_credentials",
        )
    pair = basic_credentials(request)
    settings = state.settings
    if pair != (settings.client_id, settings.client_secret):
        return _oauth_error(
            request, 401, "bad.credentials", "invalid_client", "Invalid login credentials."
        )
    issued = state.issue_token(state.genesys_tokens, settings.client_id, settings.token_ttl)
    return JSONResponse(
        {"access_token": issued, "token_type": "bearer", "expires_in": settings.token_ttl}
    )


# DNC lists ---------------------------------------------------------------------------


def _create_list(request: Request, state: EmulatorState) -> Response:
    created = state.genesys.create(_json(request), state.now())
    return JSONResponse(created.as_json(include_size=True, include_import_status=False))


def _paging(request: Request) -> tuple[int, int]:
    """`pageSize` (1-100) and `pageNumber` (from 1); 400 invalid.value otherwise."""
    query = request.query_params
    try:
        page_size = int(query.get("pageSize", "25"))
        page_number = int(query.get("pageNumber", "1"))
    except ValueError:
        raise GenesysError(
            400, "invalid.value", "pageSize and pageNumber must be integers"
        ) from None
    if not 1 <= page_size <= 100 or page_number < 1:
        raise GenesysError(400, "invalid.value", "pageSize must be 1-100 and pageNumber at least 1")
    return page_size, page_number


def _list_lists(request: Request, state: EmulatorState) -> Response:
    query = request.query_params
    page_size, page_number = _paging(request)
    descending = query.get("sortOrder", "ascending").lower().startswith("desc")
    found, total = state.genesys.page(
        page_size,
        page_number,
        query.get("name"),
        query.get("dncSourceType"),
        query.get("sortBy", "dateCreated"),
        descending,
    )
    include_size = _bool(request, "includeSize")
    include_status = _bool(request, "includeImportStatus")
    page_count = max(1, math.ceil(total / page_size))
    base = "/api/v2/outbound/dnclists"

    def uri(number: int) -> str:
        return f"{base}?pageSize={page_size}&pageNumber={number}"

    body: dict[str, object] = {
        "entities": [item.as_json(include_size, include_status) for item in found],
        "pageSize": page_size,
        "pageNumber": page_number,
        "total": total,
        "pageCount": page_count,
        "firstUri": uri(1),
        "selfUri": uri(page_number),
        "lastUri": uri(page_count),
    }
    if page_number < page_count:
        body["nextUri"] = uri(page_number + 1)
    if page_number > 1:
        body["previousUri"] = uri(page_number - 1)
    return JSONResponse(body)


def _get_list(request: Request, state: EmulatorState) -> Response:
    found = state.genesys.get(request.path_params["list_id"])
    body = found.as_json(_bool(request, "includeSize"), _bool(request, "includeImportStatus"))
    if "size" in body and state.settings.speaks("genesys_lagging_size"):
        body["size"] = found.size_at(state.now_seconds() - GENESYS_SIZE_LAG_SECONDS)
    return JSONResponse(body)


def _put_list(request: Request, state: EmulatorState) -> Response:
    updated = state.genesys.update(request.path_params["list_id"], _json(request), state.now())
    return JSONResponse(updated.as_json(include_size=True, include_import_status=False))


def _delete_list(request: Request, state: EmulatorState) -> Response:
    state.genesys.delete(request.path_params["list_id"])
    return Response(status_code=200)


def _list_campaigns(request: Request, state: EmulatorState) -> Response:
    """GET /api/v2/outbound/campaigns: paged; `dncListIds` keeps campaigns naming a list."""
    query = request.query_params
    page_size, page_number = _paging(request)
    wanted = {part for part in query.get("dncListIds", "").split(",") if part}
    found = [
        campaign
        for campaign in state.genesys.campaigns.values()
        if not wanted or wanted & {item["id"] for item in campaign["dncLists"]}
    ]
    start = (page_number - 1) * page_size
    return JSONResponse(
        {
            "entities": found[start : start + page_size],
            "pageSize": page_size,
            "pageNumber": page_number,
            "total": len(found),
            "pageCount": max(1, math.ceil(len(found) / page_size)),
        }
    )


# Numbers -----------------------------------------------------------------------------


def _strings(value: object, field: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise GenesysError(400, "invalid.value", f"{field} must be an array of strings")
    return value


def _capped(state: EmulatorState, numbers: list[str]) -> list[str]:
    """The numbers of one request, refused whole past the cap of `genesys_patch_cap`."""
    if state.settings.speaks("genesys_patch_cap") and len(numbers) > GENESYS_PATCH_CAP:
        raise GenesysError(
            400,
            "invalid.value",
            f"phoneNumbers may hold at most {GENESYS_PATCH_CAP} phone numbers; "
            f"{len(numbers)} were sent",
        )
    return numbers


def _writing(state: EmulatorState, list_id: str) -> Callable[[], None]:
    """Note the list's size before a write; the returned call notes it after."""
    found = state.genesys.get(list_id)
    before = len(found.numbers)

    def written() -> None:
        found.sizes.append((state.now_seconds(), before, len(found.numbers)))

    return written


def _patch_numbers(request: Request, state: EmulatorState) -> Response:
    body = _json(request)
    if not isinstance(body, dict):
        raise GenesysError(
            400, "bad.request", "The request body must be a DncPatchPhoneNumbersRequest"
        )
    numbers = _capped(state, _strings(body.get("phoneNumbers"), "phoneNumbers"))
    list_id = request.path_params["list_id"]
    written = _writing(state, list_id)
    action = body.get("action")
    if action == "Add":
        raw = body.get("expirationDateTime")
        expires = (
            parse_expiration(raw, state.now(), state.settings.max_expiration_days)
            if isinstance(raw, str) and raw
            else None
        )
        state.genesys.add(list_id, numbers, expires, state.now())
    elif action == "Remove":
        state.genesys.remove(list_id, numbers)
    else:
        raise GenesysError(400, "invalid.value", "action must be Add or Remove")
    written()
    return Response(status_code=204)


def _post_numbers(request: Request, state: EmulatorState) -> Response:
    numbers = _capped(state, _strings(_json(request), "body"))
    raw = request.query_params.get("expirationDateTime")
    expires = (
        parse_expiration(raw, state.now(), state.settings.max_expiration_days) if raw else None
    )
    written = _writing(state, request.path_params["list_id"])
    state.genesys.add(request.path_params["list_id"], numbers, expires, state.now())
    written()
    return Response(status_code=200)  # choice: the success status is unconfirmed


def _delete_numbers(request: Request, state: EmulatorState) -> Response:
    written = _writing(state, request.path_params["list_id"])
    state.genesys.clear(request.path_params["list_id"], _bool(request, "expiredOnly"), state.now())
    written()
    return Response(status_code=204)


# Export ------------------------------------------------------------------------------


def _start_export(request: Request, state: EmulatorState) -> Response:
    ready_at = state.now_seconds() + state.settings.export_delay_seconds
    header, order = EXPORT_HEADER, (0, 1, 2)
    if state.settings.speaks("genesys_export_renamed"):
        header = RENAMED_EXPORT_HEADER
    if state.settings.speaks("genesys_export_reordered"):
        order = REORDERED_EXPORT
    found = state.genesys.start_export(
        request.path_params["list_id"], state.now(), ready_at, header, order
    )
    return JSONResponse(
        {"id": found.id, "name": found.name, "selfUri": f"/api/v2/outbound/dnclists/{found.id}"}
    )


def _get_export(request: Request, state: EmulatorState) -> Response:
    found = state.genesys.get(request.path_params["list_id"])
    job = found.export
    if job is None or state.now_seconds() < job.ready_at:
        raise GenesysError(404, "not.found", "No export is ready for this DNC list yet")
    origin = str(request.base_url).rstrip("/")
    return JSONResponse(
        {
            "uri": f"{origin}/api/v2/downloads/{job.download_id}",
            "exportTimestamp": iso(job.requested_at),
        }
    )


def _download(request: Request, state: EmulatorState) -> Response:
    text = state.genesys.download(request.path_params["download_id"])
    return Response(text, media_type="text/csv")


# Import ------------------------------------------------------------------------------


def _new_upload(request: Request, state: EmulatorState) -> Response:
    body = _json(request)
    timeout = body.get("signedUrlTimeoutSeconds", 300) if isinstance(body, dict) else 300
    expires_at = state.now_seconds() + (
        timeout if isinstance(timeout, int) and timeout > 0 else 300
    )
    key = state.genesys.new_upload(body, dict(_UPLOAD_HEADERS), expires_at)
    origin = str(request.base_url).rstrip("/")
    return JSONResponse(
        {"url": f"{origin}/uploads/v2/dnclist/{key}", "uploadKey": key, "headers": _UPLOAD_HEADERS}
    )


def _import_status(request: Request, state: EmulatorState) -> Response:
    found = state.genesys.get(request.path_params["list_id"])
    if found.import_job is None:
        raise GenesysError(404, "not.found", "No import has been run on this DNC list")
    return JSONResponse(import_status_json(found.import_job, state.now_seconds()))


def _receive_upload(request: Request, state: EmulatorState) -> Response:
    """The signed URL: no bearer token, but every header the upload answer named must match."""
    key = request.path_params["upload_key"]
    upload = state.genesys.uploads.get(key)
    if upload is None:
        return Response("NoSuchUpload", status_code=404, media_type="text/plain")
    if state.now_seconds() >= upload.expires_at:
        return Response("Request has expired", status_code=403, media_type="text/plain")
    for name, value in upload.headers.items():
        if not request.headers.get(name, "").lower().startswith(value.lower()):
            return Response(
                f"SignatureDoesNotMatch: header {name} must be {value}",
                status_code=403,
                media_type="text/plain",
            )
    now = state.now_seconds()
    state.genesys.receive_upload(
        key, context(request).body, now, now + state.settings.import_seconds, state.now()
    )
    return Response(status_code=200)


_OUTBOUND = "/api/v2/outbound/dnclists"

routes = [
    Route("/oauth/token", token, methods=["POST"]),
    Route(_OUTBOUND, _endpoint(_create_list), methods=["POST"]),
    Route(_OUTBOUND, _endpoint(_list_lists), methods=["GET"]),
    Route(f"{_OUTBOUND}/uploads", _endpoint(_new_upload), methods=["POST"]),
    Route("/api/v2/outbound/campaigns", _endpoint(_list_campaigns), methods=["GET"]),
    Route(f"{_OUTBOUND}/{{list_id}}", _endpoint(_get_list), methods=["GET"]),
    Route(f"{_OUTBOUND}/{{list_id}}", _endpoint(_put_list), methods=["PUT"]),
    Route(f"{_OUTBOUND}/{{list_id}}", _endpoint(_delete_list), methods=["DELETE"]),
    Route(f"{_OUTBOUND}/{{list_id}}/phonenumbers", _endpoint(_patch_numbers), methods=["PATCH"]),
    Route(f"{_OUTBOUND}/{{list_id}}/phonenumbers", _endpoint(_post_numbers), methods=["POST"]),
    Route(f"{_OUTBOUND}/{{list_id}}/phonenumbers", _endpoint(_delete_numbers), methods=["DELETE"]),
    Route(f"{_OUTBOUND}/{{list_id}}/export", _endpoint(_start_export), methods=["POST"]),
    Route(f"{_OUTBOUND}/{{list_id}}/export", _endpoint(_get_export), methods=["GET"]),
    Route(f"{_OUTBOUND}/{{list_id}}/importstatus", _endpoint(_import_status), methods=["GET"]),
    Route("/api/v2/downloads/{download_id}", _endpoint(_download), methods=["GET"]),
    Route(
        "/uploads/v2/dnclist/{upload_key}",
        _endpoint(_receive_upload, authenticated=False),
        methods=["PUT"],
    ),
]
