"""Output timestamps of a frame-rate change.

Two ways to place output frames in the span ``[start, end)`` that one input frame covers (from
its own time to the next frame's time):

* ``factor=k``: ``k`` frames evenly spaced, the first at ``start`` (the input frame itself);
* ``fps=R``: the frames of the global grid ``n / R`` (``n`` integer) that fall in the span, so
  consecutive spans tile the time line without gaps or repeats, whatever the input intervals.

Times are seconds. :func:`nominal_rate` turns a rate typed as ``59.94`` into the exact NTSC
fraction ``60000/1001`` that video containers use.
"""
from __future__ import annotations

import math
from fractions import Fraction

_NTSC_BASES = (24, 30, 48, 60, 120, 240)
_GRID_TOLERANCE = 1e-6  # in output frames: grid points this close to a span edge belong to it
_FRACTION_STEP = 2.0 ** -20  # an in-between's place in its input interval, rounded to this


def nominal_rate(fps: float) -> Fraction:
    """``fps`` as an exact fraction: ``k·1000/1001`` when ``fps`` rounds to an NTSC rate
    (23.976, 29.97, 59.94, ...), else the nearest fraction with denominator ≤ 1001."""
    for base in _NTSC_BASES:
        ntsc = Fraction(base * 1000, 1001)
        if abs(fps - float(ntsc)) < 0.006:
            return ntsc
    return Fraction(fps).limit_denominator(1001)


def factor_times(start: float, end: float, factor: int) -> list[float]:
    """``factor`` times evenly spaced in ``[start, end)``, the first ``start``."""
    step = (end - start) / factor
    return [start + j * step for j in range(factor)]


def span_fraction(time: float, start: float, length: float) -> float:
    """Where ``time`` falls in the input interval ``[start, start + length)``, as a fraction of
    it rounded to a multiple of 2^-20 (a millionth of a frame): the same instant reached through
    another time base (the API's ``n / fps`` in floats, a file's ``pts * time_base``) then gives
    the same fraction to the bit, and the same in-between (a fraction of 0.5000000000000001
    against 0.5 moved one value of an interpolated CogVideoX clip by a level)."""
    return round((time - start) / length / _FRACTION_STEP) * _FRACTION_STEP


def grid_times(start: float, end: float, rate: Fraction) -> list[float]:
    """The times ``n / rate`` in ``[start, end)`` (``n`` integer)."""
    first = math.ceil(start * rate - _GRID_TOLERANCE)
    stop = math.ceil(end * rate - _GRID_TOLERANCE)
    return [float(n / rate) for n in range(first, stop)]
