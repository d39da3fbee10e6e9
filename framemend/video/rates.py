"""Frame rates typed as decimals: ``29.97`` is NTSC's exact ``30000/1001``, as containers
store it."""
from __future__ import annotations

from fractions import Fraction

_NTSC_BASES = (12, 15, 24, 30, 48, 60, 120, 240)


def nominal_rate(fps: float) -> Fraction:
    """``fps`` as an exact fraction: ``k·1000/1001`` when ``fps`` rounds to an NTSC rate
    (11.988, 14.985, 23.976, 29.97, 59.94, 119.88, ...), else the nearest fraction with
    denominator ≤ 1001."""
    for base in _NTSC_BASES:
        ntsc = Fraction(base * 1000, 1001)
        if abs(fps - float(ntsc)) < 0.006:
            return ntsc
    return Fraction(fps).limit_denominator(1001)
