"""S3 sources: one GetObject, streamed; every failure becomes one line that says what to do."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from dncsync.errors import InputError


@dataclass(frozen=True, slots=True)
class S3Object:
    """An open S3 object: its streaming body and the identity it was read at."""

    body: Any  # botocore StreamingBody
    size: int | None
    version_id: str | None
    etag: str | None


def split_url(url: str) -> tuple[str, str]:
    """`s3://bucket/key` into bucket and key."""
    rest = url[len("s3://") :]
    bucket, _, key = rest.partition("/")
    if not bucket or not key:
        raise InputError(f"{url}: an S3 source is s3://bucket/key")
    return bucket, key


def open_object(url: str, endpoint_url: str | None) -> S3Object:
    """GetObject through the standard AWS credential chain (and AWS_ENDPOINT_URL)."""
    # boto3 costs a fifth of a second to import: only S3 sources pay for it.
    import boto3

    bucket, key = split_url(url)
    endpoint = endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None
    try:
        client = boto3.client("s3", endpoint_url=endpoint)
        response = client.get_object(Bucket=bucket, Key=key)
    except Exception as error:
        raise _failure(url, bucket, key, error) from None
    etag = response.get("ETag")
    return S3Object(
        body=response["Body"],
        size=response.get("ContentLength"),
        version_id=response.get("VersionId"),
        etag=etag.strip('"') if isinstance(etag, str) else None,
    )


def list_keys(url: str, endpoint_url: str | None) -> list[str]:
    """Every key under `s3://bucket/prefix` (ListObjectsV2, all pages), in key order."""
    import boto3

    rest = url[len("s3://") :]
    bucket, _, prefix = rest.partition("/")
    if not bucket:
        raise InputError(f"{url}: an S3 source is s3://bucket/key or s3://bucket/prefix/")
    endpoint = endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None
    keys: list[str] = []
    try:
        client = boto3.client("s3", endpoint_url=endpoint)
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            keys.extend(str(item["Key"]) for item in page.get("Contents", ()))
    except Exception as error:
        raise _failure(url, bucket, prefix, error) from None
    return sorted(keys)


def identities(url: str, endpoint_url: str | None) -> list[tuple[str, str, int]]:
    """(key, ETag, size) of every object under `s3://bucket/prefix`, or of the one key a
    URL names: what a scheduled source compares, with no object read."""
    import boto3

    rest = url[len("s3://") :]
    bucket, _, prefix = rest.partition("/")
    if not bucket:
        raise InputError(f"{url}: an S3 source is s3://bucket/key or s3://bucket/prefix/")
    endpoint = endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None
    found: list[tuple[str, str, int]] = []
    try:
        client = boto3.client("s3", endpoint_url=endpoint)
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", ()):
                etag = str(item.get("ETag", "")).strip('"')
                found.append((str(item["Key"]), etag, int(item.get("Size", 0))))
    except Exception as error:
        raise _failure(url, bucket, prefix, error) from None
    return sorted(found)


def _failure(url: str, bucket: str, key: str, error: Exception) -> InputError:
    """One clear line for an S3 request that failed."""
    import botocore.exceptions as aws

    if isinstance(error, aws.ClientError):
        code = str(error.response.get("Error", {}).get("Code", ""))
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code == "NoSuchBucket":
            return InputError(f"{url}: no such S3 bucket {bucket!r}")
        if code in ("NoSuchKey", "404") or status == 404:
            return InputError(f"{url}: no such S3 key {key!r} in bucket {bucket!r}")
        if code in ("AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
            return InputError(
                f"{url}: access denied ({code}); check the AWS credentials and the bucket policy"
            )
        return InputError(f"{url}: S3 refused the read ({code or status})")
    if isinstance(error, aws.NoCredentialsError):
        return InputError(
            f"{url}: no AWS credentials found (set AWS_PROFILE or AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY)"
        )
    if isinstance(error, aws.EndpointConnectionError | aws.ConnectionError):
        return InputError(f"{url}: cannot reach the S3 endpoint ({error})")
    if isinstance(error, aws.BotoCoreError):
        return InputError(f"{url}: {error}")
    raise error
