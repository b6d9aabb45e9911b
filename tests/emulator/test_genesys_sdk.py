"""The official Genesys Python SDK, pointed at the emulator, works end to end.

If the emulator's paths, payloads or error bodies drifted from the platform's, the SDK (built
from Genesys' own API definition) would fail to call or to deserialize them.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from PureCloudPlatformClientV2 import (
    ApiClient,
    DncListCreate,
    DNCListUploadUrlRequest,
    DncPatchPhoneNumbersRequest,
    OutboundApi,
)
from PureCloudPlatformClientV2.rest import ApiException

from dncsync.emulator import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    ManualClock,
    RunningEmulator,
)


@pytest.fixture
def sdk(emulator: RunningEmulator) -> ApiClient:
    # A base URL without an `api.` host makes the SDK send /oauth/token to the same origin.
    client = ApiClient(host=emulator.base_url)
    return client.get_client_credentials_token(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)


@pytest.fixture
def outbound(sdk: ApiClient) -> OutboundApi:
    return OutboundApi(sdk)


def model(cls: type, **fields: object) -> object:
    """SDK models take no constructor arguments: set attributes instead."""
    made = cls()
    for name, value in fields.items():
        setattr(made, name, value)
    return made


def error_body(sdk: ApiClient, error: ApiException) -> Any:
    """Deserialize an error answer the way the SDK's own models do."""

    class Answer:
        data = error.body

        def getheader(self, name: str) -> str:
            return "application/json"

    return sdk.deserialize(Answer(), "ErrorBody")


def new_list(outbound: OutboundApi, name: str = "Compliance", source: str = "rds") -> str:
    created = outbound.post_outbound_dnclists(
        model(DncListCreate, name=name, dnc_source_type=source, contact_method="Phone")
    )
    assert created.id
    return str(created.id)


def export(
    outbound: OutboundApi, sdk: ApiClient, list_id: str, clock: ManualClock
) -> list[list[str]]:
    outbound.post_outbound_dnclist_export(list_id)
    with pytest.raises(ApiException) as not_ready:
        outbound.get_outbound_dnclist_export(list_id)
    assert not_ready.value.status == 404
    clock.advance(5)
    ready = outbound.get_outbound_dnclist_export(list_id)
    assert ready.export_timestamp is not None
    assert httpx.get(ready.uri).status_code == 401  # the download needs a bearer token too
    download = httpx.get(ready.uri, headers={"Authorization": f"Bearer {sdk.access_token}"})
    assert download.status_code == 200
    return list(csv.reader(io.StringIO(download.text)))


def test_create_get_and_list_dnc_lists(outbound: OutboundApi) -> None:
    list_id = new_list(outbound, "Litigators")
    fetched = outbound.get_outbound_dnclist(list_id, include_size=True)
    assert (fetched.name, fetched.dnc_source_type, fetched.size, fetched.version) == (
        "Litigators",
        "rds",
        0,
        1,
    )
    listing = outbound.get_outbound_dnclists(page_size=25, page_number=1)
    assert [entity.id for entity in listing.entities] == [list_id]
    assert listing.total == 1


def test_add_remove_and_export_numbers(
    outbound: OutboundApi, sdk: ApiClient, clock: ManualClock
) -> None:
    list_id = new_list(outbound)
    expires = (datetime.fromtimestamp(clock(), UTC) + timedelta(days=30)).strftime(
        "%Y-%m-%dT%H:%MZ"
    )
    outbound.patch_outbound_dnclist_phonenumbers(
        list_id,
        model(
            DncPatchPhoneNumbersRequest,
            action="Add",
            phone_numbers=["+14155552671", "+1 (415) 555-2672", "+442079460000"],
            expiration_date_time=expires,
        ),
    )
    # The same number again, formatted differently, with no expiration: stored once.
    outbound.post_outbound_dnclist_phonenumbers(list_id, ["+1-415-555-2671"])
    outbound.patch_outbound_dnclist_phonenumbers(
        list_id,
        model(DncPatchPhoneNumbersRequest, action="Remove", phone_numbers=["+442079460000"]),
    )
    assert outbound.get_outbound_dnclist(list_id, include_size=True).size == 2

    rows = export(outbound, sdk, list_id, clock)
    assert rows[0] == ["phone_number", "date_added", "expiration_date_time"]
    assert {row[0]: row[2] for row in rows[1:]} == {
        "+14155552671": "",
        "+14155552672": expires,
    }


def test_import_through_an_upload_url(
    outbound: OutboundApi, sdk: ApiClient, clock: ManualClock
) -> None:
    list_id = new_list(outbound)
    upload = outbound.post_outbound_dnclists_uploads(
        model(
            DNCListUploadUrlRequest,
            id=list_id,
            content_type="text/csv",
            phone_columns=["phone"],
            signed_url_timeout_seconds=60,
        )
    )
    body = "phone,name\n+14155552671,a\n+14155552672,b\n+14155552673,c\n"
    put = httpx.put(upload.url, content=body.encode(), headers=upload.headers)
    assert put.status_code == 200

    status = outbound.get_outbound_dnclist_importstatus(list_id)
    assert (status.state, status.total_records) == ("IN_PROGRESS", 3)
    assert outbound.get_outbound_dnclist(list_id, include_size=True).size == 0
    clock.advance(5)
    status = outbound.get_outbound_dnclist_importstatus(list_id)
    assert (status.completed_records, status.percent_complete) == (3, 100)
    assert outbound.get_outbound_dnclist(list_id, include_size=True).size == 3


def test_error_bodies_deserialize_into_the_sdk_model(
    outbound: OutboundApi, sdk: ApiClient, clock: ManualClock
) -> None:
    list_id = new_list(outbound)
    too_far = (datetime.fromtimestamp(clock(), UTC) + timedelta(days=181)).strftime(
        "%Y-%m-%dT%H:%MZ"
    )
    with pytest.raises(ApiException) as refused:
        outbound.patch_outbound_dnclist_phonenumbers(
            list_id,
            model(
                DncPatchPhoneNumbersRequest,
                action="Add",
                phone_numbers=["+14155552671"],
                expiration_date_time=too_far,
            ),
        )
    body = error_body(sdk, refused.value)
    assert (refused.value.status, body.status, body.code) == (400, 400, "invalid.date")
    assert body.context_id == refused.value.headers["ININ-Correlation-Id"]

    with pytest.raises(ApiException) as missing:
        outbound.get_outbound_dnclist("00000000-0000-0000-0000-000000000000")
    assert (missing.value.status, error_body(sdk, missing.value).code) == (404, "not.found")

    current = outbound.get_outbound_dnclist(list_id)
    current.name = "Renamed"
    outbound.put_outbound_dnclist(list_id, current)  # version 1 -> 2
    with pytest.raises(ApiException) as stale:
        outbound.put_outbound_dnclist(list_id, current)  # still says version 1
    assert stale.value.status == 409


def test_wrong_credentials_are_refused(emulator: RunningEmulator) -> None:
    with pytest.raises(ApiException) as refused:
        ApiClient(host=emulator.base_url).get_client_credentials_token("someone", "wrong")
    assert refused.value.status == 401
    assert (
        ApiClient()
        .deserialize(
            type("A", (), {"data": refused.value.body, "getheader": lambda s, n: None})(),
            "ErrorBody",
        )
        .code
        == "bad.credentials"
    )
