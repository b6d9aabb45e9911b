"""S3 sources through moto's server on a loopback port: streamed, hashed, and clear on failure."""

from __future__ import annotations

import gzip
import hashlib
from typing import Any

import pytest

from dncsync.errors import InputError

from .helpers import run

BODY = b"phone_number,reason\n(415) 555-2671,opt-out\n(212) 555-0123,litigator\nxyz,opt-out\n"


@pytest.fixture
def bucket(s3: Any) -> str:
    client = s3.client()
    name = "dnc-exports"
    if name not in [b["Name"] for b in client.list_buckets().get("Buckets", [])]:
        client.create_bucket(Bucket=name)
        client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    client.put_object(Bucket=name, Key="optouts.csv", Body=BODY)
    client.put_object(Bucket=name, Key="optouts.csv.gz", Body=gzip.compress(BODY))
    return name


def test_s3_object_is_read_with_its_version_and_digest(s3: Any, bucket: str) -> None:
    result, rejects = run(f"s3://{bucket}/optouts.csv")
    assert len(result) == 2
    assert len(rejects.rejects) == 1
    info = result.sources[0]
    assert info.sha256 == hashlib.sha256(BODY).hexdigest()
    assert info.bytes == len(BODY)
    assert info.s3_version_id
    assert info.s3_etag == hashlib.md5(BODY).hexdigest()  # noqa: S324 - S3's ETag is an MD5


def test_gzip_objects_are_decompressed(s3: Any, bucket: str) -> None:
    result, _ = run(f"s3://{bucket}/optouts.csv.gz")
    assert len(result) == 2


def test_endpoint_can_be_given_explicitly(s3: Any, bucket: str, monkeypatch: Any) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    result, _ = run(f"s3://{bucket}/optouts.csv", s3_endpoint_url=s3.url)
    assert len(result) == 2


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("s3://no-such-bucket/x.csv", "no such S3 bucket"),
        ("s3://dnc-exports/missing.csv", "no such S3 key"),
        ("s3://dnc-exports", "s3://bucket/key"),
    ],
)
def test_missing_bucket_or_key_is_one_clear_error(
    s3: Any, bucket: str, url: str, message: str
) -> None:
    with pytest.raises(InputError, match=message):
        run(url)


def test_access_denied_is_one_clear_error(s3: Any, bucket: str, monkeypatch: Any) -> None:
    # moto's server runs in this process: switching its authentication on makes it refuse
    # unknown keys, as AWS does (what its /moto-api/reset-auth endpoint does).
    from moto import settings
    from moto.core.responses import ActionAuthenticatorMixin

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAUNKNOWNKEY000000")
    monkeypatch.setattr(settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0)
    monkeypatch.setattr(ActionAuthenticatorMixin, "request_count", 0)
    with pytest.raises(InputError, match="access denied"):
        run(f"s3://{bucket}/optouts.csv")
