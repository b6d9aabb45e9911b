"""Runs: one lifecycle (`Run`) and the steps every command runs inside it.

    Run ──► plan / sync (`run_sync`) ──► reconcile (`run_reconcile`) ──► (later) serve

`Run` owns the run id, the state store, the per-target locks, the evidence (audit log,
reports, seal) and the run record; the steps only plan, push and read back.
"""

from dncsync.run.lifecycle import Run, new_run_id
from dncsync.run.reconcile import ReconcileResult, TargetReconcile, run_reconcile
from dncsync.run.retention import retention_from_first_seen
from dncsync.run.sync import RunOptions, check_safety, push_all, run_sync, sync_target

__all__ = [
    "ReconcileResult",
    "Run",
    "RunOptions",
    "TargetReconcile",
    "check_safety",
    "new_run_id",
    "push_all",
    "retention_from_first_seen",
    "run_reconcile",
    "run_sync",
    "sync_target",
]
