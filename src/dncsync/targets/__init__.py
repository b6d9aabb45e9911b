"""What every platform target offers the run, and the machinery HTTP targets share.

The platforms themselves are folders under `dncsync.platforms`; `build_target` finds the one
a settings object belongs to.
"""

from __future__ import annotations

from dncsync.targets.base import (
    Action,
    BatchLike,
    BatchResult,
    Capabilities,
    RemoteRecord,
    Target,
    WriteBatch,
)

__all__ = [
    "Action",
    "BatchLike",
    "BatchResult",
    "Capabilities",
    "RemoteRecord",
    "Target",
    "WriteBatch",
]
