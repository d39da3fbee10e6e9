"""The scale float frames are read on, [0, 1], and the one-line error for floats on another
(0-255, 0-65535, a model's [-1, 1]): shared by the API's filters and the metrics."""
from __future__ import annotations

FLOAT_SLACK = 0.5
"""How far outside [0, 1] float frames may reach (a model's overshoot, clipped as the writer
clips it) before they are taken for another scale: 0-255 floats came back white, a model's
[-1, 1] output lost its darker half."""


def check_float_range(low: float, high: float) -> None:
    """ValueError when float frames spanning ``[low, high]`` reach past [0, 1] by more than
    :data:`FLOAT_SLACK`, with the way to [0, 1] from the scale they most likely are on."""
    if low < -FLOAT_SLACK or high > 1 + FLOAT_SLACK:  # clipped to [0, 1]: white, or half lost
        raise ValueError(f"float frames are read in [0, 1], these span [{low:.4g}, {high:.4g}]"
                         + _scale_hint(low, high))


def _scale_hint(low: float, high: float) -> str:
    """The way to [0, 1] from the scale ``[low, high]`` most likely is."""
    if low >= -1 - FLOAT_SLACK and high <= 1 + FLOAT_SLACK:
        return ": for a model's [-1, 1] output, give (video + 1) / 2"
    for top in (255, 65535):
        if low >= -FLOAT_SLACK and high <= top + FLOAT_SLACK:
            return f": for 0-{top} values, give video / {top}"
    return ""
