"""Alerts: pure conditions (`conditions`), the channels they go to (`channels`), the
throttle and failure streaks kept between processes (`ledger`), and the `Alerter` that ties
them (`alerter`). docs/configuration.md `[[alert]]`."""

from dncsync.alerts.alerter import Alerter, Delivery
from dncsync.alerts.conditions import (
    Alert,
    Condition,
    Thresholds,
    failing,
    overdue,
    while_serving,
)

__all__ = [
    "Alert",
    "Alerter",
    "Condition",
    "Delivery",
    "Thresholds",
    "failing",
    "overdue",
    "while_serving",
]
