"""`dncsync emulator`: local Genesys Cloud and NICE CXone servers for demos and tests."""

from __future__ import annotations

import ipaddress
import sys
from typing import Annotated

import typer

from dncsync.emulator.settings import (
    DEFAULT_ACCESS_KEY_ID,
    DEFAULT_ACCESS_KEY_SECRET,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_TENANT_ID,
    FAULT_KINDS,
    EmulatorSettings,
    FaultSettings,
    RateLimit,
)
from dncsync.emulator.variants import checked
from dncsync.errors import InputError

DEFAULT_PORT = 8765


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def build_settings(
    *,
    rate_limit: str,
    retry_after: int | None,
    fault_rate: float,
    fault_kinds: str,
    fault_exempt: list[str],
    latency_ms: int,
    token_ttl: int,
    seed: int,
    client_id: str,
    client_secret: str,
    access_key_id: str,
    access_key_secret: str,
    tenant_id: str,
    cxone_retry_after: bool,
    export_delay: float,
    variants: list[str] | None = None,
) -> EmulatorSettings:
    """Turn the command's options into settings; InputError names the bad option."""
    try:
        limit = RateLimit.parse(rate_limit)
    except ValueError as error:
        raise InputError(f"--rate-limit: {error}") from None
    if not 0.0 <= fault_rate <= 1.0:
        raise InputError(f"--fault-rate must be between 0 and 1, not {fault_rate}")
    kinds = tuple(kind.strip() for kind in fault_kinds.split(",") if kind.strip())
    try:
        faults = FaultSettings.uniform(fault_rate, kinds, exempt_paths=tuple(fault_exempt))
    except ValueError as error:
        raise InputError(f"--fault-kinds: {error}") from None
    if (retry_after or 0) < 0 or latency_ms < 0 or export_delay < 0:
        raise InputError("--retry-after, --latency-ms and --export-delay must not be negative")
    if token_ttl < 1:
        raise InputError("--token-ttl must be at least 1 second")
    try:
        spoken = checked(variants or [])
    except ValueError as error:
        raise InputError(f"--variant: {error}") from None
    return EmulatorSettings(
        variants=spoken,
        client_id=client_id,
        client_secret=client_secret,
        access_key_id=access_key_id,
        access_key_secret=access_key_secret,
        tenant_id=tenant_id,
        token_ttl=token_ttl,
        rate_limit=limit,
        retry_after=retry_after,
        cxone_retry_after_header=cxone_retry_after,
        seed=seed,
        faults=faults,
        latency_ms=latency_ms,
        export_delay_seconds=export_delay,
    )


def _shown(secret: str, default: str) -> str:
    # The defaults are documented test values; a secret the operator chose is not echoed.
    return secret if secret == default else "(as given)"


