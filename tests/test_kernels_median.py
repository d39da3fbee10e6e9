"""The lower median of long float32 rows by radix select (:mod:`framemend.kernels.median`):
torch's lower median, the value ``np.partition`` gives."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from framemend.kernels.median import RADIX_FROM, lower_median


@pytest.mark.parametrize("seed", range(4))
def test_long_rows_give_torchs_lower_median(seed):
    """Rows past :data:`RADIX_FROM` of negative and positive values, ties, infinities, values
    of one 16-bit key bin (a second histogram's work), and NaNs, with medians among the NaNs
    and on signed zeros: the values of ``np.partition`` (NaNs last), and of ``torch.median``
    where no NaN is held; a zero as 0.0."""
    rng = np.random.default_rng(seed)
    n = RADIX_FROM + int(rng.integers(0, 5000))
    x = rng.normal(0.0, 1.0, (6, n)).astype(np.float32)
    x[0] = np.round(x[0] * 4) / 4  # ties
    x[1, rng.random(n) < 0.2] = np.inf
    x[1, rng.random(n) < 0.2] = -np.inf
    x[2] = np.float32(1.5) + rng.integers(0, 64, n).astype(np.float32) * np.float32(2 ** -20)
    x[3, rng.random(n) < 0.3] = np.nan
    x[3, rng.random(n) < 0.1] = np.copysign(np.float32(np.nan), np.float32(-1))  # NaNs either sign
    x[4, : n // 2 + 1] = np.nan  # the median among the NaNs
    x[5] = np.where(rng.random(n) < 0.5, np.float32(-0.0), np.float32(0.0))
    x[5, : n // 4] = -1
    got = lower_median(x, 1)
    k = (n - 1) // 2
    np.testing.assert_array_equal(got, np.take(np.partition(x, k, axis=1), k, axis=1))
    kept = [0, 1, 2, 5]  # (torch's median is NaN wherever a row holds one)
    np.testing.assert_array_equal(got[kept], torch.from_numpy(x[kept]).median(1).values.numpy())
    assert np.signbit(got[5]) == np.False_
    np.testing.assert_array_equal(lower_median(x.T, 0), got)
    assert lower_median(x[3]) == got[3]
