"""`dncsync validate SOURCE`: read, normalize and merge one source, and account for every row."""

from __future__ import annotations

import gc
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from dncsync.model import Strictness

if TYPE_CHECKING:
    from dncsync.ingest import IngestResult
    from dncsync.model import SourceInfo


class OutputFormat(StrEnum):
    """How the summary is printed."""

    TEXT = "text"
    JSON = "json"


def command(
    source: Annotated[
        str, typer.Argument(help="A CSV file (plain or .gz), - for stdin, or s3://bucket/key.")
    ],
    default_region: Annotated[
        str, typer.Option(help="Region for numbers written without a country code.")
    ] = "US",
    strictness: Annotated[
        Strictness,
        typer.Option(help="valid: phonenumbers' is_valid_number; possible: is_possible_number."),
    ] = Strictness.VALID,
    phone_column: Annotated[
        str | None, typer.Option(help="The phone column's header (default: found by alias).")
    ] = None,
    phone_columns: Annotated[
        str | None,
        typer.Option(help="Several phone columns, comma-separated: each value its own entry."),
    ] = None,
    area_code_column: Annotated[
        str | None, typer.Option(help="The area code's column (with --number-column).")
    ] = None,
    number_column: Annotated[
        str | None, typer.Option(help="The number's column, after its area code.")
    ] = None,
    where: Annotated[
        list[str] | None,
        typer.Option(help="Keep rows whose COLUMN holds one of the values: COLUMN=v1,v2."),
    ] = None,
    reason_column: Annotated[str | None, typer.Option(help="The reason column's header.")] = None,
    source_column: Annotated[str | None, typer.Option(help="The source column's header.")] = None,
    date_collected_column: Annotated[
        str | None, typer.Option(help="The date-collected column's header.")
    ] = None,
    expiration_column: Annotated[
        str | None, typer.Option(help="The expiration column's header.")
    ] = None,
    no_header: Annotated[
        bool, typer.Option("--no-header", help="No header line: the first column is the phone.")
    ] = False,
    encoding: Annotated[
        str | None,
        typer.Option(help="Force a text encoding (default: UTF-8, cp1252 for bad lines)."),
    ] = None,
    sheet: Annotated[
        str | None, typer.Option(help="An .xlsx source's sheet (default: the first).")
    ] = None,
    delimiter: Annotated[
        str | None,
        typer.Option(
            help="Force the delimiter: , tab ; or | (default: found from the first lines)."
        ),
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="The source's name in entries (default: the file name).")
    ] = None,
    s3_endpoint_url: Annotated[
        str | None,
        typer.Option(help="An S3-compatible endpoint (default: AWS_ENDPOINT_URL, then AWS)."),
    ] = None,
    rejects: Annotated[
        str | None, typer.Option(help="Write every rejected row here: line,raw_phone,reason.")
    ] = None,
    warnings_file: Annotated[
        str | None,
        typer.Option(
            "--warnings",
            help="Write every warned row here: source,line,kind,detail (numbers masked).",
        ),
    ] = None,
    output: Annotated[
        str | None, typer.Option(help="Write the accepted, merged entries here as CSV.")
    ] = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="text for people, json for scripts.")
    ] = OutputFormat.TEXT,
) -> None:
    """Check a DNC source: every phone normalized to E.164, every row accounted for."""
    # Imported here so `dncsync --help` and other commands do not pay for numpy and friends.
    from dncsync.entryfile import write_columns
    from dncsync.ingest import ingest
    from dncsync.policy import DEFAULT_POLICY
    from dncsync.rejects import RejectsCsv
    from dncsync.row_warnings import WarningsCsv
    from dncsync.sources import SourceSpec
    from dncsync.sources.objects import is_multi

    # The imports leave some 40,000 objects that live until the process ends; frozen, the
    # collections during the run (and the one at exit) skip them: 0.04-0.07 s of a 1M-row
    # run (interleaved A/B). A process of its own only: the library leaves gc alone.
    gc.freeze()

    spec = SourceSpec(
        name=name or _default_name(source),
        url=source,
        default_region=default_region,
        strictness=strictness,
        phone_column=phone_column,
        phone_columns=tuple(c.strip() for c in phone_columns.split(",")) if phone_columns else (),
        area_code_column=area_code_column,
        number_column=number_column,
        where=_filters(where or []),
        reason_column=reason_column,
        source_column=source_column,
        date_collected_column=date_collected_column,
        expiration_column=expiration_column,
        no_header=no_header,
        encoding=encoding,
        delimiter=delimiter,
        sheet=sheet,
        s3_endpoint_url=s3_endpoint_url,
    )
    today = datetime.now(UTC).date()
    with ExitStack() as files:
        multi = is_multi(source)
        sink = files.enter_context(RejectsCsv(rejects, with_object=multi)) if rejects else None
        warned = (
            files.enter_context(WarningsCsv(warnings_file, with_object=multi))
            if warnings_file
            else None
        )
        with _progress_bar() as progress:
            result = ingest(
                [spec],
                DEFAULT_POLICY,
                today=today,
                rejects=sink,
                warnings=warned,
                progress=progress,
            )
    if output:
        write_columns(result.chunks(), result.source_names, output)
    summary = summarize(result)
    if output_format is OutputFormat.JSON:
        print(json.dumps(summary, sort_keys=False))
    else:
        _print_text(summary)


