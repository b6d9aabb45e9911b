"""Ingest end to end on real files: CSV in the wild, accounting, merging, rejects, round trips."""

from __future__ import annotations

import gzip
import random
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dncsync.entryfile import ENTRY_HEADER, write_columns, write_entries
from dncsync.errors import InputError
from dncsync.ingest import ingest
from dncsync.model import ExpirationPolicy, Reason, RejectReason
from dncsync.policy import DEFAULT_POLICY, read_date_collected, read_expiration
from dncsync.rejects import RejectList, RejectsCsv
from dncsync.sources import SourceSpec

from .helpers import TODAY, by_phone, run, write
from .messy import load_bench

HEADER = "phone_number,reason,source,date_collected\n"


def test_sample_file_accounts_for_every_row() -> None:
    result, rejects = run(Path(__file__).parents[2] / "samples" / "optouts.csv")
    accounting = result.accounting
    assert accounting.balanced()
    assert accounting.rows == accounting.accepted + accounting.duplicates + accounting.rejected
    assert accounting.rejected == len(rejects.rejects)


def test_bom_crlf_quotes_and_ragged_columns(tmp_path: Path) -> None:
    text = (
        "\ufeffPhone Number,Reason,Source\r\n"
        '"(415) 555-2671","customer, requested ""web""",crm,extra,columns\r\n'
        "+1 212 555 0123\r\n"
        '"1-650-253-0000",litigator,"legal"\r\n'
    )
    result, _ = run(write(tmp_path / "a.csv", text))
    entries = by_phone(result)
    assert set(entries) == {"+14155552671", "+12125550123", "+16502530000"}
    assert entries["+16502530000"].reason is Reason.LITIGATOR
    assert entries["+14155552671"].reason is Reason.UNKNOWN
    assert result.unmapped_reasons == {'customer, requested "web"': 1}
    assert result.accounting.warnings["short_row"] == 1


def test_blank_lines_are_not_rows_and_lines_are_physical(tmp_path: Path) -> None:
    text = (
        HEADER
        + "\n"
        + "   \n"
        + '"not\na number",litigator,crm,2026-01-01\n'
        + "\r\n"
        + "123,litigator,crm,2026-01-01\n"
        + "(415) 555-2671,,crm,\n"
    )
    result, rejects = run(write(tmp_path / "a.csv", text))
    assert result.accounting.blank_lines == 3
    assert result.accounting.rows == 3
    assert [(r.line, r.raw_phone, r.reason) for r in rejects.rejects] == [
        (4, "not\na number", RejectReason.NOT_A_NUMBER),
        (7, "123", RejectReason.TOO_SHORT),
    ]


def test_a_line_that_is_not_utf8_is_read_as_cp1252_and_warned(tmp_path: Path) -> None:
    data = HEADER.encode() + "(415) 555-2671,opt-out,Caf\u00e9,\n".encode("cp1252")
    data += "(212) 555-0123,opt-out,Caf\u00e9,\n".encode()
    result, _ = run(write(tmp_path / "a.csv", data))
    assert {entry.source for entry in result.entries()} == {"Caf\u00e9"}
    assert result.accounting.warnings["cp1252_line"] == 1


def test_forced_encoding_and_utf16(tmp_path: Path) -> None:
    text = HEADER + "(415) 555-2671,opt-out,\u00c9lan,\n"
    result, _ = run(write(tmp_path / "a.csv", text.encode("latin-1")), encoding="latin-1")
    assert [entry.source for entry in result.entries()] == ["\u00c9lan"]
    result, _ = run(write(tmp_path / "b.csv", text.encode("utf-16")))
    assert [entry.source for entry in result.entries()] == ["\u00c9lan"]


def test_gzip_sources_are_hashed_as_stored(tmp_path: Path) -> None:
    raw = (HEADER + "(415) 555-2671,opt-out,crm,\n").encode()
    path = write(tmp_path / "a.csv.gz", gzip.compress(raw))
    result, _ = run(path)
    assert len(result) == 1
    import hashlib

    assert result.sources[0].sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert result.sources[0].bytes == path.stat().st_size


