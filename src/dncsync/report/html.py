"""The run report as one self-contained HTML page a compliance officer can read.

Inline CSS and an inline SVG chart; no script, font, image or stylesheet is fetched, and the
Content-Security-Policy says so, so the file opens offline, mails as one attachment and prints.
Every value is escaped: platform error messages end up here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape

from dncsync.report.chart import COLORS, WAIT_COLOR, render_timeline
from dncsync.report.model import (
    BatchStatus,
    RunReport,
    RunStatus,
    TargetReport,
    VerificationStatus,
)
from dncsync.report.text import seconds, stamp
from dncsync.report.verdict import verdict

FAILURES_SHOWN = 100

_CSS = """
:root{--ok:#1e7d32;--ok-bg:#e8f5e9;--warn:#b26a00;--warn-bg:#fff6e0;--bad:#c62828;
--bad-bg:#fdecea;--ink:#202124;--muted:#5f6368;--line:#e3e6ea;--card:#fff;--page:#f5f6f8}
*{box-sizing:border-box}
body{margin:0;background:var(--page);color:var(--ink);
font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
main{max-width:1080px;margin:0 auto;padding:28px 24px 48px}
header{display:flex;justify-content:space-between;align-items:flex-end;gap:16px;
flex-wrap:wrap;margin-bottom:18px}
h1{font-size:24px;margin:0}
h2{font-size:18px;margin:0 0 12px}
h3{font-size:14px;margin:18px 0 6px;color:var(--muted);letter-spacing:.02em}
.meta{color:var(--muted);font-size:13px;text-align:right}
.meta code{font-size:12px}
.verdict{border-radius:10px;padding:18px 22px;margin-bottom:20px;border-left:8px solid}
.verdict .head{font-size:22px;font-weight:700;margin-bottom:4px}
.verdict.ok{background:var(--ok-bg);border-color:var(--ok)}
.verdict.ok .head{color:var(--ok)}
.verdict.warn{background:var(--warn-bg);border-color:var(--warn)}
.verdict.warn .head{color:var(--warn)}
.verdict.bad{background:var(--bad-bg);border-color:var(--bad)}
.verdict.bad .head{color:var(--bad)}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:12px;
margin-bottom:20px}
.tile{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px 14px}
.tile .n{font-size:24px;font-weight:700}
.tile .l{color:var(--muted);font-size:13px}
section{background:var(--card);border:1px solid var(--line);border-radius:10px;
padding:18px 20px;margin-bottom:18px}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid var(--line);vertical-align:top}
th{color:var(--muted);font-weight:600;font-size:13px}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
tr:last-child td{border-bottom:none}
.pill{display:inline-block;border-radius:999px;padding:1px 10px;font-size:12px;font-weight:600}
.pill.ok{background:var(--ok-bg);color:var(--ok)}
.pill.warn{background:var(--warn-bg);color:var(--warn)}
.pill.bad{background:var(--bad-bg);color:var(--bad)}
.pill.muted{background:#eceff1;color:var(--muted)}
.equation{font-size:17px;margin:4px 0 10px}
.equation b{font-size:20px}
.grid2{display:grid;grid-template-columns:1fr 1fr;gap:8px 28px}
@media (max-width:760px){.grid2{grid-template-columns:1fr}}
.kv td:first-child{color:var(--muted)}
.kv td:last-child{white-space:nowrap}
.target-head{display:flex;justify-content:space-between;align-items:center;gap:12px;
flex-wrap:wrap}
.sub{color:var(--muted);font-size:13px}
.legend{display:flex;gap:18px;flex-wrap:wrap;font-size:13px;color:var(--muted);margin:4px 0 8px}
.legend i{display:inline-block;width:14px;height:10px;border-radius:2px;margin-right:6px;
vertical-align:middle}
ul.warnings{margin:0;padding-left:20px}
ul.warnings li{margin:4px 0}
code,.mono{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,monospace;font-size:13px}
.hash{word-break:break-all}
details summary{cursor:pointer;color:var(--muted);margin-top:10px}
footer{color:var(--muted);font-size:12px;margin-top:24px}
@media print{body{background:#fff}section,.tile{break-inside:avoid}}
"""


def _e(value: object) -> str:
    return escape(str(value))


def _n(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def _pill(text: str, tone: str) -> str:
    return f'<span class="pill {tone}">{_e(text)}</span>'


_STATUS_TONE = {
    RunStatus.SUCCESS: "ok",
    RunStatus.PARTIAL: "bad",
    RunStatus.SAFETY_STOP: "warn",
    RunStatus.FAILED: "bad",
    RunStatus.INTERRUPTED: "bad",
}
_STATUS_WORDS = {
    RunStatus.SUCCESS: "success",
    RunStatus.PARTIAL: "partly failed",
    RunStatus.SAFETY_STOP: "stopped for safety",
    RunStatus.FAILED: "failed",
    RunStatus.INTERRUPTED: "interrupted",
}
_CHECK_WORDS = {
    VerificationStatus.NOT_RUN: ("not checked", "muted"),
    VerificationStatus.MATCH: ("matches", "ok"),
    VerificationStatus.DRIFT: ("differs", "warn"),
}


def _table(
    headers: Sequence[str], rows: Iterable[Sequence[str]], numeric: Sequence[int] = ()
) -> str:
    """A table from already-escaped cells; columns listed in `numeric` align right."""
    head = "".join(
        f'<th class="num">{_e(h)}</th>' if i in numeric else f"<th>{_e(h)}</th>"
        for i, h in enumerate(headers)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{cell}</td>' if i in numeric else f"<td>{cell}</td>"
            for i, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _kv(rows: Iterable[tuple[str, str]]) -> str:
    body = "".join(f'<tr><td>{_e(k)}</td><td class="num">{v}</td></tr>' for k, v in rows)
    return f'<table class="kv"><tbody>{body}</tbody></table>'


def render_html(report: RunReport) -> str:
    """The whole report as one HTML document."""
    v = verdict(report)
    title = f"dncsync run {report.run_id}: {v.headline}"
    body = [
        _header(report),
        f'<div class="verdict {v.tone.value}"><div class="head">{_e(v.headline)}</div>'
        f"<div>{_e(v.sentence)}</div></div>",
        _tiles(report),
        _intake_section(report),
        _warnings_section(report),
        *(_target_section(t) for t in report.targets),
        _timeline_section(report),
        _accounting_section(report),
        _sources_section(report),
        _footer(report),
    ]
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
        f"<title>{_e(title)}</title><style>{_CSS}</style></head>"
        f"<body><main>{''.join(body)}</main></body></html>\n"
    )


def _header(report: RunReport) -> str:
    return (
        "<header><div><h1>Do-not-call sync report</h1>"
        f'<div class="sub">run <code>{_e(report.run_id)}</code> · {_e(report.command)}</div>'
        "</div>"
        f'<div class="meta">Started {_e(stamp(report.started_at))}<br>'
        f"Finished {_e(stamp(report.finished_at))} ({_e(seconds(report.duration_seconds))})"
        "</div></header>"
    )


def _tiles(report: RunReport) -> str:
    a = report.accounting
    sent = sum(t.push.numbers_sent for t in report.targets)
    acked = sum(t.push.numbers_acknowledged for t in report.targets)
    failed = sum(t.push.numbers_failed for t in report.targets)
    tiles = [
        (_n(a.rows), "rows read from the sources"),
        (_n(a.accepted), "unique numbers to block"),
        (_n(sent), "numbers sent to platforms"),
        (_n(acked), "accepted by the platforms"),
        (_n(failed), "not accepted"),
        (_n(len(report.warnings)), "warnings to review"),
    ]
    return (
        '<div class="tiles">'
        + "".join(
            f'<div class="tile"><div class="n">{n}</div><div class="l">{_e(label)}</div></div>'
            for n, label in tiles
        )
        + "</div>"
    )


def _intake_section(report: RunReport) -> str:
    """serve: the opt-outs taken in, the oldest still pending, those past their deadline, and
    the requests by state."""
    intake = report.intake
    if intake is None:
        return ""
    by_status = intake.get("by_status", {})
    rows = [
        ("received in this run", _n(intake.get("received_this_run", 0))),
        ("held on every target (all time)", _n(by_status.get("held", 0))),
        ("pending", _n(by_status.get("pending", 0) + by_status.get("failed", 0))),
        ("past their deadline, not held", _n(intake.get("past_deadline", 0))),
        ("oldest pending received", _e(intake.get("oldest_pending") or "none")),
        ("its deadline", _e(intake.get("oldest_pending_deadline") or "-")),
        ("withdrawn", _n(intake.get("withdrawn", 0))),
    ]
    parts = ["<section><h2>Opt-outs received (intake)</h2>", _kv(rows)]
    late = intake.get("past_deadline", 0)
    if late:
        parts.append(
            f"<p>{_pill('past deadline', 'bad')} {_n(late)} requests are not held on every "
            "target and their 10-business-day deadline has passed.</p>"
        )
    review = intake.get("sms_for_review") or []
    if review:
        parts.append(
            f"<h3>Texts for review ({_n(len(review))})</h3><p>They contain an opt-out keyword "
            "but are not one; a person decides (<code>GET /v1/sms/texts</code>).</p>"
        )
        parts.append(
            _table(
                ("message", "phone", "received"),
                ((_e(t["sid"]), _e(t["phone"]), _e(t["received_at"])) for t in review),
            )
        )
    for state, requests in intake.get("requests_by_state", {}).items():
        parts.append(f"<h3>{_e(state)} ({_n(len(requests))})</h3>")
        parts.append(
            _table(
                ("request", "phone", "received", "deadline", "targets"),
                (
                    (
                        _e(r["id"]),
                        _e(r["phone"]),
                        _e(r["received_at"]),
                        _e(r["deadline"]),
                        _e(", ".join(f"{k}: {v}" for k, v in r["targets"].items())),
                    )
                    for r in requests
                ),
            )
        )
    parts.append("</section>")
    return "".join(parts)


def _target_section(target: TargetReport) -> str:
    plan, push, check, late = target.plan, target.push, target.verification, target.timeliness
    check_word, check_tone = _CHECK_WORDS[check.status]
    head = (
        '<div class="target-head"><div>'
        f"<h2>{_e(target.name)}</h2>"
        f'<div class="sub">{_e(target.platform)} · list <code>{_e(target.list_id)}</code> · '
        f"{_e(target.mode)} mode</div></div>"
        f"<div>{_pill(_STATUS_WORDS[target.status], _STATUS_TONE[target.status])} "
        f"{_pill('platform list ' + check_word, check_tone)}</div></div>"
    )
    stop = f"<p><b>Stopped:</b> {_e(target.stop_reason)}</p>" if target.stop_reason else ""
    if target.accounting is not None:
        a = target.accounting
        adds_up = _pill("adds up", "ok") if a.balanced else _pill("does not add up", "bad")
        corrected = sum(a.warnings.values())
        stop += (
            f"<p>Syncs from <b>{_e(', '.join(target.sources) or '-')}</b>: "
            f"{a.rows:,} rows = {a.accepted:,} accepted + {a.duplicates:,} duplicates + "
            f"{a.rejected:,} rejected {adds_up}"
            + (f"; {corrected:,} row correction(s)" if corrected else "")
            + "</p>"
        )
    plan_rows = [
        ("Numbers to add", _n(plan.adds)),
        ("Expirations to update", _n(plan.updates)),
        ("Numbers to remove (no source has them)", _n(plan.removes)),
        ("Numbers to remove (retention ended)", _n(plan.expiries)),
        ("Already correct", _n(plan.unchanged)),
        ("Retention already ended (not sent)", _n(plan.expired)),
        ("On the list before the run", _n(plan.held_before)),
    ]
    if target.collected is not None:
        plan_rows.append(
            ("Found on the list, added by no one here: now opt-outs", _n(target.collected))
        )
    push_rows = [
        ("Numbers sent", _n(push.numbers_sent)),
        ("Accepted by the platform", _n(push.numbers_acknowledged)),
        ("Not accepted", _n(push.numbers_failed)),
        ("Not sent, as the target's settings say (skipped)", _n(push.numbers_skipped)),
        ("Batches (requests with retries)", f"{push.batches_sent:,} ({push.requests:,})"),
        ("Retries", _n(push.retries)),
        ("Slowed down by the platform (429)", _n(push.rate_limited)),
        ("Time spent waiting", _e(seconds(push.waited_seconds))),
        ("Throughput", f"{push.throughput_per_second:,.0f} numbers/s"),
    ]
    if push.batches_paired_by_position:
        push_rows.append(
            (
                "Batches paired by position (results named no number)",
                _n(push.batches_paired_by_position),
            )
        )
    check_rows = [
        ("Result", _pill(check_word, check_tone)),
        ("Numbers expected", _n(check.expected)),
        ("Numbers on the platform", _n(check.actual)),
        ("Missing from the platform", _n(check.missing)),
        ("On the platform but should not be", _n(check.unexpected)),
        ("Added by someone else (upsert mode)", _n(check.foreign)),
    ]
    late_rows = [
        ("Pushed entries with a date collected", _n(late.checked)),
        (f"Older than {late.limit_business_days} business days", _n(late.late)),
        ("Oldest (business days)", _n(late.oldest_business_days)),
    ]
    parts = [
        head,
        stop,
        '<div class="grid2"><div><h3>Plan</h3>',
        _kv(plan_rows),
        "</div><div><h3>Push</h3>",
        _kv(push_rows),
        "</div><div><h3>Platform check after the run</h3>",
        _kv(check_rows),
        "</div><div><h3>Timeliness (FCC 47 CFR 64.1200(d)(3))</h3>",
        _kv(late_rows),
        "</div></div>",
    ]
    if late.sample:
        parts.append(
            "<h3>Late entries (sample)</h3>"
            + _table(
                ["Number", "Reason", "Collected", "Business days"],
                (
                    (
                        f'<span class="mono">{_e(e.phone)}</span>',
                        _e(e.reason),
                        _e(e.date_collected.isoformat()),
                        _n(e.business_days),
                    )
                    for e in late.sample
                ),
                numeric=(3,),
            )
        )
    if plan.sample:
        parts.append(
            "<details><summary>Sample of planned changes (masked)</summary>"
            + _table(
                ["Change", "Number", "Retention ends", "Platform expiry"],
                (
                    (
                        _e(s.action),
                        f'<span class="mono">{_e(s.phone)}</span>',
                        _e(s.retention_end or "never"),
                        _e(s.platform_expires or "none"),
                    )
                    for s in plan.sample
                ),
            )
            + "</details>"
        )
    if push.failures:
        shown = push.failures[:FAILURES_SHOWN]
        more = len(push.failures) - len(shown)
        parts.append(
            "<h3>Not accepted by the platform</h3>"
            + _table(
                ["Number", "Change", "Platform error", "Message", "Batch"],
                (
                    (
                        f'<span class="mono">{_e(f.phone)}</span>'
                        if f.phone
                        else f"{f.count:,} numbers (whole batch)",
                        _e(f.action),
                        f"<code>{_e(f.error_code)}</code>",
                        _e(f.message),
                        _n(f.batch),
                    )
                    for f in shown
                ),
                numeric=(4,),
            )
            + (f'<p class="sub">… and {more:,} more in the JSON report.</p>' if more else "")
        )
    if push.batches:
        parts.append(
            f"<details><summary>All {push.batches_sent:,} batches, with the platform's "
            "correlation ids</summary>"
            + _table(
                [
                    "#",
                    "Started (UTC)",
                    "Change",
                    "Numbers",
                    "Attempts",
                    "Status",
                    "Seconds",
                    "Correlation id",
                    "Error",
                ],
                (
                    (
                        _n(b.number),
                        _e(b.started_at.strftime("%H:%M:%S.%f")[:-3]),
                        _e(b.action),
                        _n(b.count),
                        _n(b.attempts),
                        _pill(b.status.value, _BATCH_TONE[b.status])
                        + (" by position" if b.paired_by_position else ""),
                        f"{b.duration_seconds:.2f}",
                        f'<span class="mono">{_e(b.correlation_id or "-")}</span>',
                        _e(b.error_code or ""),
                    )
                    for b in push.batches
                ),
                numeric=(0, 3, 4, 6),
            )
            + "</details>"
        )
    return f"<section>{''.join(parts)}</section>"


_BATCH_TONE = {
    BatchStatus.ACKNOWLEDGED: "ok",
    BatchStatus.PARTIAL: "warn",
    BatchStatus.FAILED: "bad",
}


def _timeline_section(report: RunReport) -> str:
    chart = render_timeline(report)
    if not chart:
        return "<section><h2>Timeline</h2><p>No batch was sent in this run.</p></section>"
    waits = sum(len(t.push.waits) for t in report.targets)
    waited = sum(t.push.waited_seconds for t in report.targets)
    legend = (
        '<div class="legend">'
        f'<span><i style="background:{COLORS[BatchStatus.ACKNOWLEDGED]}"></i>batch accepted</span>'
        f'<span><i style="background:{COLORS[BatchStatus.PARTIAL]}"></i>some numbers refused</span>'
        f'<span><i style="background:{COLORS[BatchStatus.FAILED]}"></i>batch refused</span>'
        f'<span><i style="background:{WAIT_COLOR}"></i>waiting on a rate limit or retry</span>'
        "</div>"
    )
    return (
        "<section><h2>Timeline</h2>"
        f'<p class="sub">Each bar is one request to a platform, from the start of the run; '
        f"{waits:,} wait(s) for rate limits or retries, {_e(seconds(waited))} in all.</p>"
        f"{legend}{chart}</section>"
    )


def _accounting_section(report: RunReport) -> str:
    a = report.accounting
    check = _pill("adds up", "ok") if a.balanced else _pill("does not add up: investigate", "bad")
    parts = [
        "<section><h2>Every row accounted for</h2>",
        f'<div class="equation"><b>{a.rows:,}</b> rows = <b>{a.rows_with_value or a.rows:,}</b> '
        f"with a phone value + <b>{a.filtered or 0:,}</b> filtered + "
        f"<b>{a.rows_without_value or 0:,}</b> without a value</div>",
        f'<div class="equation"><b>{a.rows if a.values is None else a.values:,}</b> phone '
        f"values = <b>{a.accepted:,}</b> accepted + <b>{a.duplicates:,}</b> duplicates + "
        f"<b>{a.rejected:,}</b> rejected {check}</div>",
        f'<p class="sub">Duplicates are rows for a number already seen (merged, keeping the '
        f"most protective reason and retention). {a.blank_lines:,} blank line(s) are not rows. "
        "Each source counts once, however many targets sync from it.</p>",
    ]
    if a.reject_reasons:
        parts.append(
            "<h3>Why rows were rejected</h3>"
            + _table(
                ["Reason", "Rows"],
                ((_e(k.replace("_", " ")), _n(n)) for k, n in a.reject_reasons.items()),
                numeric=(1,),
            )
        )
    if a.warnings:
        parts.append(
            "<h3>Corrections applied (no number dropped)</h3>"
            + _table(
                ["Correction", "Rows"],
                ((_e(k.replace("_", " ")), _n(n)) for k, n in a.warnings.items()),
                numeric=(1,),
            )
        )
        if report.warnings_file is not None:
            parts.append(
                '<p class="sub">Each corrected row, with its source and line: '
                f'<span class="mono">{_e(report.warnings_file.file)}</span></p>'
            )
    parts.append("</section>")
    return "".join(parts)


def _sources_section(report: RunReport) -> str:
    if not report.sources:
        return "<section><h2>Sources</h2><p>No source was read.</p></section>"
    fresh = {f.source: f for f in report.freshness}
    rows = []
    for s in report.sources:
        kind = _e(s.kind)
        if s.kind == "registry":
            f = fresh.get(s.name)
            if f is not None:
                kind += "<br>" + _pill(
                    f"dated {f.registry_date.isoformat()}, {f.age_days} days old",
                    "bad" if f.stale else "ok",
                )
            else:
                kind += "<br>" + _pill("registry date unknown", "warn")
        version = "<br>".join(
            x
            for x in (
                f"VersionId <code>{_e(s.s3_version_id)}</code>" if s.s3_version_id else "",
                f"ETag <code>{_e(s.s3_etag)}</code>" if s.s3_etag else "",
            )
            if x
        )
        rows.append(
            (
                f'<b>{_e(s.name)}</b><br><span class="mono">{_e(s.uri)}</span>',
                kind,
                _n(s.rows),
                _n(s.bytes),
                f'<span class="mono hash">{_e(s.sha256)}</span>'
                + (f"<br>{version}" if version else ""),
            )
        )
    return (
        "<section><h2>Sources</h2>"
        + _table(["Source", "Kind", "Rows", "Bytes", "SHA-256 of the bytes read"], rows, (2, 3))
        + "</section>"
    )


def _warnings_section(report: RunReport) -> str:
    if not report.warnings:
        return "<section><h2>Warnings</h2><p>None: nothing needs a look.</p></section>"
    items = "".join(
        "<li>"
        + (f"<b>{_e(w.target)}</b>: " if w.target else "")
        + f'{_e(w.message)} <span class="sub">({_e(w.code)})</span></li>'
        for w in report.warnings
    )
    return f'<section><h2>Needs a look</h2><ul class="warnings">{items}</ul></section>'


def _footer(report: RunReport) -> str:
    finished = report.finished_at.isoformat(timespec="milliseconds") if report.finished_at else "-"
    rows = [
        ("Run id", f"<code>{_e(report.run_id)}</code>"),
        ("Status", _e(report.status.value)),
        ("dncsync version", _e(report.dncsync_version)),
        (
            "Configuration digest (SHA-256, no secrets)",
            f'<span class="mono hash">{_e(report.config_digest)}</span>',
        ),
        ("Started (UTC)", _e(report.started_at.isoformat(timespec="milliseconds"))),
        ("Finished (UTC)", _e(finished)),
    ]
    if report.audit is not None:
        rows.append(("Audit log", f'<span class="mono">{_e(report.audit.file)}</span>'))
        if report.audit.final_hash:
            rows.append(
                (
                    f"Audit log seal ({report.audit.lines:,} lines)",
                    f'<span class="mono hash">{_e(report.audit.final_hash)}</span>',
                )
            )
    if report.warnings_file is not None:
        rows.append(
            (
                f"Warned rows ({report.warnings_file.rows:,})",
                f'<span class="mono">{_e(report.warnings_file.file)}</span>',
            )
        )
    if report.error:
        rows.append(("Error", _e(report.error)))
    body = "".join(f"<tr><td>{_e(k)}</td><td>{v}</td></tr>" for k, v in rows)
    return (
        "<section><h2>Technical details</h2>"
        f'<table class="kv"><tbody>{body}</tbody></table>'
        "</section>"
        "<footer>Phone numbers in this report are masked (last four digits). Verify the audit "
        f"log with <code>dncsync audit verify {_e(report.run_id)}</code>.</footer>"
    )


__all__ = ["render_html"]
