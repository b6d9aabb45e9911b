"""Reading pyarrow string arrays' buffers directly (for numpy and the compiled kernels)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa


def string_offsets(values: pa.StringArray) -> npt.NDArray[np.int32]:
    """The array's own len + 1 value offsets into its data buffer (a view, slices honoured)."""
    offsets = np.frombuffer(values.buffers()[1], np.int32)
    return offsets[values.offset : values.offset + len(values) + 1]


def string_bytes(values: pa.StringArray) -> memoryview:
    """The bytes the array's values span, end to end."""
    offsets = string_offsets(values)
    data = values.buffers()[2]
    if data is None:
        return memoryview(b"")
    return memoryview(data)[int(offsets[0]) : int(offsets[-1])]
