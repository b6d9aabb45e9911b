"""The network layer every target shares: OAuth, retries, pacing, safe clients."""

from dncsync.net.api import ApiClient, Exchange
from dncsync.net.auth import OAuthFlow, Token
from dncsync.net.client import build_client, is_loopback
from dncsync.net.pacing import Pacer, RateHeaders
from dncsync.net.retry import (
    Outcome,
    RetryPolicy,
    classify,
    full_jitter_backoff,
    parse_retry_after,
    retry_delay,
)

__all__ = [
    "ApiClient",
    "Exchange",
    "OAuthFlow",
    "Outcome",
    "Pacer",
    "RateHeaders",
    "RetryPolicy",
    "Token",
    "build_client",
    "classify",
    "full_jitter_backoff",
    "is_loopback",
    "parse_retry_after",
    "retry_delay",
]
