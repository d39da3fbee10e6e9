"""torch's median on numpy arrays, for the CPU paths that mirror a torch reference
(:mod:`framemend.deflicker._host`, :mod:`framemend.denoise._noise_cpu`): ``torch.median`` takes
the lower of the two middle values where ``numpy.median`` averages them."""
from __future__ import annotations

import numpy as np


def lower_median(x: np.ndarray, axis: int = 0) -> np.ndarray:
    """The lower median of float ``x`` along ``axis`` (that axis removed), as ``torch.median``
    gives it; nan where ``x`` is empty along the axis."""
    n = x.shape[axis]
    if n == 0:
        return np.full(np.delete(x.shape, axis), np.nan, x.dtype)
    k = (n - 1) // 2
    return np.take(np.partition(x, k, axis=axis), k, axis=axis)