def summarize(result: IngestResult) -> dict[str, Any]:
    """The run's figures as one JSON-ready object (no phone numbers in it)."""
    from dncsync.privacy import mask_text

    accounting = result.accounting
    return {
        "rows": accounting.rows,
        "rows_with_value": accounting.rows_with_value,
        "filtered": accounting.filtered,
        "rows_without_value": accounting.rows_without_value,
        "values": accounting.values,
        "accepted": accounting.accepted,
        "duplicates": accounting.duplicates,
        "rejected": accounting.rejected,
        "blank_lines": accounting.blank_lines,
        "expired": result.expired(),
        "warnings": accounting.warnings,
        "reject_reasons": accounting.reject_reasons,
        "unmapped_reasons": result.unmapped_reasons,
        "sources": [
            {
                "name": mask_text(info.name),  # a file name may hold a number
                "uri": mask_text(info.uri),
                "sha256": info.sha256,
                "bytes": info.bytes,
                "rows": info.rows,
                "s3_version_id": info.s3_version_id,
                "s3_etag": info.s3_etag,
                **({"objects": [_object(part) for part in info.objects]} if info.objects else {}),
            }
            for info in result.sources
        ],
    }


def _object(info: SourceInfo) -> dict[str, Any]:
    """One object of a source of many objects, as the JSON lists it."""
    from dncsync.privacy import mask_text

    return {
        "uri": mask_text(info.uri),
        "sha256": info.sha256,
        "bytes": info.bytes,
        "rows": info.rows,
        "s3_version_id": info.s3_version_id,
        "s3_etag": info.s3_etag,
    }


def _filters(options: list[str]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """`--where COLUMN=v1,v2` options as a spec's row filters."""
    from dncsync.errors import InputError

    filters = []
    for option in options:
        column, equals, values = option.partition("=")
        if not equals or not column.strip():
            raise InputError(f"--where {option!r}: expected COLUMN=value[,value...]")
        filters.append((column.strip(), tuple(v.strip() for v in values.split(","))))
    return tuple(filters)


def _default_name(source: str) -> str:
    if source == "-":
        return "stdin"
    return source.rstrip("/").rsplit("/", 1)[-1] or source


@contextmanager
def _progress_bar() -> Iterator[Callable[[str, int, int | None], None] | None]:
    """A byte progress bar on stderr when it is a terminal; nothing otherwise."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("{task.description}", markup=False), BarColumn(), DownloadColumn())
    with Progress(
        *columns, TimeRemainingColumn(), console=Console(stderr=True), transient=True
    ) as bar:
        tasks: dict[str, Any] = {}

        def update(source: str, done: int, total: int | None) -> None:
            if source not in tasks:
                tasks[source] = bar.add_task(source, total=total)
            bar.update(tasks[source], completed=done)

        yield update


def _print_text(summary: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="dncsync validate", show_header=False)
    table.add_column("what")
    table.add_column("count", justify="right")
    keys = ("rows", "filtered", "rows_without_value", "values", "accepted", "duplicates")
    for key in (*keys, "rejected", "blank_lines", "expired"):
        table.add_row(key.replace("_", " "), f"{summary[key]:,}")
    for reason, count in summary["reject_reasons"].items():
        if count:
            table.add_row(f"  rejected: {reason}", f"{count:,}")
    for kind, count in summary["warnings"].items():
        table.add_row(f"  warning: {kind}", f"{count:,}")
    Console().print(table)
