"""What the evidence commands (`runs`, `report`, `audit verify`) share: finding the state
store and a run's evidence folder from the configuration, as a run would."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from dncsync import config as config_module
from dncsync import storage
from dncsync.audit import RunFiles
from dncsync.errors import InputError
from dncsync.report.evidence import runs_dir_for
from dncsync.state import RunRecord, Store


@dataclass(frozen=True, slots=True)
class History:
    """Where a configuration keeps its state store and its runs' evidence."""

    state_path: Path
    runs_dir: Path
    config: config_module.Config
    base: Path

    @classmethod
    def from_config(cls, path: Path) -> History:
        """Resolve the state file and runs folder the way `sync` does."""
        parsed, base = config_module.load(path)
        return cls(storage.state_path(parsed, base), runs_dir_for(parsed, base), parsed, base)

    @property
    def where(self) -> str:
        """The state as messages name it (a file, or a database without its password)."""
        return storage.where(self.config, self.base)

    def exists(self) -> bool:
        """True once some run has created the state store (a database: always looked in)."""
        return self.config.state.url is not None or self.state_path.exists()

    def open(self) -> contextlib.closing[Store]:
        """The state store; a missing one is an input error (no run happened yet)."""
        if not self.exists():
            raise InputError(
                f"no state store at {self.state_path}: no run has been recorded yet "
                "(run `dncsync sync` first, or give the right --config)"
            )
        return contextlib.closing(storage.open_store(self.config, self.base))

    def find(self, store: Store, run_id: str) -> RunRecord:
        """One run by id, unique id prefix, or `latest`."""
        if run_id == "latest":
            runs = store.runs(limit=1)
            if not runs:
                raise InputError(f"no run recorded in {self.where} yet")
            return runs[0]
        record = store.run(run_id)
        if record is None:
            raise InputError(f"no run {run_id!r} in {self.where} (see `dncsync runs` for run ids)")
        return record

    def files(self, record: RunRecord) -> RunFiles:
        """The run's evidence paths: as recorded, else where a run would have put them."""
        default = RunFiles.for_run(self.runs_dir, record.id)
        return RunFiles(
            directory=default.directory,
            audit=Path(record.audit_path) if record.audit_path else default.audit,
            report_json=Path(record.report_path) if record.report_path else default.report_json,
            report_html=(
                Path(record.html_report_path) if record.html_report_path else default.report_html
            ),
        )
