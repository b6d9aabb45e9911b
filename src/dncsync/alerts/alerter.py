"""Sending alerts: each `[[alert]]` channel, its conditions and thresholds, the throttle.

    alerter = Alerter.configured(config, base)      # None when no [[alert]]; secrets read here
    alerter.after_run(run.result, today)            # sync, reconcile, serve: at a run's end
    alerter.send(lambda thresholds: [...])          # serve's periodic checks

A channel failing to deliver is logged (`dnc.alert_failed`, its name only) and its claim on
the throttle given back, so the next check tries again; it never fails the run it reports on.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from dncsync import logs
from dncsync.alerts.channels import Channel, Email, NotSent, Webhook
from dncsync.alerts.conditions import Alert, Thresholds, after_run, streaks_after
from dncsync.alerts.ledger import AlertLedger, ledger_path
from dncsync.config import AlertConfig, Config, resolve_path
from dncsync.errors import ConfigError
from dncsync.outcome import RunResult
from dncsync.privacy import register_secret

log = logs.logger("dncsync.alerts")


@dataclass(frozen=True, slots=True)
class Route:
    """One configured channel, the conditions it takes and its thresholds."""

    channel: Channel
    conditions: frozenset[str] | None  # None: every condition
    thresholds: Thresholds


@dataclass(frozen=True, slots=True)
class Delivery:
    """What became of one alert on one channel: sent, throttled or failed."""

    channel: str
    alert: Alert
    result: str


def _secret(variable: str, key: str) -> str:
    value = os.environ.get(variable, "").strip()
    if not value:
        raise ConfigError(
            f"{key}: the environment variable {variable} is not set (it holds a secret the "
            "alert needs)"
        )
    register_secret(value)
    return value


def _channel(index: int, config: AlertConfig) -> Channel:
    name = config.name or f"alert-{index}"
    if config.url_env is not None:
        url = _secret(config.url_env, f"alert[{index}].url_env")
        if not url.startswith(("https://", "http://")):
            raise ConfigError(
                f"alert[{index}].url_env: {config.url_env} does not hold an http(s):// URL"
            )
        return Webhook(name, url, config.timeout_seconds)
    assert config.smtp_host is not None
    assert config.sender is not None
    user = password = None
    if config.username_env is not None and config.password_env is not None:
        user = _secret(config.username_env, f"alert[{index}].username_env")
        password = _secret(config.password_env, f"alert[{index}].password_env")
    return Email(
        name,
        config.smtp_host,
        config.smtp_port,
        config.sender,
        tuple(config.to),
        user,
        password,
        config.timeout_seconds,
    )


class Alerter:
    """The configured channels and the ledger they share."""

    def __init__(self, routes: list[Route], ledger: AlertLedger) -> None:
        self.routes = routes
        self.ledger = ledger

    @staticmethod
    def configured_routes(config: Config) -> list[Route]:
        """The configured channels, their secrets read from the environment (a missing one
        is a configuration error); nothing is opened or written (`dncsync check` asks)."""
        return [
            Route(
                _channel(index, alert),
                None if alert.on is None else frozenset(alert.on),
                Thresholds(alert.failures_in_a_row, alert.rejected_percent),
            )
            for index, alert in enumerate(config.alert)
        ]

    @classmethod
    def configured(cls, config: Config, base: Path) -> Alerter | None:
        """The alerter a configuration asks for (None: no `[[alert]]`); a secret missing
        from the environment is a configuration error."""
        if not config.alert:
            return None
        routes = cls.configured_routes(config)
        if config.state.url is not None:
            # Replicas on one database share one throttle: the ledger is the database's.
            from dncsync.alerts.pgledger import PostgresAlertLedger

            ledger: AlertLedger = PostgresAlertLedger(config.state.url, config.state.password_env)
        else:
            ledger = AlertLedger(ledger_path(resolve_path(base, config.state.path)))
        return cls(routes, ledger)

    def after_run(self, result: RunResult, today: date) -> list[Delivery]:
        """Count the run's target failures in a row, then send what the run calls for."""
        streaks = streaks_after(result, self.ledger.streaks())
        self.ledger.set_streaks(streaks)
        return self.send(lambda thresholds: after_run(result, streaks, thresholds, today))

    def send(
        self, alerts_for: Callable[[Thresholds], list[Alert]], now: datetime | None = None
    ) -> list[Delivery]:
        """Send each channel the alerts its thresholds find, at most one per condition and
        subject per hour."""
        moment = now or datetime.now(UTC)
        done: list[Delivery] = []
        for route in self.routes:
            for alert in alerts_for(route.thresholds):
                if route.conditions is not None and alert.condition not in route.conditions:
                    continue
                done.append(self._deliver(route.channel, alert, moment))
        return done

    def _deliver(self, channel: Channel, alert: Alert, now: datetime) -> Delivery:
        fields = {"channel": channel.name, "condition": alert.condition.value}
        previous = self.ledger.claim(channel.name, alert.condition, alert.subject, now)
        if previous is None:
            log.info("dnc.alert_throttled", subject=alert.subject, **fields)
            return Delivery(channel.name, alert, "throttled")
        try:
            channel.send(alert)
        except NotSent as failed:
            self.ledger.release(channel.name, alert.condition, alert.subject, previous)
            log.error("dnc.alert_failed", subject=alert.subject, error=str(failed), **fields)
            return Delivery(channel.name, alert, "failed")
        log.info("dnc.alert_sent", subject=alert.subject, **fields)
        return Delivery(channel.name, alert, "sent")


__all__ = ["Alerter", "Delivery", "Route"]
