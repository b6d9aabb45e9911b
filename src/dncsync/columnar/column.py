"""One batch's phone verdicts, as both normalization paths return them."""

from __future__ import annotations

from dataclasses import dataclass

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
    extensions: int = 0
    vanity: int = 0

    @property
    def reasons(self) -> list[RejectReason]:
        """The rejected rows' reasons, parallel to `rejected`."""
        return [REASON_CODES[code] for code in self.codes.tolist()]
