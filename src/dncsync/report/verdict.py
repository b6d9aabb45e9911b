"""The one-sentence verdict a reader sees first, shared by the text and HTML renderers."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from dncsync.report.model import RunReport, RunStatus, VerificationStatus


class Tone(StrEnum):
    """How the verdict should look: fine, needs a look, or needs action."""

    OK = "ok"
    WARN = "warn"
    BAD = "bad"


@dataclass(frozen=True, slots=True)
class Verdict:
    """A headline (a few words) and a sentence that says what happened."""

    tone: Tone
    headline: str
    sentence: str


def _plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count:,} {one if count == 1 else (many or one + 's')}"


def verdict(report: RunReport) -> Verdict:
    """What a non-engineer should take away from the report."""
    targets = report.targets
    lists = _plural(len(targets), "list")
    drifted = [t.name for t in targets if t.verification.status is VerificationStatus.DRIFT]
    verified = bool(targets) and all(
        t.verification.status is VerificationStatus.MATCH for t in targets
    )
    if report.status is RunStatus.INTERRUPTED:
        return Verdict(
            Tone.BAD,
            "Interrupted — not finished",
            "The run was stopped by a signal: no new batch was sent after it, and what was "
            "already sent is accounted for below. Run the sync again to finish.",
        )
    if report.status is RunStatus.FAILED:
        reasons = [report.error] if report.error else []
        reasons += [f"{t.name}: {t.stop_reason}" for t in targets if t.stop_reason]
        detail = "; ".join(r for r in reasons if r) or "see the warnings below"
        return Verdict(Tone.BAD, "Run failed", f"The run did not complete: {detail}.")
    if report.status is RunStatus.SAFETY_STOP:
        stopped = [f"{t.name}: {t.stop_reason}" for t in targets if t.stop_reason]
        return Verdict(
            Tone.WARN,
            "Stopped for safety — nothing written",
            "The run stopped before writing anything, because "
            + ("; ".join(stopped) if stopped else "a safety check failed")
            + ".",
        )
    failed = sum(t.push.numbers_failed for t in targets)
    sent = sum(t.push.numbers_sent for t in targets)
    if report.status is RunStatus.PARTIAL:
        where = ", ".join(t.name for t in targets if t.push.numbers_failed)
        return Verdict(
            Tone.BAD,
            "Partly failed — action needed",
            f"{_plural(failed, 'number')} of {sent:,} sent were not accepted by the platform "
            f"({where}); the rest were. Re-run the sync after fixing the errors listed below.",
        )
    if drifted:
        return Verdict(
            Tone.WARN,
            "Synced, but the platform differs",
            f"Every change was accepted, but reading the list back found differences on "
            f"{', '.join(drifted)}. Run `dncsync reconcile --repair` to fix them.",
        )
    changes = sum(t.plan.writes for t in targets)
    check = (
        "The platforms' lists were read back and match."
        if verified
        else "The platforms' lists were not read back in this run."
    )
    if changes == 0 and sent == 0:
        summary = f"Nothing needed to change on {lists}."
    else:
        summary = f"All {_plural(sent, 'number')} sent to {lists} were accepted."
    if report.warnings:
        return Verdict(
            Tone.WARN,
            "Success, with warnings",
            f"{summary} {check} {_plural(len(report.warnings), 'warning')} to review below.",
        )
    return Verdict(Tone.OK, "Success", f"{summary} {check}")


__all__ = ["Tone", "Verdict", "verdict"]
