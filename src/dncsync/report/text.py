"""The run report as plain text, for a terminal or an e-mail."""

from __future__ import annotations

from datetime import datetime

from dncsync.privacy import printable
from dncsync.report.model import RunReport, TargetReport
from dncsync.report.verdict import verdict

FAILURES_SHOWN = 20


def stamp(moment: datetime | None) -> str:
    """A UTC timestamp as people read it: 2026-11-22 07:00:05 UTC."""
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def seconds(value: float | None) -> str:
    """A duration: 0.4 s, 12.3 s, 4 min 05 s."""
    if value is None:
        return "-"
    if value < 60:
        return f"{value:.1f} s"
    minutes, rest = divmod(round(value), 60)
    return f"{minutes} min {rest:02d} s"


def render_text(report: RunReport) -> str:
    """The whole report as text; each line printable, whatever a platform's messages held."""
    v = verdict(report)
    out: list[str] = [
        f"dncsync run report  {report.run_id}",
        "",
        f"{v.headline.upper()}: {v.sentence}",
        "",
        f"  command        {report.command}",
        f"  started        {stamp(report.started_at)}",
        f"  finished       {stamp(report.finished_at)}  ({seconds(report.duration_seconds)})",
        f"  status         {report.status.value}",
        f"  dncsync        {report.dncsync_version}",
        f"  config digest  {report.config_digest}",
    ]
    if report.intake is not None:
        intake = report.intake
        by_status = intake.get("by_status", {})
        out += [
            "",
            "Opt-outs received (intake)",
            f"  received in this run  {intake.get('received_this_run', 0):,}",
            f"  held everywhere       {by_status.get('held', 0):,}",
            f"  pending               {by_status.get('pending', 0) + by_status.get('failed', 0):,}",
            f"  past their deadline   {intake.get('past_deadline', 0):,}",
            f"  oldest pending        {intake.get('oldest_pending') or 'none'}"
            + (
                f" (deadline {intake['oldest_pending_deadline']})"
                if intake.get("oldest_pending_deadline")
                else ""
            ),
        ]
        if intake.get("sms_for_review"):
            out.append(f"  texts for review      {len(intake['sms_for_review']):,}")
    out += ["", "Sources"]
    if not report.sources:
        out.append("  (none read)")
    for source in report.sources:
        extra = []
        if source.kind == "registry":
            extra.append(f"registry dated {source.registry_date or 'unknown'}")
        if source.s3_version_id:
            extra.append(f"S3 version {source.s3_version_id}")
        if source.s3_etag:
            extra.append(f"ETag {source.s3_etag}")
        out.append(
            f"  {source.name}: {source.rows:,} rows, {source.bytes:,} bytes  {source.uri}"
            + (f"  ({'; '.join(extra)})" if extra else "")
        )
        for part in source.objects:  # a source of many objects: each one read, in key order
            tags = [f"S3 version {part.s3_version_id}"] if part.s3_version_id else []
            tags += [f"ETag {part.s3_etag}"] if part.s3_etag else []
            out.append(
                f"    object {part.uri}: {part.rows:,} rows, sha256 {part.sha256[:16]}"
                + (f"  ({'; '.join(tags)})" if tags else "")
            )
        out.append(f"    sha256 {source.sha256}")
    a = report.accounting
    out += [
        "",
        "Accounting",
        f"  rows {a.rows:,} = with a value {a.rows_with_value or a.rows:,} + filtered "
        f"{a.filtered or 0:,} + without a value {a.rows_without_value or 0:,}",
        f"  values {a.rows if a.values is None else a.values:,} = accepted {a.accepted:,} "
        f"+ duplicates {a.duplicates:,} + rejected {a.rejected:,}   "
        + ("adds up" if a.balanced else "DOES NOT ADD UP"),
        f"  blank lines {a.blank_lines:,} (not rows)",
    ]
    if a.reject_reasons:
        reasons = ", ".join(f"{k} {n:,}" for k, n in a.reject_reasons.items())
        out.append(f"  reject reasons: {reasons}")
    if a.warnings:
        out.append("  corrections: " + ", ".join(f"{k} {n:,}" for k, n in a.warnings.items()))
    for target in report.targets:
        out += ["", *_target_lines(target)]
    out += ["", "Warnings"]
    if not report.warnings:
        out.append("  none")
    for warning in report.warnings:
        where = f"[{warning.target}] " if warning.target else ""
        out.append(f"  - {where}{warning.code}: {warning.message}")
    if report.audit is not None:
        out += ["", f"Audit log  {report.audit.file}"]
        if report.audit.final_hash:
            out.append(
                f"  sealed: {report.audit.lines} lines, final hash {report.audit.final_hash}"
            )
    if report.warnings_file is not None:
        out += [
            "",
            f"Warned rows  {report.warnings_file.file}",
            f"  {report.warnings_file.rows:,} rows (source, line, kind, detail; numbers masked)",
        ]
    # Platform messages, target names and paths are echoed: none may break or forge a line.
    return "\n".join(printable(line) for line in out) + "\n"