def test_headerless_and_named_columns(tmp_path: Path) -> None:
    result, _ = run(write(tmp_path / "a.csv", "(415) 555-2671\n2125550123\n"), no_header=True)
    assert len(result) == 2
    text = "id,contact,why\n1,(415) 555-2671,litigator\n"
    result, _ = run(write(tmp_path / "b.csv", text), phone_column="Contact", reason_column="why")
    assert next(result.entries()).reason is Reason.LITIGATOR


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"id,name\n1,x\n", "no phone column"),
        (b"phone\n\x00\x01\x02\n", "NUL byte"),
        (b"\x1f\x8b\x08\x00garbage", "gzip"),
    ],
)
def test_unreadable_input_raises_one_clear_error(
    tmp_path: Path, content: bytes, message: str
) -> None:
    with pytest.raises(InputError, match=message):
        run(write(tmp_path / "a.csv", content))


def test_missing_file_and_unknown_region(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        run(tmp_path / "nope.csv")
    with pytest.raises(InputError, match="region"):
        run(write(tmp_path / "a.csv", HEADER), default_region="XX")


def test_duplicates_merge_most_protectively_across_sources(tmp_path: Path) -> None:
    first = write(
        tmp_path / "a.csv",
        HEADER + "(415) 555-2671,customer request,,2024-03-01\n+1 415 555 2671,opt-out,,\n",
    )
    second = write(tmp_path / "b.csv", HEADER + "1-415-555-2671,litigator,,2025-01-01\n")
    specs = [SourceSpec("crm", str(first)), SourceSpec("legal", str(second))]
    result = ingest(specs, DEFAULT_POLICY, today=TODAY)
    assert result.accounting.duplicates == 2
    assert result.accounting.accepted == 1
    (entry,) = result.entries()
    assert entry.reason is Reason.LITIGATOR
    assert entry.source == "legal"
    assert entry.expiration_policy is ExpirationPolicy.NEVER
    assert entry.date_collected == date(2024, 3, 1)
    assert [info.rows for info in result.sources] == [2, 1]


def test_customer_requests_without_a_date_expire_five_years_from_today(tmp_path: Path) -> None:
    result, _ = run(write(tmp_path / "a.csv", HEADER + "(415) 555-2671,opt-out,,\n"))
    (entry,) = result.entries()
    assert entry.expiration_policy is ExpirationPolicy.RELATIVE
    assert entry.expires_at == date(2031, 11, 22)
    assert entry.date_collected is None


def test_expired_entries_are_accepted_and_counted(tmp_path: Path) -> None:
    text = "phone,reason,collected,expires\n(415) 555-2671,company policy,2019-01-01,2020-01-01\n"
    result, _ = run(write(tmp_path / "a.csv", text))
    assert len(result) == 1
    assert result.expired() == 1


def test_output_reads_back_to_the_same_entries(tmp_path: Path) -> None:
    bench = load_bench()
    source = tmp_path / "messy.csv"
    bench.write_csv(source, rows=3_000, seed=5)
    result, _ = run(source, name="messy")
    out = tmp_path / "out.csv"
    write_entries(result.entries(), str(out))
    assert out.read_text().splitlines()[0] == ",".join(ENTRY_HEADER)
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    columns = tmp_path / "columns.csv"
    write_columns(result.chunks(size=500), result.source_names, str(columns))
    assert columns.read_text() == out.read_text()
    assert oct(columns.stat().st_mode & 0o777) == "0o600"
    again, rejects = run(out, name="again")
    assert list(again.entries()) == list(result.entries())
    assert again.accounting.duplicates == 0
    assert not rejects.rejects


def _rows(seed: int, count: int) -> list[str]:
    bench = load_bench()
    rng = random.Random(seed)
    reasons = ["litigator", "opt-out", "national dnc", "company policy", "moved", ""]
    dates = ["2024-01-05", "03/04/2023", "", "junk", "2026-02-01"]
    return [
        f'"{value.replace(chr(34), "")}",{rng.choice(reasons)},{rng.choice("abc")},'
        f"{rng.choice(dates)}\n"
        for value in bench.messy_values(seed, count)
    ]


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.integers(0, 10_000), st.randoms(use_true_random=False))
def test_property_merge_ignores_row_order_and_accounting_adds_up(
    tmp_path: Path, seed: int, rng: random.Random
) -> None:
    rows = _rows(seed, 300)
    shuffled = list(rows)
    rng.shuffle(shuffled)
    first, _ = run(write(tmp_path / "a.csv", HEADER + "".join(rows)))
    second, _ = run(write(tmp_path / "b.csv", HEADER + "".join(shuffled)))
    assert list(first.entries()) == list(second.entries())
    for result in (first, second):
        accounting = result.accounting
        assert accounting.rows == 300
        assert accounting.rows == accounting.accepted + accounting.duplicates + accounting.rejected
        assert sum(accounting.reject_reasons.values()) == accounting.rejected


