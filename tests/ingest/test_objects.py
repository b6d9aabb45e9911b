"""Many files as one source: S3 prefixes and globs (moto's server), local folders and globs."""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from clirun import dncsync
from dncsync.errors import InputError
from dncsync.sources.objects import is_multi, matches

from .helpers import by_phone, run, write

DAY1 = b"phone,reason\n(415) 555-2671,opt-out\nxyz,opt-out\n"
DAY2 = b"phone,reason\n(212) 555-0143,litigator\n(415) 555-2671,litigator\n"
DAY3 = b"Phone;Reason\n(213) 555-0150;opt-out\n"


@pytest.fixture
def drops(s3: Any) -> str:
    client = s3.client()
    name = "dnc-drops"
    if name not in [b["Name"] for b in client.list_buckets().get("Buckets", [])]:
        client.create_bucket(Bucket=name)
        client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    client.put_object(Bucket=name, Key="dnc/2026-12-02.csv.gz", Body=gzip.compress(DAY2))
    client.put_object(Bucket=name, Key="dnc/2026-12-01.csv.gz", Body=gzip.compress(DAY1))
    client.put_object(Bucket=name, Key="dnc/2026-12-03.csv", Body=DAY3)
    client.put_object(Bucket=name, Key="dnc/old/2025-01-01.csv.gz", Body=gzip.compress(DAY1))
    client.put_object(Bucket=name, Key="other/x.csv", Body=DAY1)
    return name


def test_an_s3_prefix_is_one_source_read_in_key_order(s3: Any, drops: str) -> None:
    result, rejects = run(f"s3://{drops}/dnc/")
    info = result.sources[0]
    keys = [part.uri.rsplit("/dnc/", 1)[1] for part in info.objects]
    assert keys == [
        "2026-12-01.csv.gz",
        "2026-12-02.csv.gz",
        "2026-12-03.csv",
        "old/2025-01-01.csv.gz",
    ]
    assert all(part.s3_version_id and part.s3_etag for part in info.objects)
    assert info.objects[2].sha256 == hashlib.sha256(DAY3).hexdigest()
    assert info.rows == sum(part.rows for part in info.objects) == 7
    entries = by_phone(result)
    assert set(entries) == {"+14155552671", "+12125550143", "+12135550150"}
    assert entries["+14155552671"].reason.value == "LITIGATOR"  # merged across objects
    assert [(r.line, r.obj) for r in rejects.rejects] == [
        (3, f"s3://{drops}/dnc/2026-12-01.csv.gz"),
        (3, f"s3://{drops}/dnc/old/2025-01-01.csv.gz"),
    ]
    a = result.accounting
    assert (a.rows, a.values, a.accepted, a.duplicates, a.rejected) == (7, 7, 3, 2, 2)


def test_an_s3_glob_matches_segment_by_segment(s3: Any, drops: str) -> None:
    result, _ = run(f"s3://{drops}/dnc/*.csv.gz")
    assert [p.uri.rsplit("/", 1)[1] for p in result.sources[0].objects] == [
        "2026-12-01.csv.gz", "2026-12-02.csv.gz",
    ]  # fmt: skip
    with pytest.raises(InputError, match="no object matches"):
        run(f"s3://{drops}/dnc/*.xlsx")


def test_local_folder_and_glob(tmp_path: Path) -> None:
    folder = tmp_path / "drops"
    folder.mkdir()
    write(folder / "b.csv", DAY2)
    write(folder / "a.csv.gz", gzip.compress(DAY1))
    write(folder / ".partial", b"junk")
    (folder / "sub").mkdir()
    write(folder / "sub" / "c.csv", DAY3)
    assert is_multi(str(folder))
    result, _ = run(folder)
    assert [Path(p.uri).name for p in result.sources[0].objects] == ["a.csv.gz", "b.csv"]
    result, _ = run(str(folder / "*" / "*.csv"))
    assert [Path(p.uri).name for p in result.sources[0].objects] == ["c.csv"]
    with pytest.raises(InputError, match="no object matches"):
        run(str(folder / "*.xlsx"))


def test_globs_never_cross_a_slash() -> None:
    assert matches("dnc/*.csv", "dnc/a.csv")
    assert not matches("dnc/*.csv", "dnc/old/a.csv")
    assert matches("dnc/*/*.csv", "dnc/old/a.csv")
    assert not is_multi("s3://bucket/key.csv")
    assert is_multi("s3://bucket/")


def test_validate_lists_objects_and_writes_the_object_column(
    s3: Any, drops: str, tmp_path: Path
) -> None:
    rejects, warned = tmp_path / "rejects.csv", tmp_path / "warnings.csv"
    ran = dncsync(
        "validate", f"s3://{drops}/dnc/*.csv.gz", "--format", "json",
        "--rejects", str(rejects), "--warnings", str(warned), env=s3.env,
    )  # fmt: skip
    assert ran.code == 0, ran.stderr
    summary = json.loads(ran.stdout)
    objects = summary["sources"][0]["objects"]
    assert [o["uri"].rsplit("/", 1)[1] for o in objects] == [
        "2026-12-01.csv.gz",
        "2026-12-02.csv.gz",
    ]
    assert all(o["s3_etag"] and o["s3_version_id"] for o in objects)
    with rejects.open() as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["line", "raw_phone", "reason", "object"]
    assert rows[1][3].endswith("2026-12-01.csv.gz")
    with warned.open() as handle:
        assert next(csv.reader(handle)) == ["source", "line", "kind", "detail", "object"]
    assert stat.S_IMODE(os.stat(rejects).st_mode) == 0o600
