"""Output timestamps of a frame-rate change.

Two ways to place output frames in the span ``[start, end)`` that one input frame covers (from
its own time to the next frame's time):

* ``factor=k``: ``k`` frames evenly spaced, the first at ``start`` (the input frame itself);
* ``fps=R``: the frames of the global grid ``n / R`` (``n`` integer) that fall in the span, so
  consecutive spans tile the time line without gaps or repeats, whatever the input intervals.

Times are seconds. :func:`~framemend.video.rates.nominal_rate` turns a rate typed as ``59.94``
into the exact NTSC fraction ``60000/1001`` that video containers use.
"""
from __future__ import annotations

import math
from fractions import Fraction

#: Seconds before a span's edge from which a grid point belongs to the span that starts there.
#: A timestamp in milliseconds (Matroska, WebM, FLV) is known to half of one, and the last
#: frame's span ends one interval (two such times apart) after its own: 1.5 ms, rounded up.
#: The last frame of 12 per second, stored at 0.917 s (11/12 is 0.91667 s), covers the 84 ms
#: to 1.001 s, and the grid point of 24 per second at 1.000 s is the clip's end, not a 25th
#: frame; a grid point that close before an input frame's time shows that frame.
_GRID_TOLERANCE = 2e-3
_FRACTION_STEP = 2.0 ** -20  # an in-between's place in its input interval, rounded to this


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
    """The times ``n / rate`` in ``[start - tolerance, end - tolerance)`` (``n`` integer;
    :data:`_GRID_TOLERANCE`, or half a grid step where that is less), so that consecutive
    spans tile the grid."""
    # under half a grid step, so no more than one grid point is taken across an edge (from 250
    # fps up the 2 ms took a point before the first frame: at 500 fps a frame at -2 ms, and
    # H.264 in Matroska then lost a frame and was refused as "came out wrong")
    tolerance = min(_GRID_TOLERANCE, 0.5 / float(rate))
    first = math.ceil((start - tolerance) * rate)
    stop = math.ceil((end - tolerance) * rate)
    return [float(n / rate) for n in range(first, stop)]