def test_rejects_keep_every_rejected_row_with_its_line(tmp_path: Path) -> None:
    rows = _rows(3, 500)
    result, rejects = run(write(tmp_path / "a.csv", HEADER + "".join(rows)))
    assert len(rejects.rejects) == result.accounting.rejected
    for reject in rejects.rejects:
        assert rows[reject.line - 2].startswith(f'"{reject.raw_phone}"')


def test_rejects_file_escapes_formulas_and_quotes_like_the_csv_module(tmp_path: Path) -> None:
    import csv

    import numpy as np
    import pyarrow as pa

    from dncsync.rejects import RejectsCsv, reason_codes

    path = tmp_path / "rejects.csv"
    raw = ["=cmd()", "+1 000", 'say "hi", twice', "two\nlines", "", "@x", "-1", "plain"]
    lines = list(range(2, 2 + len(raw)))
    with RejectsCsv(str(path)) as sink:
        sink.add(
            "s",
            np.array(lines[:2], np.int64),
            pa.array(raw[:2]),
            reason_codes([RejectReason.NOT_A_NUMBER] * 2),
        )
        sink.add(
            "s",
            np.array(lines[2:], np.int64),
            pa.array(raw[2:]),
            reason_codes([RejectReason.EMPTY] * (len(raw) - 2)),
        )
    text = path.read_text()
    assert text.splitlines()[:3] == [
        "line,raw_phone,reason",
        "2,'=cmd(),not_a_number",
        "3,'+1 000,not_a_number",
    ]
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    safe = [("'" + r if r[:1] in ("=", "+", "-", "@") else r) for r in raw]
    assert rows[1:] == [
        [str(n), r, reason]
        for n, r, reason in zip(
            lines, safe, ["not_a_number"] * 2 + ["empty"] * (len(raw) - 2), strict=True
        )
    ]
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_reject_list_collects_reject_values(tmp_path: Path) -> None:
    sink = RejectList()
    spec = SourceSpec("s", str(write(tmp_path / "a.csv", "phone\nabc\n")))
    ingest([spec], DEFAULT_POLICY, today=TODAY, rejects=sink)
    assert [(r.source, r.line, r.reason) for r in sink.rejects] == [
        ("s", 2, RejectReason.NOT_A_NUMBER)
    ]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 7), st.integers(0, 3), st.none() | st.integers(0, 4000)),
        min_size=1,
        max_size=200,
    )
)
def test_distinct_metadata_keys_match_numpy_unique(rows: list[tuple[int, int, int | None]]) -> None:
    import numpy as np

    from dncsync.columnar.index import DC_NONE
    from dncsync.ingest import _distinct

    strength = np.array([r[0] for r in rows], np.int64)
    requested = np.array([r[1] for r in rows], np.int64)
    collected = np.array([DC_NONE if r[2] is None else 730_000 + r[2] for r in rows], np.int64)
    key = (strength << 52) | (requested << 24) | collected
    unique, inverse = _distinct(key, strength, requested, collected)
    assert np.array_equal(unique[inverse], key)
    assert sorted(unique.tolist()) == np.unique(key).tolist()


