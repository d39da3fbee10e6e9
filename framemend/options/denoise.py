"""The ``denoise`` filter's options; the filter itself is :mod:`framemend.denoise.filter`."""
from __future__ import annotations

from dataclasses import dataclass

from framemend.chain.options import option

@dataclass
class DenoiseOptions:
    """Motion-compensated recursive temporal denoise with a light spatial stage, no ghosts."""

    sigma: float | None = option(None, "standard deviation of white noise in 8-bit units "
                                 "(20 = 20/255), the same in every colour channel; auto: "
                                 "measured at the start of each shot per luma and chroma "
                                 "channel, in time as well (colour noise, grain; with "
                                 "lookahead 0 in space only) (give it for boiling texture: "
                                 "about its frame-to-frame RMS change)",
                                 min=0.0, max=100.0)
    memory: int = option(8, "frames averaged at most along the motion (a longer memory "
                         "removes more noise on steady shots)", min=1, max=64)
    spatial: float = option(1.0, "strength of the spatial stage on what time leaves "
                            "(0: temporal only)", min=0.0, max=8.0)
    # 2: on the bench clips the first frame comes out within 0.2 dB of a 3 or 6 frame
    # warm-up and the next ones as well (without any they lose 2.4-3.2 dB); the warm-up
    # runs before the first output (2 instead of 3: +7 to +22 % fps on a 24-frame clip)
    lookahead: int = option(2, "frames read ahead at the start of a shot so its first "
                            "frames are denoised too (0: none, lowest latency)", min=0, max=30)
    declip: bool = option(True, "undo the brightening/darkening that clipped noise leaves "
                          "near black and white after averaging")
