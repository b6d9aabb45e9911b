"""Where alerts go: a JSON webhook (Slack-compatible) or e-mail over SMTP.

The webhook's URL and the SMTP credentials are secrets: read from the environment, registered
with the log scrubber, and never in an error message (a failure names the channel only).
TLS: the webhook's certificate is verified and SMTP speaks STARTTLS (verified), except to a
loopback host, where a local relay or a test's server listens in the clear.

E-mail goes through the standard library's smtplib: alerts are rare and small, a sync or a
reconcile sends them synchronously at its end anyway, and serve hands them to a thread; an
async client (aiosmtplib) would add a dependency for no gain.
"""

from __future__ import annotations

import ipaddress
import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx

from dncsync.alerts.conditions import Alert
from dncsync.privacy import mask_text, redact_text


class NotSent(Exception):
    """An alert a channel could not deliver; the message names no secret."""


class Channel(Protocol):
    """One place alerts go."""

    @property
    def name(self) -> str:
        """How logs and metrics name it (never its URL)."""

    def send(self, alert: Alert) -> None:
        """Deliver the alert, or raise NotSent."""


def is_loopback(host: str) -> bool:
    """Whether `host` is this machine (no TLS is asked of it)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def line(alert: Alert) -> str:
    """The alert's one line, with any number masked and any secret redacted on the way out."""
    return mask_text(redact_text(f"dncsync alert [{alert.condition.value}] {alert.text}"))


def slack_payload(alert: Alert) -> dict[str, Any]:
    """`text` for any JSON webhook, and blocks for Slack's layout."""
    text = line(alert)
    facts = ", ".join(f"{k}: {v}" for k, v in alert.facts.items())
    return {
        "text": text,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": text}},
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": mask_text(redact_text(f"{alert.subject} | {facts}"))
                        + f" | {socket.gethostname()}",
                    }
                ],
            },
        ],
        "condition": alert.condition.value,
        "subject": alert.subject,
    }


@dataclass(frozen=True, slots=True)
class Webhook:
    """A JSON webhook (Slack's incoming webhooks and anything that takes `{"text": ...}`)."""

    name: str
    url: str
    timeout: float

    def send(self, alert: Alert) -> None:
        """POST the payload; a 2xx is delivered."""
        host = urlsplit(self.url).hostname or ""
        try:
            answer = httpx.post(
                self.url,
                json=slack_payload(alert),
                timeout=self.timeout,
                verify=not is_loopback(host),
                follow_redirects=False,
            )
        except Exception as error:  # only its type: httpx's messages can carry the URL
            raise NotSent(f"webhook {self.name}: {type(error).__name__}") from None
        if not answer.is_success:
            raise NotSent(f"webhook {self.name}: HTTP {answer.status_code}")


@dataclass(frozen=True, slots=True)
class Email:
    """E-mail through an SMTP server: STARTTLS unless it is on loopback."""

    name: str
    host: str
    port: int
    sender: str
    to: tuple[str, ...]
    username: str | None
    password: str | None
    timeout: float

    def send(self, alert: Alert) -> None:
        """One message to every recipient."""
        message = EmailMessage()
        message["Subject"] = line(alert)[:200]
        message["From"] = self.sender
        message["To"] = ", ".join(self.to)
        body = [line(alert), ""]
        body += [mask_text(redact_text(f"{k}: {v}")) for k, v in alert.facts.items()]
        body += ["", f"sent by dncsync on {socket.gethostname()}"]
        message.set_content("\n".join(body))
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if not is_loopback(self.host):
                    smtp.starttls(context=ssl.create_default_context())
                if self.username and self.password:
                    smtp.login(self.username, self.password)
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as error:
            raise NotSent(f"e-mail {self.name}: {type(error).__name__}") from None


__all__ = ["Channel", "Email", "NotSent", "Webhook", "is_loopback", "line", "slack_payload"]
