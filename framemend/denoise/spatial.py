"""The spatial stage: a local Wiener filter in an opponent colour space, per-pixel noise level.

Colour is rotated into an orthonormal opponent basis (luma ``(R+G+B)/√3`` and two chroma axes),
which keeps white noise white with the same σ in every channel while putting most of the image's
detail into luma (noise that is not white, such as a camera's colour noise, gets the level of
each channel, :func:`.noise.estimate_channel_noise`); chroma is then smoothed over a wider
window than luma. In each channel the local mean ``m`` and variance ``s`` over a ``(2r+1)²`` box
give the Wiener gain ``a = max(s - v, 0) / s`` for the local noise variance ``v`` (Lee, "Digital
image enhancement and noise filtering by use of local statistics", IEEE PAMI 2(2), 1980); as in
the guided filter (He, Sun & Tang, ECCV 2010) the per-window coefficients ``a`` and ``b = (1 -
a) m`` are averaged over the windows covering each pixel before ``a·x + b`` is formed, which
avoids block edges. The luma's ``v`` is its noise σ² times the share of it that a 3x3 window
holds around its mean relative to white noise's (:func:`.noise.estimate_channel_noise`: about
1 for white noise, less for noise correlated over pixels), set by the filter. The rest of the
luma noise's variance stays in the window's mean (the coarse band), where the fine stage leaves
it; that mean is first pulled toward the mean ``M`` of the chroma window (the wider one) by a
second Wiener gain ``A = max(S_c - v_c, 0) / S_c``, ``S_c = S - v`` the variance that window
finds beyond the fine noise and ``v_c`` the rest of the noise's variance (σ² times one minus the
share): ``b = (1 - a) (M + A (m - M))``. Correlated noise (grain) is smoothed at its own scale
while the fine stage keeps texture; white noise (share 1, ``v_c = 0``) gets ``A = 1``, the
one-scale filter.

Noise whose luma part follows its chroma (a camera's colour noise lies in the video's Cb and Cr
axes, which are not orthogonal to ``(R+G+B)/√3``: BT.601 chroma noise of σ 23 puts 21 levels
into that luma) is taken out of luma by a shear of the basis: luma becomes
``o₀ - β₁ o₁ - β₂ o₂``, with ``β`` the regression of the luma noise on the chroma noise
(:func:`.noise.estimate_channel_noise`). Grey has no chroma, so it stays in luma unchanged;
the luma channel's noise is then what the chroma noise does not explain (for that colour noise,
BT.601 luma's own: the minimum-variance unbiased reading of grey, as in BM3D's use of YCbCr).
White or grain noise, independent of chroma, reads ``β ≈ 0``: the opponent basis itself.
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
# the chroma channels' radius where their noise is spatially correlated (a camera's colour
# noise blurred over a pixel or more; grain): a 5x5 mean of such noise keeps much of it
# (.noise.estimate_channel_noise tells; on 320x180 renderings +1 to +2.5 dB against bm3d on
# colour noise blurred 0.6-1.4 px, where a 9x9 window everywhere lost up to 0.8 dB on colourful
# content under white noise)
WIDE_CHROMA = 4


def sheared_basis(shear: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
    """``(3, 3)`` the rows of :data:`OPPONENT` with ``shear[0]`` times the second and
    ``shear[1]`` times the third taken from the first (module docstring), in ``like``'s dtype
    on its device; ``shear`` ``(2,)`` or None (none)."""
    basis = device_constant(OPPONENT, like.device, like.dtype)
    if shear is None:
        return basis
    return torch.cat([basis[:1] - shear.to(basis) @ basis[1:], basis[1:]])


def local_wiener_reference(image: torch.Tensor, noise_var: torch.Tensor,
                           shear: torch.Tensor | None = None, chroma_radius: int = RADII[1]
                           ) -> torch.Tensor:
    """Denoise ``image`` whose noise variance at each pixel is ``noise_var``.

    Args:
        image: ``(3, H, W)`` RGB.
        noise_var: ``(4, H, W)`` noise variance of each channel of :func:`sheared_basis`
            in [0, 1]² units, then that of the luma's coarse band (module docstring).
        shear: ``(2,)`` the luma's shear (module docstring), or None.
        chroma_radius: the box radius of the chroma channels (:data:`RADII`' or
            :data:`WIDE_CHROMA`).
    Returns:
        ``(3, H, W)`` RGB.
    """
    basis = sheared_basis(shear, image)
    opp = torch.einsum("oc,chw->ohw", basis, image)
    out = []
    for c, radius in enumerate((RADII[0], chroma_radius, chroma_radius)):
        x = opp[c:c + 1][None]
        mean = box_mean(x, radius)
        var = (box_mean(x * x, radius) - mean * mean).clamp(min=1e-12)
        a = (var - noise_var[c:c + 1]).clamp(min=0) / var
        if c == 0:  # the coarse band (module docstring)
            wide = box_mean(x, chroma_radius)
            coarse = (box_mean(x * x, chroma_radius) - wide * wide).clamp(min=1e-12)
            coarse = (coarse - noise_var[:1]).clamp(min=1e-12)
            gain = (coarse - noise_var[3:]).clamp(min=0) / coarse
            mean = wide + gain * (mean - wide)
        b = (1 - a) * mean
        out.append(box_mean(a, radius) * x + box_mean(b, radius))
    # inv_ex: a sheared opponent basis is always invertible, and inv's check would wait for the
    # device every frame
    return torch.einsum("co,ohw->chw", torch.linalg.inv_ex(basis)[0], torch.cat(out, 1)[0])