def test_small_blocks_give_the_same_result_as_one_exact_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Odd lines scattered through a file: blocks read by pyarrow or line by line agree."""
    from dncsync.sources import records

    rng = random.Random(11)
    rows = _rows(12, 3_000)
    odd = [
        "(415) 555-2671,Caf\u00e9,crm,2024-01-01\n".encode("cp1252"),
        b'"(212) 555\n0123",litigator,crm,2024-01-01\n',
        b"(650) 253-0000,opt-out\n",
        b"\n",
        b"   \n",
        b'4155552671,"said ""stop""",web,03/04/2023\r\n',
    ]
    lines = [HEADER.encode()] + [row.encode() for row in rows]
    for _ in range(40):
        lines.insert(rng.randrange(1, len(lines)), rng.choice(odd))
    path = write(tmp_path / "odd.csv", b"".join(lines))

    def read() -> tuple[object, ...]:
        result, rejects = run(path)
        found = [(r.line, r.raw_phone, r.reason) for r in rejects.rejects]
        return list(result.entries()), result.accounting, found

    monkeypatch.setattr(records, "BLOCK_BYTES", 1 << 24)  # one block: odd lines make it exact
    whole = read()
    monkeypatch.setattr(records, "BLOCK_BYTES", 2_048)
    assert read() == whole
    assert whole[1].warnings["cp1252_line"] > 0  # type: ignore[attr-defined]


def test_dates_collected_over_many_blocks_read_and_warn_row_by_row(tmp_path: Path) -> None:
    """Each distinct date text is parsed once across blocks; dates and warnings stay per row."""
    rng = random.Random(12)
    texts = ["2024-03-01", "03/04/2025", "28.10.2026", "2099-01-01", "", "yesterday"]
    texts += [f"2023-{month:02d}-{day:02d}" for month in range(1, 13) for day in range(1, 29)]
    lines, expected = ["phone,reason,date_collected"], {}
    for row in range(40_000):  # about 1.2 MB: several blocks
        text = rng.choice(texts)
        phone = f"+1415{2000000 + row:07d}"
        lines.append(f"{phone},opt-out,{text}")
        expected[phone] = read_date_collected(text, TODAY)
    result, _ = run(write(tmp_path / "dates.csv", "\n".join(lines) + "\n"))
    entries = by_phone(result)
    assert {phone: entry.date_collected for phone, entry in entries.items()} == {
        phone: when for phone, (when, _) in expected.items()
    }
    for kind in ("unreadable_date_collected", "future_date_collected"):
        rows = sum(1 for _, warning in expected.values() if warning == kind)
        assert rows > 0
        assert result.accounting.warnings[kind] == rows


def test_retention_of_every_row_is_the_policy_reading_of_that_row(tmp_path: Path) -> None:
    """Retention is resolved once per distinct (reason, request, date), or per (reason,
    request) where the date cannot matter; each entry must still be its own row's reading."""
    rng = random.Random(21)
    reasons = ["litigator", "opt-out", "company policy", "registry", "", "other thing"]
    expirations = ["", "never", "2031-05-01", "2 years", "3 months", "soon", "2020-01-01"]
    policies = ["", "relative", "absolute"]
    days = ["", "2024-02-29", "2099-01-01", "not a date"]
    days += [f"2022-{month:02d}-{day:02d}" for month in (1, 6, 12) for day in (1, 15, 28)]
    lines = ["phone,reason,expiration,expiration_policy,date_collected"]
    expected = {}
    for row in range(6_000):
        fields = [rng.choice(group) for group in (reasons, expirations, policies, days)]
        phone = f"+1415{3000000 + row:07d}"
        lines.append(",".join([phone, *fields]))
        reason, _ = DEFAULT_POLICY.reason_for(fields[0])
        collected, _ = read_date_collected(fields[3], TODAY)
        kept = DEFAULT_POLICY.retention_for(
            reason, read_expiration(fields[1], fields[2]), collected, TODAY
        )
        expected[phone] = (kept.policy, kept.expires_at)
    result, _ = run(write(tmp_path / "retention.csv", "\n".join(lines) + "\n"))
    got = {e.phone: (e.expiration_policy, e.expires_at) for e in result.entries()}
    assert got == expected


@pytest.mark.usefixtures("kernels_both_ways")
def test_a_batch_whose_rejects_are_all_empty_values_is_written(tmp_path: Path) -> None:
    """Regression: the rejects writer read byte 0 of an empty buffer (an internal error)."""
    source = write(tmp_path / "empty.csv", "phone,reason\n,opt-out\n4155552671,opt-out\n")
    with RejectsCsv(str(tmp_path / "rejects.csv")) as sink:
        ingest([SourceSpec("empty", str(source))], DEFAULT_POLICY, today=TODAY, rejects=sink)
    assert (tmp_path / "rejects.csv").read_text() == "line,raw_phone,reason\n2,,empty\n"
