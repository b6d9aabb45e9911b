"""One batch's phone verdicts, as both normalization paths return them."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from dncsync.columnar.index import Keys
from dncsync.model import RejectReason
from dncsync.rejects import REASON_CODES, ReasonCodes


@dataclass(slots=True)
class PhoneColumn:
    """One batch's phone verdicts: keys of accepted rows, reasons of rejected ones."""

    accepted: npt.NDArray[np.intp]  # row indices
    keys: Keys  # parallel to accepted
    rejected: npt.NDArray[np.intp]
    codes: ReasonCodes  # parallel to rejected: indices into REASON_CODES
    # accepted rows whose extension was dropped, and whose vanity letters became digits
    extension_rows: npt.NDArray[np.intp] = field(default_factory=lambda: np.empty(0, np.intp))
    vanity_rows: npt.NDArray[np.intp] = field(default_factory=lambda: np.empty(0, np.intp))

    @property
    def extensions(self) -> int:
        """Accepted rows whose extension was dropped."""
        return int(self.extension_rows.size)

    @property
    def vanity(self) -> int:
        """Accepted rows whose vanity letters were converted."""
        return int(self.vanity_rows.size)

    @property
    def reasons(self) -> list[RejectReason]:
        """The rejected rows' reasons, parallel to `rejected`."""
        return [REASON_CODES[code] for code in self.codes.tolist()]
