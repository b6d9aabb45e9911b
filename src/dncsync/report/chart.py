"""The batch timeline as inline SVG: one lane per target, batches as bars, waits hatched.

Plain SVG text, no script and no external asset, so the HTML report opens offline and prints.
Batches that overlap in time (concurrent requests) are packed into rows within their lane.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from html import escape

from dncsync.report.model import BatchStatus, RunReport, TargetReport

WIDTH = 1000
LABEL_WIDTH = 150
RIGHT_PAD = 20
TOP = 34  # room for the axis labels
ROW_HEIGHT = 14
ROW_GAP = 3
WAIT_HEIGHT = 9
LANE_PAD = 14
MAX_ROWS = 8  # beyond this, overlapping bars share the last row

COLORS = {
    BatchStatus.ACKNOWLEDGED: "#2e7d32",
    BatchStatus.PARTIAL: "#ef6c00",
    BatchStatus.FAILED: "#c62828",
}
WAIT_COLOR = "#f9a825"


@dataclass(frozen=True, slots=True)
class _Span:
    start: float  # seconds since the chart's origin
    end: float
    label: str


def _nice_step(span: float, ticks: int = 8) -> float:
    """A tick step of 1, 2 or 5 times a power of ten giving about `ticks` ticks."""
    if span <= 0:
        return 1.0
    raw = span / ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * power:
            return float(factor * power)
    return float(10 * power)


def _tick_label(value: float, step: float) -> str:
    if step >= 60 and value % 60 == 0:
        return f"{int(value // 60)} min"
    if step < 1:
        return f"{value:.1f} s"
    return f"{value:.0f} s"


def _pack(spans: list[tuple[float, float]]) -> list[int]:
    """A row per span so that spans in one row do not overlap (greedy, in start order)."""
    rows_end: list[float] = []
    result: list[int] = []
    for start, end in spans:
        for index, row_end in enumerate(rows_end):
            if start >= row_end:
                rows_end[index] = end
                result.append(index)
                break
        else:
            if len(rows_end) < MAX_ROWS:
                rows_end.append(end)
                result.append(len(rows_end) - 1)
            else:
                result.append(MAX_ROWS - 1)
    return result


def _origin_and_span(report: RunReport) -> tuple[datetime, float]:
    starts = [report.started_at]
    ends = [report.finished_at.timestamp()] if report.finished_at else []
    for target in report.targets:
        for batch in target.push.batches:
            starts.append(batch.started_at)
            ends.append(batch.started_at.timestamp() + batch.duration_seconds)
        for wait in target.push.waits:
            starts.append(wait.started_at)
            ends.append(wait.started_at.timestamp() + wait.seconds)
    origin = min(starts)
    span = max([*ends, origin.timestamp()]) - origin.timestamp()
    return origin, max(span, 0.001)


def render_timeline(report: RunReport) -> str:
    """The SVG chart, or an empty string when no batch was sent."""
    if not any(t.push.batches or t.push.waits for t in report.targets):
        return ""
    origin, span = _origin_and_span(report)
    plot = WIDTH - LABEL_WIDTH - RIGHT_PAD
    scale = plot / span

    def x(offset: float) -> float:
        return LABEL_WIDTH + offset * scale

    parts: list[str] = []
    y = TOP
    lanes: list[str] = []
    for target in report.targets:
        lane, height = _lane(target, origin, x, y)
        lanes.append(lane)
        y += height
    height = y + 8
    step = _nice_step(span)
    ticks = []
    value = 0.0
    while value <= span + 1e-9:
        tx = x(value)
        ticks.append(
            f'<line x1="{tx:.1f}" y1="{TOP - 6}" x2="{tx:.1f}" y2="{height - 8}" class="grid"/>'
            f'<text x="{tx:.1f}" y="{TOP - 10}" class="tick">{_tick_label(value, step)}</text>'
        )
        value += step
    parts.append(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" role="img" aria-label="Timeline of batches and rate-limit waits">'
        "<defs>"
        '<pattern id="wait-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)">'
        f'<rect width="6" height="6" fill="{WAIT_COLOR}" opacity="0.35"/>'
        f'<line x1="0" y1="0" x2="0" y2="6" stroke="{WAIT_COLOR}" stroke-width="3"/>'
        "</pattern>"
        "</defs>"
        "<style>"
        ".grid{stroke:#e3e6ea;stroke-width:1}"
        ".tick{font:11px system-ui,sans-serif;fill:#5f6368;text-anchor:middle}"
        ".lane{font:600 12px system-ui,sans-serif;fill:#202124}"
        ".sub{font:11px system-ui,sans-serif;fill:#5f6368}"
        ".sep{stroke:#c7ccd1;stroke-width:1}"
        "</style>" + "".join(ticks) + "".join(lanes) + "</svg>"
    )
    return "".join(parts)


def _lane(
    target: TargetReport, origin: datetime, to_x: Callable[[float], float], top: int
) -> tuple[str, int]:
    """One target's lane: its batches packed in rows, its waits on a strip below."""
    base = origin.timestamp()
    batches = sorted(target.push.batches, key=lambda b: b.started_at)
    spans = [
        (b.started_at.timestamp() - base, b.started_at.timestamp() - base + b.duration_seconds)
        for b in batches
    ]
    rows = _pack(spans)
    row_count = max(rows, default=0) + 1
    bars: list[str] = []
    for batch, (start, end), row in zip(batches, spans, rows, strict=True):
        x0 = to_x(start)
        width = max(to_x(end) - x0, 1.5)
        y0 = top + LANE_PAD // 2 + row * (ROW_HEIGHT + ROW_GAP)
        tip = (
            f"batch {batch.number}: {batch.action} {batch.count:,} numbers, {batch.status.value}, "
            f"{batch.attempts} attempt(s), {batch.duration_seconds:.2f} s"
            + (f", correlation id {batch.correlation_id}" if batch.correlation_id else "")
        )
        bars.append(
            f'<rect x="{x0:.1f}" y="{y0}" width="{width:.1f}" height="{ROW_HEIGHT}" rx="2" '
            f'fill="{COLORS[batch.status]}"><title>{escape(tip)}</title></rect>'
        )
    wait_y = top + LANE_PAD // 2 + row_count * (ROW_HEIGHT + ROW_GAP) + 2
    for wait in target.push.waits:
        start = wait.started_at.timestamp() - base
        x0 = to_x(start)
        width = max(to_x(start + wait.seconds) - x0, 1.5)
        cause = f"HTTP {wait.status}" if wait.status else "pacing"
        tip = f"waited {wait.seconds:.2f} s ({cause})"
        bars.append(
            f'<rect x="{x0:.1f}" y="{wait_y}" width="{width:.1f}" height="{WAIT_HEIGHT}" '
            f'fill="url(#wait-hatch)" stroke="{WAIT_COLOR}" stroke-width="0.6">'
            f"<title>{escape(tip)}</title></rect>"
        )
    height = LANE_PAD + row_count * (ROW_HEIGHT + ROW_GAP) + WAIT_HEIGHT + 8
    middle = top + height // 2
    label = (
        f'<text x="8" y="{middle - 2}" class="lane">{escape(_short(target.name))}</text>'
        f'<text x="8" y="{middle + 12}" class="sub">{escape(target.platform)} · '
        f"{len(batches):,} batches</text>"
        f'<line x1="0" y1="{top + height}" x2="{WIDTH}" y2="{top + height}" class="sep"/>'
    )
    return label + "".join(bars), height


def _short(name: str, limit: int = 20) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


__all__ = ["render_timeline"]
