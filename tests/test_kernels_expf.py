"""``kernels.expf.exp_neg``: the vectorisable ``exp`` of deboil's weights is as close to the exact
value as the C library's ``expf`` is (within a float's epsilon) over the arguments it takes."""
from __future__ import annotations

import numba
import numpy as np

from framemend.kernels.expf import exp_neg


@numba.njit
def _exp_all(x, out):
    for i in range(x.shape[0]):
        out[i] = exp_neg(x[i])


def test_exp_neg_within_a_float_epsilon_of_exp():
    x = np.concatenate([-np.linspace(0, 87, 200_001, dtype=np.float32),
                        -np.random.default_rng(0).exponential(3, 100_000).astype(np.float32)])
    x = np.maximum(x, np.float32(-87))
    out = np.empty_like(x)
    _exp_all(x, out)
    exact = np.exp(x.astype(np.float64))
    assert np.max(np.abs(out - exact) / exact) < np.finfo(np.float32).eps
    assert out[0] == 1.0  # exp(0)


def test_exp_neg_below_the_normal_range_is_the_least_it_gives():
    out = np.empty(3, np.float32)
    _exp_all(np.array([-87, -100, -1e6], np.float32), out)
    assert np.all(out == out[0]) and 1e-38 < out[0] < 2e-38
