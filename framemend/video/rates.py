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


def clock_rounds(tick: Fraction, fps: Fraction) -> bool:
    """Whether a clock of ``tick`` seconds rounds the frame times of a whole or NTSC rate
    ``fps`` (24, 30000/1001...; a variable rate's average, such as 2997/125, is neither): 1/24
    s is no whole number of Matroska's or ASF's milliseconds, 1/25 s is; MP4's 1/12288 holds
    1/24 s."""
    fps = Fraction(fps).limit_denominator(1001 * 1000)
    return fps.denominator in (1, 1001) and (1 / fps) % Fraction(tick) != 0