def command(
    host: Annotated[str, typer.Option(help="Address to bind; loopback unless you mean it.")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="Port to listen on; 0 picks a free one.")] = (
        DEFAULT_PORT
    ),
    rate_limit: Annotated[
        str, typer.Option(help="Requests per window per caller, e.g. 300/min, 5/s, 100/10s.")
    ] = "300/min",
    retry_after: Annotated[
        int | None,
        typer.Option(
            help="Fix the Retry-After seconds of a 429 (0 allowed); default: until reset."
        ),
    ] = None,
    fault_rate: Annotated[
        float, typer.Option(help="Fraction of requests meeting an injected fault (0-1).")
    ] = 0.0,
    fault_kinds: Annotated[
        str,
        typer.Option(
            help=f"Comma-separated fault kinds sharing --fault-rate: {','.join(FAULT_KINDS)}."
        ),
    ] = ",".join(FAULT_KINDS),
    fault_exempt: Annotated[
        list[str] | None,
        typer.Option(help="Path pattern never faulted, e.g. '*/token' (repeatable)."),
    ] = None,
    latency_ms: Annotated[int, typer.Option(help="Delay added to every platform request.")] = 0,
    token_ttl: Annotated[
        int, typer.Option(help="Genesys access token lifetime, seconds.")
    ] = 86_400,
    seed: Annotated[int, typer.Option(help="Seed deciding which requests meet faults.")] = 0,
    client_id: Annotated[
        str,
        typer.Option(envvar="DNCSYNC_EMULATOR_CLIENT_ID", help="OAuth client id (both platforms)."),
    ] = DEFAULT_CLIENT_ID,
    client_secret: Annotated[
        str,
        typer.Option(
            envvar="DNCSYNC_EMULATOR_CLIENT_SECRET", help="OAuth client secret.", show_default=False
        ),
    ] = DEFAULT_CLIENT_SECRET,
    access_key_id: Annotated[
        str, typer.Option(envvar="DNCSYNC_EMULATOR_ACCESS_KEY_ID", help="CXone access key id.")
    ] = DEFAULT_ACCESS_KEY_ID,
    access_key_secret: Annotated[
        str,
        typer.Option(
            envvar="DNCSYNC_EMULATOR_ACCESS_KEY_SECRET",
            help="CXone access key secret.",
            show_default=False,
        ),
    ] = DEFAULT_ACCESS_KEY_SECRET,
    tenant_id: Annotated[str, typer.Option(help="CXone tenant id served by discovery.")] = (
        DEFAULT_TENANT_ID
    ),
    cxone_retry_after: Annotated[
        bool, typer.Option(help="Whether CXone's 429 answers carry Retry-After.")
    ] = True,
    export_delay: Annotated[
        float, typer.Option(help="Seconds before a Genesys export is ready.")
    ] = 0.2,
    variant: Annotated[
        list[str] | None,
        typer.Option(
            help="Play a production variant of an unconfirmed point (repeatable, or 'all'; "
            "docs/emulator.md lists them)."
        ),
    ] = None,
) -> None:
    """Run local Genesys Cloud and NICE CXone DNC API servers until Ctrl-C or SIGTERM."""
    settings = build_settings(
        rate_limit=rate_limit,
        retry_after=retry_after,
        fault_rate=fault_rate,
        fault_kinds=fault_kinds,
        fault_exempt=fault_exempt or [],
        latency_ms=latency_ms,
        token_ttl=token_ttl,
        seed=seed,
        client_id=client_id,
        client_secret=client_secret,
        access_key_id=access_key_id,
        access_key_secret=access_key_secret,
        tenant_id=tenant_id,
        cxone_retry_after=cxone_retry_after,
        export_delay=export_delay,
        variants=variant,
    )
    # Imported here: the server stack (uvicorn, starlette) is not needed by other commands.
    from dncsync.emulator.server import bind, serve_forever

    try:
        sock = bind(host, port)
    except OSError as error:
        raise InputError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
    if not _is_loopback(host):
        print(
            f"dncsync: warning: the emulator listens on {host}, beyond this machine; "
            "its test credentials are public",
            file=sys.stderr,
        )

    def announce(url: str) -> None:
        lines = [
            f"dncsync emulator listening on {url}",
            f"  Genesys Cloud  api and login host: {url}",
            f"  NICE CXone     discovery: {url}/.well-known/cxone-configuration"
            f"?tenantId={settings.tenant_id}",
            f"  OAuth client (both platforms): id {settings.client_id}"
            f"  secret {_shown(settings.client_secret, DEFAULT_CLIENT_SECRET)}",
            f"  CXone access key: id {settings.access_key_id}"
            f"  secret {_shown(settings.access_key_secret, DEFAULT_ACCESS_KEY_SECRET)}",
            f"  Rate limit {rate_limit} per caller, fault rate {fault_rate:g} (seed {seed})",
            f"  Variants: {', '.join(sorted(settings.variants)) or 'none (the defaults)'}",
            f"  Inspection (emulator only): {url}/_emulator/state",
            "Stop with Ctrl-C.",
        ]
        print("\n".join(lines), flush=True)

    serve_forever(settings, sock, announce)
    print("dncsync emulator stopped", flush=True)


__all__ = ["build_settings", "command"]
