"""What dncsync knows between runs: the store protocol and its SQLite implementation."""

from dncsync.state.protocol import RunRecord, Store
from dncsync.state.sqlite import StateStore

__all__ = ["RunRecord", "StateStore", "Store"]
