"""A `dncsync serve` subprocess on a free loopback port, and what the tests ask of it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

from e2e.support import Platforms, cxone_target, genesys_target, poll, toml_value

API_KEY = "serve-test-key-1"
HEADERS = {"Authorization": f"Bearer {API_KEY}"}
_LISTENING = re.compile(r"listening on (http://[0-9.]+:\d+)")


def serve_config(
    folder: Path,
    platforms: Platforms,
    *,
    serve: Mapping[str, object] | None = None,
    targets: Sequence[Mapping[str, object]] | None = None,
    state_url: str | None = None,
) -> Path:
    """A configuration with `[serve]`, no `[[source]]`, both emulator platforms as targets;
    with `state_url`, its state on that PostgreSQL database instead of a file."""
    chosen = targets if targets is not None else [
        genesys_target(platforms), cxone_target(platforms)
    ]  # fmt: skip
    settings = {"flush_seconds": 0.1, "run_seconds": 3600, "drain_seconds": 10, **(serve or {})}
    place = [f"url = {toml_value(state_url)}", 'runs_dir = "state/runs"'] if state_url else [
        'path = "state/dncsync.db"'
    ]  # fmt: skip
    lines = ["[state]", *place, "", "[serve]"]
    lines += [f"{key} = {toml_value(value)}" for key, value in settings.items()]
    for target in chosen:
        lines += ["", "[[target]]"]
        lines += [f"{key} = {toml_value(value)}" for key, value in target.items()]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "dncsync.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class Served:
    """One `dncsync serve` subprocess; its stderr kept in a file."""

    def __init__(self, config: Path, *args: str, env: Mapping[str, str] | None = None) -> None:
        out = config.parent / "output"
        out.mkdir(exist_ok=True)
        index = len(list(out.glob("serve-err-*.txt")))
        self.stderr_path = out / f"serve-err-{index}.txt"
        environment = {**os.environ, "DNCSYNC_API_KEYS": f"{API_KEY},other-key", **(env or {})}
        argv = [sys.executable, "-m", "dncsync", "--log-level", "info", "--log-format", "json"]
        argv += ["serve", "--config", str(config), "--port", "0", *args]
        with self.stderr_path.open("wb") as err:
            self.process = subprocess.Popen(
                argv, stdout=err, stderr=err, stdin=subprocess.DEVNULL, env=environment
            )
        found = poll(
            lambda: _LISTENING.search(self.stderr()),
            deadline_seconds=30,
            what="serve to listen",
            interval=0.02,
            alive=lambda: self.process.poll() is None,
        )
        if found is None:
            raise AssertionError(f"serve did not start: {self.stderr()}")
        self.url = found.group(1)
        self.client = httpx.Client(base_url=self.url, headers=HEADERS, timeout=10.0)

    def stderr(self) -> str:
        """What the process printed so far."""
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def post(self, body: object, **headers: str) -> httpx.Response:
        """POST /v1/optouts."""
        return self.client.post("/v1/optouts", json=body, headers=headers)

    def request(self, request_id: str) -> dict[str, Any]:
        """GET /v1/optouts/{id}."""
        answer = self.client.get(f"/v1/optouts/{request_id}")
        assert answer.status_code == 200, answer.text
        found: dict[str, Any] = answer.json()
        return found

    def held_everywhere(self, request_id: str, deadline_seconds: float = 20.0) -> dict[str, Any]:
        """Wait until the request is held on every target that takes it."""

        def held() -> dict[str, Any] | None:
            found = self.request(request_id)
            statuses = {t["status"] for t in found["targets"].values()}
            return found if statuses <= {"held", "skipped"} and "held" in statuses else None

        found = poll(held, deadline_seconds=deadline_seconds, what="held", interval=0.1)
        assert found is not None
        return found

    def signal(self, signum: int) -> None:
        """Send a signal."""
        os.kill(self.process.pid, signum)

    def kill(self) -> None:
        """SIGKILL: nothing of the process's own runs."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.client.close()

    def wait(self, timeout: float = 60.0) -> int:
        """The exit code."""
        try:
            return self.process.wait(timeout=timeout)
        finally:
            self.client.close()

    def stop(self) -> int:
        """SIGTERM and wait."""
        if self.process.poll() is None:
            self.signal(signal.SIGTERM)
        return self.wait()


def wait_until(check: Any, seconds: float = 20.0, what: str = "a condition") -> Any:
    """Poll `check` until truthy (deadline, no sleeps longer than a few ms)."""
    return poll(check, deadline_seconds=seconds, what=what, interval=0.01)


def pause(seconds: float) -> None:
    """Busy-wait free pause for ordering between processes."""
    time.sleep(seconds)
