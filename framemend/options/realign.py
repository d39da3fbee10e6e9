"""The ``realign`` filter's options; the filter itself is :mod:`framemend.realign.filter`."""
from __future__ import annotations

from dataclasses import dataclass

from framemend.chain.options import option

CHOICE_FRAMES = 24  # first frames of a shot among which pick=sharp chooses the keyframe
SHARP_ENOUGH = 0.8  # fraction of the sharpest candidate's sharpness that makes a frame sharp
#: Which pixels a ``box`` is in, as the option's help and the filter's no-face note say it.
BOX_PIXELS = "in pixels of the keyframe as a player shows it"


@dataclass
class RealignOptions:
    """Pull a drifting subject's colour and tone back to keyframes (flow-guided, low-frequency)."""

    keyframes: tuple[int, ...] | None = option(
        None, "frame numbers of the keyframes, e.g. 0+48 (each is used from its frame until "
        "the next keyframe or scene cut; earlier frames pass unchanged); default: one per "
        "shot, as pick says", min=0)
    pick: str = option("first", "without keyframes, each shot's keyframe is its first frame "
                       "(first) or its first sharp frame (sharp: the earliest at least "
                       f"{SHARP_ENOUGH:.0%} as sharp as the sharpest of its first "
                       f"{CHOICE_FRAMES}, so blurred or broken opening frames are skipped; "
                       "they pass unchanged)", choices=("first", "sharp"),
                       only_with={"keyframes": None})
    region: str = option("frame", "frame: correct everywhere the flow is trusted; face: only "
                         "the detected face (or the box)", choices=("frame", "face"))
    box: tuple[float, ...] | None = option(None, "region=face: the subject box x0+y0+x1+y1 "
                                           f"{BOX_PIXELS} (a rotated video turned upright, as "
                                           "framemend.read gives it) instead of a detected face",
                                           only_with={"region": "face"})
    detail: float = option(0.0, "blend of the keyframe's fine texture into trusted pixels",
                           min=0.0, max=1.0)
