"""`dncsync demo`: the README's first quickstart command, end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_the_demo_syncs_both_platforms_and_reads_them_back(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "dncsync", "demo", "--rows", "300"]
    done = subprocess.run(
        [*command, "--workdir", str(tmp_path), "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    accounting = summary["accounting"]
    assert accounting["rows"] == 300
    assert accounting["rows"] == (
        accounting["accepted"] + accounting["duplicates"] + accounting["rejected"]
    )
    for name in ("genesys-demo", "cxone-demo"):
        target = summary["targets"][name]
        assert target["acknowledged"] == accounting["accepted"]
        assert target["failed"] == 0
        assert target["verification"]["status"] == "match"
        assert target["verification"]["held"] == accounting["accepted"]
    assert Path(summary["evidence"]["report_html"]).is_file()
    assert (tmp_path / "dncsync.toml").is_file()
