"""HDR10's static metadata: the mastering display's colour volume (SMPTE ST 2086) and the
content light level (CTA-861.3 MaxCLL/MaxFALL), read from the input's first decoded picture and
given to the encoders that take it as an option.

FFmpeg exports both as frame side data (``AVMasteringDisplayMetadata``,
``AVContentLightMetadata``); its encoders take them only from the codec context's global side
data, which PyAV cannot set. libx265 (``master-display``, ``max-cll``, written as SEI) and
SVT-AV1 (``mastering-display``, ``content-light``, written as metadata OBUs) take them as
options; libx264, VP9, ProRes and FFV1 have no such option here, so the writer says they are
left out.
"""
from __future__ import annotations

import struct

# AVMasteringDisplayMetadata: display_primaries[3][2] (R, G, B) and white_point[2] as
# AVRationals, min_luminance, max_luminance (AVRationals), has_primaries, has_luminance (ints)
_MASTERING = struct.Struct("=22i")
_LIGHT = struct.Struct("=2I")  # AVContentLightMetadata: MaxCLL, MaxFALL (cd/m2)
KEEPS_HDR10 = ("libx265", "libsvtav1")


def hdr10_of(picture) -> dict | None:
    """The HDR10 metadata a decoded picture carries, or None: ``primaries`` (CIE 1931 x, y of
    R, G, B and the white point, 8 floats), ``luminance`` ((min, max) cd/m2) and ``light``
    ((MaxCLL, MaxFALL) cd/m2), each present only when the picture has it."""
    found = {}
    try:  # PyAV 18.1.1 made the side data a mapping from its types; before, a sequence
        side = picture.side_data
        entries = list(side.values() if hasattr(side, "values") else side)
    except ValueError:  # a side data type newer than PyAV's list (its Type(...) refuses it)
        return None
    for data in entries:
        kind = data.type.name
        if kind == "MASTERING_DISPLAY_METADATA" and data.buffer_size == _MASTERING.size:
            v = _MASTERING.unpack(bytes(data))
            ratios = [v[i] / v[i + 1] if v[i + 1] else 0.0 for i in range(0, 20, 2)]
            if v[20]:
                found["primaries"] = ratios[:8]
            if v[21]:
                found["luminance"] = ratios[8:10]
        elif kind == "CONTENT_LIGHT_LEVEL" and data.buffer_size == _LIGHT.size:
            found["light"] = list(_LIGHT.unpack(bytes(data)))
    return found or None


def _display(hdr: dict, chroma: float, light: float, form: str) -> str | None:
    """The mastering display as x265 and SVT-AV1 write it, ``G(x,y)B(x,y)R(x,y)WP(x,y)L(max,min)``,
    chromaticities times ``chroma`` and luminances times ``light`` in ``form``; None without
    both halves."""
    if "primaries" not in hdr or "luminance" not in hdr:
        return None
    rx, ry, gx, gy, bx, by, wx, wy = (format(v * chroma, form) for v in hdr["primaries"])
    low, high = (format(v * light, form) for v in hdr["luminance"])
    return f"G({gx},{gy})B({bx},{by})R({rx},{ry})WP({wx},{wy})L({high},{low})"


def encoder_params(codec: str, hdr: dict) -> list[str]:
    """``key=value`` items of ``codec``'s own parameter string (``x265-params``,
    ``svtav1-params``) that write ``hdr`` (:func:`hdr10_of`); none for another codec."""
    if codec == "libx265":  # units of 0.00002 and 0.0001 cd/m2 (x265's --master-display)
        display, names = _display(hdr, 50000, 10000, ".0f"), ("master-display", "max-cll")
    elif codec == "libsvtav1":
        display, names = _display(hdr, 1, 1, ".5f"), ("mastering-display", "content-light")
    else:
        return []
    items = [f"{names[0]}={display}"] if display else []
    if "light" in hdr:
        items.append(f"{names[1]}={hdr['light'][0]},{hdr['light'][1]}")
    return items
