"""What the evidence commands (`runs`, `report`, `audit verify`) share: finding the state
store and a run's evidence folder from the configuration, as a run would."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dncsync import config as config_module
from dncsync.audit import RunFiles
from dncsync.errors import InputError
from dncsync.report.evidence import runs_dir_for
from dncsync.state import RunRecord, StateStore


@dataclass(frozen=True, slots=True)
class History:
    """Where a configuration keeps its state store and its runs' evidence."""

    state_path: Path
    runs_dir: Path

    @classmethod
    def from_config(cls, path: Path) -> History:
        """Resolve the state file and runs folder the way `sync` does."""
        parsed, base = config_module.load(path)
        state_path = Path(config_module.resolve_path(base, parsed.state.path))
        return cls(state_path, runs_dir_for(parsed, base))

    def exists(self) -> bool:
        """True once some run has created the state store."""
        return self.state_path.exists()

    def open(self) -> StateStore:
        """The state store; a missing one is an input error (no run happened yet)."""
        if not self.exists():
            raise InputError(
                f"no state store at {self.state_path}: no run has been recorded yet "
                "(run `dncsync sync` first, or give the right --config)"
            )
        return StateStore(self.state_path)

    def find(self, store: StateStore, run_id: str) -> RunRecord:
        """One run by id, unique id prefix, or `latest`."""
        if run_id == "latest":
            runs = store.runs(limit=1)
            if not runs:
                raise InputError(f"no run recorded in {self.state_path} yet")
            return runs[0]
        record = store.run(run_id)
        if record is None:
            raise InputError(
                f"no run {run_id!r} in {self.state_path} (see `dncsync runs` for run ids)"
            )
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
