"""The spatial stage: a local Wiener filter in an opponent colour space, per-pixel noise level.

Colour is rotated into an orthonormal opponent basis (luma ``(R+G+B)/√3`` and two chroma
axes), which keeps white noise white with the same σ in every channel while putting most of the
image's detail into luma (noise that is not white, such as a camera's colour noise, gets the
level of each channel, :func:`.noise.estimate_channel_sigmas`); chroma is then smoothed over a wider window than luma. In each channel
the local mean ``m`` and variance ``s`` over a ``(2r+1)²`` box give the Wiener gain
``a = max(s - v, 0) / s`` for the local noise variance ``v`` (Lee, "Digital image enhancement and
noise filtering by use of local statistics", IEEE PAMI 2(2), 1980); as in the guided filter
(He, Sun & Tang, ECCV 2010) the per-window coefficients ``a`` and ``b = (1 - a) m`` are averaged
over the windows covering each pixel before ``a·x + b`` is formed, which avoids block edges.
"""
from __future__ import annotations

import math

from framemend._torch import torch
from framemend.cuda import device_constant
from framemend.kernels.blur import box_mean

_S2, _S3, _S6 = math.sqrt(2), math.sqrt(3), math.sqrt(6)
# rows: luma, red-blue, green-magenta (a tuple: no torch import; device_constant makes tensors)
OPPONENT = ((1 / _S3, 1 / _S3, 1 / _S3),
            (1 / _S2, 0.0, -1 / _S2),
            (1 / _S6, -2 / _S6, 1 / _S6))
RADII = (1, 2, 2)  # box radius per opponent channel (tuned on 640x360 and 320x180 clips)


def local_wiener_reference(image: torch.Tensor, noise_var: torch.Tensor) -> torch.Tensor:
    """Denoise ``image`` whose noise variance at each pixel is ``noise_var``.

    Args:
        image: ``(3, H, W)`` RGB.
        noise_var: ``(3, H, W)`` noise variance of each opponent channel of :data:`OPPONENT`
            in [0, 1]² units.
    Returns:
        ``(3, H, W)`` RGB.
    """
    basis = device_constant(OPPONENT, image.device, image.dtype)
    opp = torch.einsum("oc,chw->ohw", basis, image)
    out = []
    for c, radius in enumerate(RADII):
        x = opp[c:c + 1][None]
        mean = box_mean(x, radius)
        var = (box_mean(x * x, radius) - mean * mean).clamp(min=1e-12)
        a = (var - noise_var[c:c + 1]).clamp(min=0) / var
        b = (1 - a) * mean
        out.append(box_mean(a, radius) * x + box_mean(b, radius))
    return torch.einsum("oc,ohw->chw", basis, torch.cat(out, 1)[0])
