"""`/_emulator/`: the emulator's own API for tests and demos, never part of a platform.

The request log, a state dump, a reset, and direct edits that bypass every platform rule
(to plant drift a reconcile must find). Never rate-limited, never faulted, never logged.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dncsync.emulator.answers import context
from dncsync.emulator.cxone_store import CxoneError
from dncsync.emulator.genesys_store import GenesysError
from dncsync.emulator.state import EmulatorState

Handler = Callable[[Request, EmulatorState, Any], Response]


class _BadRequest(Exception):
    pass


def _endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def run(request: Request) -> Response:
        state = request.app.state.emulator
        assert isinstance(state, EmulatorState)
        try:
            body = json.loads(context(request).body or b"null")
        except ValueError:
            return JSONResponse({"error": "the body is not JSON"}, 400)
        try:
            return handler(request, state, body)
        except (GenesysError, CxoneError) as error:
            status = error.status
            return JSONResponse({"error": str(error)}, status)
        except (_BadRequest, ValueError, TypeError) as error:
            return JSONResponse({"error": str(error)}, 400)

    return run


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise _BadRequest("the body must be a JSON object")
    return body


def _requests(request: Request, state: EmulatorState, body: Any) -> Response:
    since = int(request.query_params.get("since", "0"))
    return JSONResponse({"requests": [entry.as_json() for entry in state.requests(since)]})


def _clear_requests(request: Request, state: EmulatorState, body: Any) -> Response:
    state.clear_requests()
    return Response(status_code=204)


def _dump(request: Request, state: EmulatorState, body: Any) -> Response:
    return JSONResponse(state.dump())


def _reset(request: Request, state: EmulatorState, body: Any) -> Response:
    state.reset()
    return Response(status_code=204)


def _settings(request: Request, state: EmulatorState, body: Any) -> Response:
    settings = state.settings
    return JSONResponse(
        {
            "clientId": settings.client_id,
            "accessKeyId": settings.access_key_id,
            "tenantId": settings.tenant_id,
            "tokenTtl": settings.token_ttl,
            "cxoneTokenTtl": settings.cxone_token_ttl,
            "rateLimit": str(settings.rate_limit),
            "cxoneRateLimit": str(settings.effective_cxone_rate_limit),
            "retryAfter": settings.retry_after,
            "cxoneRetryAfterHeader": settings.cxone_retry_after_header,
            "seed": settings.seed,
            "latencyMs": settings.latency_ms,
            "faults": asdict(settings.faults),
            "variants": sorted(settings.variants),
        }
    )


def _genesys_create(request: Request, state: EmulatorState, body: Any) -> Response:
    fields = _object(body)
    list_id = state.genesys_create_list(
        str(fields.get("name", "")),
        fields.get("numbers", []),
        source_type=str(fields.get("dncSourceType", "rds")),
        expiration=fields.get("expirationDateTime"),
    )
    return JSONResponse({"id": list_id}, 201)


def _genesys_edit(request: Request, state: EmulatorState, body: Any) -> Response:
    fields = _object(body)
    state.genesys_edit(
        request.path_params["list_id"],
        add=fields.get("add", []),
        remove=fields.get("remove", []),
        expiration=fields.get("expirationDateTime"),
    )
    return Response(status_code=204)


def _genesys_numbers(request: Request, state: EmulatorState, body: Any) -> Response:
    return JSONResponse({"numbers": state.genesys_numbers(request.path_params["list_id"])})


def _cxone_create(request: Request, state: EmulatorState, body: Any) -> Response:
    fields = _object(body)
    group_id = state.cxone_create_group(str(fields.get("name", "")), fields.get("records", []))
    return JSONResponse({"dncGroupId": group_id}, 201)


def _cxone_edit(request: Request, state: EmulatorState, body: Any) -> Response:
    fields = _object(body)
    state.cxone_edit(
        int(request.path_params["group_id"]),
        upsert=fields.get("upsert", []),
        delete=fields.get("delete", []),
    )
    return Response(status_code=204)


def _cxone_records(request: Request, state: EmulatorState, body: Any) -> Response:
    return JSONResponse({"records": state.cxone_records(int(request.path_params["group_id"]))})


routes = [
    Route("/_emulator/requests", _endpoint(_requests), methods=["GET"]),
    Route("/_emulator/requests", _endpoint(_clear_requests), methods=["DELETE"]),
    Route("/_emulator/state", _endpoint(_dump), methods=["GET"]),
    Route("/_emulator/reset", _endpoint(_reset), methods=["POST"]),
    Route("/_emulator/settings", _endpoint(_settings), methods=["GET"]),
    Route("/_emulator/genesys/dnclists", _endpoint(_genesys_create), methods=["POST"]),
    Route("/_emulator/genesys/dnclists/{list_id}", _endpoint(_genesys_edit), methods=["PATCH"]),
    Route(
        "/_emulator/genesys/dnclists/{list_id}/numbers",
        _endpoint(_genesys_numbers),
        methods=["GET"],
    ),
    Route("/_emulator/cxone/dnc-groups", _endpoint(_cxone_create), methods=["POST"]),
    Route("/_emulator/cxone/dnc-groups/{group_id:int}", _endpoint(_cxone_edit), methods=["PATCH"]),
    Route(
        "/_emulator/cxone/dnc-groups/{group_id:int}/records",
        _endpoint(_cxone_records),
        methods=["GET"],
    ),
]
