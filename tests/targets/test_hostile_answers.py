"""Reads against a platform that answers badly: links elsewhere, damaged exports, endless pages.

The emulator runs in-process with one route answered otherwise (`Override`); over real
sockets and through the command, `tests/hostile/` drives the same cases.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from dncsync.emulator import EmulatorApp
from dncsync.errors import AnswerRefused, PlatformUnreachable
from dncsync.platforms.cxone import CxoneTarget
from dncsync.platforms.genesys import GenesysTarget
from dncsync.platforms.genesys import export as genesys_export
from dncsync.targets import WriteBatch

from .support import cxone_settings, genesys_settings

pytestmark = pytest.mark.anyio

Answer = Callable[[Request], Response | None]


class Override:
    """The emulator, with requests `answer` picks answered by it instead; every host seen."""

    def __init__(self, app: ASGIApp, answer: Answer) -> None:
        self.app, self.answer = app, answer
        self.hosts: list[str] = []
        self.paths: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            request = Request(scope)
            self.hosts.append(request.url.netloc)
            self.paths.append(f"{scope['method']} {scope['path']}")
            response = self.answer(request)
            if response is not None:
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self))


def export_answer(uri: object) -> Answer:
    def answer(request: Request) -> Response | None:
        if request.method == "GET" and request.url.path.endswith("/export"):
            return JSONResponse({"uri": uri, "exportTimestamp": f"{time.monotonic()}"})
        return None

    return answer


def genesys(app: EmulatorApp, answer: Answer, **settings: Any) -> tuple[GenesysTarget, Override]:
    list_id = app.emulator.genesys_create_list("hostile", ["+14155552671"])
    override = Override(app, answer)
    target = GenesysTarget(
        genesys_settings(dnc_list_id=list_id, export_timeout_seconds=600, **settings),
        override.client(),
    )
    return target, override


# --- where an export may lead ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("link", "base_url", "followed"),
    [
        ("https://api.mypurecloud.com/api/v2/downloads/1", None, True),
        ("https://files.mypurecloud.com/x.csv", None, True),  # the region's own domain
        ("http://api.mypurecloud.com/api/v2/downloads/1", None, False),  # not https
        ("https://mypurecloud.com.evil.net/x.csv", None, False),
        ("https://bucket.s3.amazonaws.com/x.csv", None, False),
        ("https://gw.example.org/dl/1", "https://gw.example.org", True),  # base_url's origin
        ("https://api.mypurecloud.com/dl/1", "https://gw.example.org", True),
        ("http://127.0.0.1:8765/dl/1", "http://127.0.0.1:8765", True),
        ("http://127.0.0.1:9999/dl/1", "http://127.0.0.1:8765", False),  # another port
        # TLS is not verified for a loopback base_url: nothing else through its client.
        ("https://api.mypurecloud.com/dl/1", "http://127.0.0.1:8765", False),
    ],
)
def test_an_export_is_followed_only_to_the_platforms_own_hosts(
    link: str, base_url: str | None, followed: bool
) -> None:
    url = genesys_export.link_of(link)
    assert url is not None
    assert genesys_export.allowed(url, "mypurecloud.com", base_url) is followed


@pytest.mark.parametrize("value", [42, "", "not a url", "ftp://x/y", "//x/y", {"href": "x"}])
def test_a_link_that_is_not_a_url_is_none(value: object) -> None:
    assert genesys_export.link_of(value) is None


async def test_a_link_that_is_not_a_url_is_refused_at_once(app: EmulatorApp) -> None:
    target, _ = genesys(app, export_answer({"href": "/x"}))
    started = time.monotonic()
    with pytest.raises(AnswerRefused, match=r"a link that is not a URL \(\{'href': '/x'\}\)"):
        await target.read_all()
    assert time.monotonic() - started < 5  # not polled until export_timeout_seconds (600)


async def test_a_link_elsewhere_is_not_followed(app: EmulatorApp) -> None:
    target, override = genesys(app, export_answer("https://storage.example.net/x.csv?sig=1"))
    with pytest.raises(AnswerRefused, match=r"storage\.example\.net/x\.csv'.*not followed"):
        await target.read_all()
    assert "storage.example.net" not in override.hosts


async def test_a_redirect_elsewhere_is_not_followed(app: EmulatorApp) -> None:
    def answer(request: Request) -> Response | None:
        if request.url.path.startswith("/api/v2/downloads/"):
            return RedirectResponse("https://storage.example.net/x.csv", status_code=302)
        return None

    target, override = genesys(app, answer)
    with pytest.raises(AnswerRefused, match=r"download redirected to .*storage\.example\.net"):
        await target.read_all()
    assert "storage.example.net" not in override.hosts


# --- how an export is read ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"phone,added,expires\n+14155552671,,\n+1415\xff5552672,,\n", "line 3: not UTF-8"),
        (b"phone\n" + b"1" * 70_000 + b"\n", "line 2: a line longer than 65,536 bytes"),
        (b"phone\n" + b"9" * 100 + b",,\n", "line 2: a number column of 100 characters"),
        (b'phone\n"' + b"1,\n" * 60_000 + b'"\n', "field larger than field limit"),
    ],
)
def test_a_damaged_export_names_the_line(content: bytes, why: str) -> None:
    with pytest.raises(genesys_export.ExportUnreadable, match=why):
        list(genesys_export.rows(io.BytesIO(content)))


def test_an_export_with_a_byte_order_mark_and_quoted_lines_reads() -> None:
    content = '\ufeffphone,added,expires\r\n"+1 415 555 2671",,\r\n"+14155552672","a\nb",\r\n'
    rows = list(genesys_export.rows(io.BytesIO(content.encode())))
    assert rows == [
        ["phone", "added", "expires"],
        ["+1 415 555 2671", "", ""],
        ["+14155552672", "a\nb", ""],
    ]


async def test_a_damaged_export_fails_the_read_with_one_line(app: EmulatorApp) -> None:
    def answer(request: Request) -> Response | None:
        if request.url.path.startswith("/api/v2/downloads/"):
            return Response(b"phone,a,b\n+14155552671,,\n\xc3\x28,,\n", media_type="text/csv")
        return None

    target, _ = genesys(app, answer)
    with pytest.raises(AnswerRefused, match=r"not a readable CSV \(line 3: not UTF-8"):
        await target.read_all()


async def test_a_number_listed_twice_is_read_once_in_its_most_protective_reading(
    app: EmulatorApp,
) -> None:
    def answer(request: Request) -> Response | None:
        if request.url.path.startswith("/api/v2/downloads/"):
            csv = (
                "phone,added,expires\n"
                "+14155552671,,2001-01-01T00:00Z\n"  # expired long ago
                "+14155552671,,\n"  # held, no expiry
                "+14155552671,,2001-02-01T00:00Z\n"
                "+14155552672,,2001-01-01T00:00Z\n"
                "+14155552672,,2001-03-01T00:00Z\n"
            )
            return Response(csv.encode(), media_type="text/csv")
        return None

    target, _ = genesys(app, answer)
    records = {record.phone: record for record in await target.read_all()}
    assert len(records) == 2
    assert (records["+14155552671"].held, records["+14155552671"].expires) == (True, None)
    assert str(records["+14155552672"].expires) == "2001-02-28"  # the later one


# --- paging that does not advance, a platform that does not answer --------------------------


async def test_paging_that_repeats_a_page_stops(app: EmulatorApp) -> None:
    page = {"resultSet": {"totalRecords": 10**9, "dncRecords": [{"phoneNumber": "4155552671"}]}}

    def answer(request: Request) -> Response | None:
        if request.method == "GET" and request.url.path.endswith("/records"):
            return JSONResponse(page)  # whatever `skip` says
        return None

    group = app.emulator.cxone_create_group("hostile")
    override = Override(app, answer)
    target = CxoneTarget(cxone_settings(dnc_group_id=group), override.client())
    with pytest.raises(AnswerRefused, match="does not advance: the page at skip=1 repeats"):
        await target.read_all()
    assert sum(path.endswith("/records") for path in override.paths) == 2


async def test_a_platform_that_stops_answering_fails_the_target_at_its_first_batch(
    app: EmulatorApp,
) -> None:
    list_id = app.emulator.genesys_create_list("hostile")

    def answer(request: Request) -> Response | None:
        if request.method == "PATCH":
            raise httpx.ConnectError("Connection refused")
        return None

    override = Override(app, answer)
    target = GenesysTarget(
        genesys_settings(dnc_list_id=list_id, retry_budget_seconds=0.3), override.client()
    )
    with pytest.raises(PlatformUnreachable) as stopped:
        await target.push(WriteBatch("add", ("+14155552671",)))
    message = str(stopped.value)
    assert "genesys-test: no answer from emulator.test (ConnectError" in message
    assert "Check the target's base_url" in message
    assert "HTTPS_PROXY" in message
