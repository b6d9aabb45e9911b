"""`/metrics`: Prometheus text from prometheus-client. Counts and ages only, never a number.

The pending count, the oldest pending request's age and the requests past their deadline are
read from the intake store when scraped (a collector), so they are true after a restart too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from dncsync.state.intake import IntakeStats

# The `_created` series double every counter's lines and tell a scraper nothing it needs.
disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped upstream

# Seconds from the 202 to held: the target is seconds, the FCC's bound is days.
_LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 30, 60, 300, 3600, 86400)


class _IntakeCollector(Collector):
    def __init__(self, stats: Callable[[], IntakeStats], today: Callable[[], date]) -> None:
        self._stats = stats
        self._today = today

    def collect(self) -> Iterator[Metric]:
        stats = self._stats()
        pending = GaugeMetricFamily(
            "dncsync_intake_pending", "Requests not yet held on every target that takes them"
        )
        pending.add_metric([], stats.by_status.get("pending", 0) + stats.by_status.get("failed", 0))
        yield pending
        oldest = GaugeMetricFamily(
            "dncsync_intake_oldest_pending_age_seconds",
            "Age of the oldest request not yet held everywhere (0 when none)",
        )
        age = 0.0
        if stats.oldest_pending is not None:
            age = max(0.0, (datetime.now(UTC) - stats.oldest_pending).total_seconds())
        oldest.add_metric([], age)
        yield oldest
        late = GaugeMetricFamily(
            "dncsync_intake_past_deadline",
            "Requests not held everywhere whose 10-business-day deadline has passed",
        )
        late.add_metric([], stats.past_deadline)
        yield late


class ServeMetrics:
    """The serve process's metrics, in a registry of their own."""

    def __init__(self, stats: Callable[[], IntakeStats], today: Callable[[], date]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "dncsync_intake_requests",
            "Opt-out requests by outcome (accepted, rejected, replayed, conflict, ...)",
            ["outcome"],
            registry=self.registry,
        )
        self.held_latency = Histogram(
            "dncsync_intake_to_held_seconds",
            "Seconds from the 202 to the target acknowledging the number",
            ["target"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.batches = Counter(
            "dncsync_push_batches",
            "Micro-batches sent, by target and result",
            ["target", "result"],
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "dncsync_push_rate_limited",
            "429 answers the platforms gave",
            ["target"],
            registry=self.registry,
        )
        self.failures = Counter(
            "dncsync_push_failures",
            "Numbers a target refused or a push that failed",
            ["target"],
            registry=self.registry,
        )
        self.api_rate_limited = Counter(
            "dncsync_api_rate_limited",
            "Requests refused with 429 by the per-key rate limit",
            registry=self.registry,
        )
        self.sms_texts = Counter(
            "dncsync_sms_texts",
            "Inbound texts by what they asked: opt_out, review, resume, other, bad_signature",
            ["kind"],
            registry=self.registry,
        )
        self.alerts = Counter(
            "dncsync_alerts",
            "Alerts by condition and result: sent, throttled, failed",
            ["condition", "result"],
            registry=self.registry,
        )
        self.registry.register(_IntakeCollector(stats, today))


__all__ = ["ServeMetrics"]