def _target_lines(target: TargetReport) -> list[str]:
    plan, push, check, late = target.plan, target.push, target.verification, target.timeliness
    lines = [
        f"Target {target.name}  ({target.platform}, list {target.list_id}, {target.mode} mode)"
        f"  {target.status.value}",
    ]
    if target.stop_reason:
        lines.append(f"  stopped: {target.stop_reason}")
    if target.accounting is not None:
        a = target.accounting
        lines.append(
            f"  sources  {', '.join(target.sources) or '-'}: rows {a.rows:,} = accepted "
            f"{a.accepted:,} + duplicates {a.duplicates:,} + rejected {a.rejected:,}"
            + ("" if a.balanced else "   DOES NOT ADD UP")
            + (f"; corrections {sum(a.warnings.values()):,}" if a.warnings else "")
        )
    lines += [
        f"  plan     {plan.adds:,} adds, {plan.updates:,} updates, {plan.removes:,} removes, "
        f"{plan.expiries:,} expiries; {plan.unchanged:,} unchanged, {plan.expired:,} expired "
        f"(held before: {plan.held_before:,})",
    ]
    for sample in plan.sample:
        lines.append(f"           e.g. {sample.action} {sample.phone}")
    lines += [
        f"  push     {push.numbers_sent:,} sent, {push.numbers_acknowledged:,} acknowledged, "
        f"{push.numbers_failed:,} failed, {push.numbers_skipped:,} skipped "
        f"in {push.batches_sent:,} batches ({push.batches_failed:,} not fully acknowledged)",
        f"           {push.requests:,} requests, {push.retries:,} retries, "
        f"{push.rate_limited:,} rate-limited (429), waited {seconds(push.waited_seconds)}; "
        f"{push.throughput_per_second:,.0f} numbers/s over {seconds(push.duration_seconds)}",
        *(
            [
                f"           {push.batches_paired_by_position:,} batches paired by position: "
                "the platform's results named no number"
            ]
            if push.batches_paired_by_position
            else []
        ),
        f"  verify   {check.status.value}"
        + (
            f" (expected {check.expected:,}, held {check.actual:,}; missing {check.missing:,}, "
            f"unexpected {check.unexpected:,}, foreign {check.foreign:,})"
            if check.expected is not None and check.actual is not None
            else ""
        ),
        f"  timely   {late.checked:,} pushed with a date collected; {late.late:,} older than "
        f"{late.limit_business_days} business days",
    ]
    for entry in late.sample:
        lines.append(
            f"           e.g. {entry.phone} ({entry.reason}) collected "
            f"{entry.date_collected.isoformat()}, {entry.business_days} business days"
        )
    if push.failures:
        lines.append("  failures")
        for failure in push.failures[:FAILURES_SHOWN]:
            who = failure.phone or f"{failure.count:,} numbers (whole batch {failure.batch})"
            message = f" - {failure.message}" if failure.message else ""
            lines.append(f"    {failure.action} {who}: {failure.error_code}{message}")
        if len(push.failures) > FAILURES_SHOWN:
            lines.append(f"    ... and {len(push.failures) - FAILURES_SHOWN:,} more (JSON report)")
    if push.batches:
        lines.append("  batches  #  action  count  attempts  status  seconds  correlation id")
        for batch in push.batches:
            lines.append(
                f"    {batch.number:>5}  {batch.action:<6} {batch.count:>6}  {batch.attempts:>3}  "
                f"{batch.status.value:<12} {batch.duration_seconds:>7.2f}  "
                f"{batch.correlation_id or '-'}"
                + ("  (paired by position)" if batch.paired_by_position else "")
            )
    return lines


__all__ = ["render_text", "seconds", "stamp"]
