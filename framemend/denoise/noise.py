"""The noise model: its level, estimated from the frames, and the bias of clipped noise.

* :func:`estimate_sigma` — Immerkær's fast noise estimation (J. Immerkær, "Fast Noise Variance
  Estimation", CVIU 64(2), 1996): the image is filtered with the difference of two Laplacians
  ``[[1,-2,1],[-2,4,-2],[1,-2,1]]``, which cancels planes and most smooth structure; the
  standard deviation of what is left is ``6 σ``. The median absolute value (MAD) is used instead
  of Immerkær's mean so that edges and texture do not inflate the estimate.
* palette (GIF) frames: their finest scale is dither, quantisation error that Immerkær's
  kernel reads as noise (σ 23 for a 4x4 ordered dither of a clean photograph, 44 on a
  VideoCrafter2 GIF whose denoising then came out waxy). There the estimate is also made on
  the frames with the dither removed (:func:`framemend.chain.palette.dedither`), corrected by
  the gain of that low-pass for white noise, and the smaller of the two is taken: white noise
  reads the same both ways (within 10 % from 5 to 20 levels), dither only on the raw frames.
* :func:`estimate_channel_noise` — the noise level of each opponent channel (luma and the two
  chroma axes of :data:`.spatial.OPPONENT`), which the recursion and the spatial stage use
  apart: camera colour noise is mostly chroma, film grain mostly luma. Immerkær's kernel only
  sees the finest scale, so noise blurred over a pixel or more (grain, the blotches of colour
  noise) reads as a fraction of its level (grain of σ 16-32 read as 1.5-3). With a second frame
  the level is also measured in time, where noise is independent whatever its spatial
  correlation: the difference of the frame and the next one at the nearest pixel along the
  motion (no resampling, so the noise keeps its variance: ``2 σ²``), on the flattest third of
  the frame (sub-pixel misalignment costs least there) away from black and white, by MAD. What
  the difference holds of a change of light between the two frames (a lamp switching on, a
  fade, an exposure step) is taken out first: its mean over the flattest pixels within
  :data:`_TONE_RADIUS` pixels, a change of light being smooth at that scale and noise (grain
  included) finer (:func:`_tone_change_removed`). Read as noise, a lamp switching on between
  two frames of a clean clip (the astronaut, each frame repeated) read σ 178 and the recursion
  averaged the dark and the lit frames into each other (12.7-12.9 dB against the clip, every
  frame), and a clean fade came out at 22.8-36.6 dB on four photographs of five; with the change
  taken out 49.7-93 and 57.9-76 dB. At 8 px the lamp kept more (51.7 against 46.8 dB at 256x144)
  but grain blurred 1 px read 20.9 in luma for its 21.3 (21.6 at 16 px, 22.4 before). The change
  is taken out less :data:`_TONE_KEPT` (a soft threshold): a tone change of a level or less
  between two frames, which 8-bit rounding cannot tell from noise, is the wobble a generator
  leaves from frame to frame (CogVideo__1: half its windows' means under 0.5 level), flicker that
  the recursion should average. With all of it taken out, the luma noise of CogVideo__1 read 0.52
  instead of 0.74 and the default chain's flicker ratio there rose 0.517 -> 0.530; the lamp and
  the fade (10-180 levels) lose all but that level (46.8 -> 46.6 and 59.7 -> 59.5 dB through
  denoise at 256x144; a threshold of 2 levels gave the same flicker, of 0.5 level 0.526). Each
  channel takes the larger of the two readings (a repeated frame reads no noise in time), and
  at least :data:`_LEAST_SHARE` of the largest channel's: a channel read as nearly noiseless
  would make its resampling and rounding errors rule the recursion's residual test. Luma
  noise that reads about the same in time as in space (within :data:`_WHITE_RATIO`) is
  spatially white, taken for white RGB noise, whose σ is the same in every opponent channel:
  luma, whose texture inflates both readings most (grass: 13-17 for 9), is then read no
  higher than the chroma channels. From the same differences in time comes the shear of the
  luma axis (:func:`.spatial.sheared_basis`): the least-squares regression of the luma
  difference on the two chroma differences (over the pixels within 3 σ in every channel, so
  that misaligned detail does not steer it), kept where it explains at least
  :data:`_SHEAR_SHARE` of the luma's noise variance (a camera's colour noise in BT.601 Cb and
  Cr: about 0.8; white noise and grain: about 0); the levels are then read on the sheared
  luma. The same differences give the **luma's window share**: the variance the luma noise
  keeps inside the spatial stage's luma window (its deviation from the window's mean, by MAD),
  over that of white noise of the same σ (``1 - 1/9`` of it in a 3x3 window), at most 1. Lee's
  local Wiener filter (:mod:`.spatial`) subtracts the noise's variance from the variance it
  finds in its window; noise correlated over more than a pixel keeps only part of its variance
  there (grain blurred 1 px: about 0.15), and subtracting the whole σ² takes the rest from the
  texture. The tiny diffusion model's clips after deboil and deflicker change by 1.2-4.2
  levels (luma) in time and read 0.6 in space, share 0.09-0.5: with the whole σ² denoise took
  4-6 % of their detail, most of it in this stage, with the share 2-3 % (issue 21). White
  noise reads about 1 (unchanged). The rest of the variance, ``1 -`` the share, is the noise
  the window's mean keeps: the spatial stage's coarse band takes it out over the wider window
  (:mod:`.spatial`), which gives grain back the smoothing the whole σ² gave it (against bm3d,
  ``bench_families`` held back, grain: +3.53 / +1.61 dB median / worst with the fine window
  alone, +3.71 / +2.68 with the coarse band).
* :func:`declip_reference` — noise added to an image and then clipped to [0, 1] no longer has
  zero mean: averaging it (which every denoiser does) converges to ``E[clip(y + n)] ≠ y`` near
  black and white. The expectation is known in closed form for Gaussian noise, so the averaged
  value is mapped back through its inverse (A. Foi, "Clipped noisy images: heteroskedastic
  modeling and practical denoising", Signal Processing 89(12), 2009).

These torch functions are the reference and the device path; the CPU path makes the same
estimate and table in numpy and OpenCV (:mod:`._noise_cpu`), without importing torch.
"""
from __future__ import annotations

import math

import numpy as np

from framemend._torch import F, torch
from framemend.chain.palette import DEDITHER_TAPS, dedither, palette_limited
from framemend.cuda import device_constant
from framemend.flow.estimate import motion_flow
from framemend.kernels.blur import box_mean

from .recursive import FINEST_SIDE
from .spatial import OPPONENT, RADII, WIDE_CHROMA

_MAD_TO_SIGMA = 1.4826
_ROW_STRIDE = 4
_FLATTEST = 1 / 3  # the share of a frame, by gradient, on which the noise is measured in time
_LEAST_SHARE = 0.25  # no channel's σ is read below this share of the largest channel's
_WHITE_RATIO = 1.5  # luma noise reading at most this much higher in time than in space is white
_SHEAR_SHARE = 0.25  # the least share of the luma noise's variance a shear must explain
# the least chroma noise (σ, 8-bit) a shear is measured on: on nearly clean footage the
# differences in time are mostly exact zeros, and a regression on a few rounding residues read
# shears of 1e9 (the bedroom footage: every output pixel wrong)
_SHEAR_LEAST = 1.0
# the variance white noise keeps in the spatial stage's luma window around the window's mean
_WHITE_WINDOW = 1 - 1 / (2 * RADII[0] + 1) ** 2
# the radius (pixels) over which a change of light between two frames is taken for smooth, and
# the least number of flattest pixels in such a window for its own to be read
_TONE_RADIUS = 16
_TONE_LEAST = 16
# the part of a window's change of light (8-bit levels, the readings' unit) left in the reading
_TONE_KEPT = 1.0


def estimate_sigma(frames: torch.Tensor) -> float:
    """Standard deviation of additive white noise in ``frames``, in 8-bit units (20 = 20/255).

    Pixels whose neighbourhood lies within two estimated sigmas of black or white are left out
    of a second pass, since clipping there hides part of the noise. Palette (GIF) frames are
    also measured with their dither removed, and the smaller estimate is taken (module
    docstring).

    Args:
        frames: ``(T, 3, H, W)`` or ``(3, H, W)`` float RGB in [0, 1]; a few frames suffice.
    Returns:
        the noise standard deviation, pooled over frames and channels.
    """
    sigma = _immerkaer_sigma(frames.reshape(-1, *frames.shape[-2:]).float())
    if palette_limited(frames.reshape(-1, *frames.shape[-3:])[0]):
        smooth = dedither(frames.reshape(-1, *frames.shape[-2:]).float())
        sigma = min(sigma, _immerkaer_sigma(smooth) / _dedither_noise_gain())
    return sigma


def estimate_channel_noise(frame: torch.Tensor, following: torch.Tensor | None = None,
                           palette: bool | None = None, motion: torch.Tensor | None = None
                           ) -> tuple[tuple[float, float, float], torch.Tensor, int, float]:
    """Standard deviation of the noise in each opponent channel (luma, red-blue,
    green-magenta of :data:`.spatial.OPPONENT`, the luma sheared), in 8-bit units: white RGB
    noise of σ reads σ in each (module docstring), and the luma's shear. On a GPU it waits
    for the device once.

    Args:
        frame: ``(3, H, W)`` float RGB in [0, 1].
        following: ``(3, H, W)`` the next frame of the same shot, or None: then the noise is
            measured in space only, and blurred noise reads low.
        palette: whether the frames come from palette (GIF) pixels, or None to read it off
            ``frame`` (:func:`palette_limited`); a pass that removed the dither before this
            one knows it (:func:`framemend.chain.palette.palette_source`).
        motion: ``(2, H, W)`` the flow from ``following`` to ``frame`` if an earlier pass of
            the chain published it (:mod:`framemend.flow.motion`): the noise in time is then
            measured along it, from ``following``'s side; else along the flow estimated from
            ``frame`` to ``following``.
    Returns:
        ``(σ_luma, σ_rb, σ_gm)``, the shear ``(2,)`` on the frame's device (zero without a
        ``following`` frame), the Wiener stage's chroma radius: :data:`.spatial.WIDE_CHROMA`
        where the chroma noise reads more than :data:`_WHITE_RATIO` times higher in time than in
        space (spatially correlated), else :data:`.spatial.RADII`'s, and the luma's window
        share (module docstring; 1 without a ``following`` frame, where too few pixels
        qualify, or for a palette source). Palette (GIF) frames read
        :func:`estimate_sigma` in every channel (their dither differs from frame to frame), also
        when a pass before this one removed the dither: what changes between such frames is not
        read as noise in time (Open-Sora's snowy road after deboil: luma σ 10.9 in time on a
        "flattest third" whose gradient is 20 levels, with nearest-pixel and bilinear sampling
        alike, against 3.2 in space; denoising at the former took detail retention from 0.96 to
        0.92).
    """
    frame = frame.float()
    zero = torch.zeros(2, device=frame.device)
    if palette_limited(frame) if palette is None else palette:
        return (estimate_sigma(frame),) * 3, zero, RADII[1], 1.0
    basis = device_constant(OPPONENT, frame.device, torch.float32)
    opponent = torch.einsum("oc,chw->ohw", basis, frame)
    shear, wide = zero, torch.zeros((), dtype=torch.bool, device=frame.device)
    share = torch.ones((), device=frame.device)
    if following is not None:
        following = following.float()
        difference, flat = (_temporal_differences(frame, following) if motion is None
                            else _temporal_differences(following, frame, motion))
        enough = flat.sum() >= 1000
        shear = torch.where(enough, _luma_shear(difference, flat), zero)
        difference = _sheared(difference, shear)
        temporal = _mad_sigmas(difference, flat) / math.sqrt(2)
        share = torch.where(enough, _window_share(difference[:1], flat, temporal[0]), share)
        temporal = torch.where(enough, temporal, torch.zeros_like(temporal))
    sigmas = _immerkaer_sigmas(_sheared(opponent, shear))
    if following is not None:
        white = temporal[0] <= _WHITE_RATIO * sigmas[0]
        wide = temporal[1:].max() > _WHITE_RATIO * sigmas[1:].max()
        sigmas = torch.maximum(sigmas, temporal)
        luma = torch.where(white, torch.minimum(sigmas[0], sigmas[1:].max()), sigmas[0])
    else:
        luma = torch.minimum(sigmas[0], sigmas[1:].max())
    sigmas = torch.cat([luma[None], sigmas[1:]])
    sigmas = torch.maximum(sigmas, _LEAST_SHARE * sigmas.max())
    # the one wait for the device
    values = torch.cat([sigmas, wide[None].float(), share[None]]).tolist()
    return tuple(values[:3]), shear, WIDE_CHROMA if values[3] else RADII[1], values[4]


def _window_share(luma: torch.Tensor, flat: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """The luma noise's window share (module docstring) from ``luma`` ``(1, H, W)``, its
    differences in time, over the pixels ``flat`` ``(H, W)``, of which ``sigma`` is the MAD-σ
    (8-bit) over √2: 1 where that is 0 (no change in time)."""
    deviation = luma - box_mean(luma[None], RADII[0])[0]
    spread = _mad_sigmas(deviation, flat)[0] / math.sqrt(2)
    share = (spread / sigma.clamp(min=1e-12)).square() / _WHITE_WINDOW
    return torch.where(sigma > 0, share.clamp(max=1.0), torch.ones_like(share))


def _sheared(x: torch.Tensor, shear: torch.Tensor) -> torch.Tensor:
    """``(3, ...)`` opponent channels with the luma sheared (:func:`.spatial.sheared_basis`)."""
    return torch.cat([x[:1] - shear[0] * x[1:2] - shear[1] * x[2:], x[1:]])


def _mad_sigmas(x: torch.Tensor, where: torch.Tensor) -> torch.Tensor:
    """``(3,)`` σ (8-bit) of ``(3, H, W)`` zero-mean samples by their median absolute value
    over the pixels ``where`` ``(H, W)`` is True."""
    spread = x.abs().masked_fill(~where, float("nan")).flatten(1).nanmedian(1).values
    return spread * (_MAD_TO_SIGMA * 255)


def _luma_shear(difference: torch.Tensor, flat: torch.Tensor) -> torch.Tensor:
    """``(2,)`` the least-squares regression of the luma of ``difference`` ``(3, H, W)`` (in
    time, zero mean) on its chroma channels, over the pixels ``flat`` ``(H, W)`` within 3
    MAD-σ in every channel; zero unless the chroma noise reads at least :data:`_SHEAR_LEAST`
    in each channel and the shear explains :data:`_SHEAR_SHARE` of the luma's mean square
    (module docstring). No wait for the device (the 2x2 system solved in closed form)."""
    sigmas = _mad_sigmas(difference, flat)
    spread = sigmas / 255
    keep = flat & (difference.abs() <= 3 * spread[:, None, None]).all(0)
    d = difference.double() * keep
    moments = torch.einsum("ahw,bhw->ab", d, d) / keep.sum().clamp(min=1)
    (c11, c12), (_, c22) = moments[1:, 1:]
    cross = moments[1:, 0]
    det = c11 * c22 - c12 * c12
    beta = torch.stack([c22 * cross[0] - c12 * cross[1],
                        c11 * cross[1] - c12 * cross[0]]) / det.clamp(min=1e-300)
    kept = ((sigmas[1:].min() >= _SHEAR_LEAST) & (det > 1e-6 * c11 * c22)
            & (beta @ cross >= _SHEAR_SHARE * moments[0, 0]))
    return torch.where(kept, beta, torch.zeros_like(beta)).float()


def _temporal_differences(frame: torch.Tensor, following: torch.Tensor,
                          flow: torch.Tensor | None = None
                          ) -> tuple[torch.Tensor, torch.Tensor]:
    """``(3, H, W)`` the opponent channels of ``frame - following`` at the nearest pixel along
    the motion, and ``(H, W)`` where they count: the flattest :data:`_FLATTEST` of the
    unclipped pixels whose source is in the frame (module docstring; too few below 1000).
    ``(3, H, W)`` float RGB each; ``flow`` ``(2, H, W)`` from ``frame`` to ``following``
    (estimated if None)."""
    basis = device_constant(OPPONENT, frame.device, torch.float32)
    if flow is None:
        flow = motion_flow(frame, following, FINEST_SIDE)  # frame(p) ≈ following(p + flow)
    h, w = frame.shape[1:]
    ys, xs = torch.meshgrid(torch.arange(h, device=frame.device),
                            torch.arange(w, device=frame.device), indexing="ij")
    sx, sy = (xs + flow[0]).round().long(), (ys + flow[1]).round().long()
    inside = (sx >= 0) & (sx < w) & (sy >= 0) & (sy < h)
    source = following[:, sy.clamp(0, h - 1), sx.clamp(0, w - 1)]
    difference = torch.einsum("oc,chw->ohw", basis, frame - source)
    luma = box_mean((basis[0] @ frame.reshape(3, -1)).reshape(1, 1, h, w), 2)[0, 0]
    gradient = torch.full((h, w), float("nan"), device=frame.device)
    gradient[1:-1, 1:-1] = ((luma[2:, 1:-1] - luma[:-2, 1:-1]).abs()
                            + (luma[1:-1, 2:] - luma[1:-1, :-2]).abs())
    local = box_mean(frame[None], 1)[0]
    usable = inside & (local.amin(0) > 0.05) & (local.amax(0) < 0.95) & ~gradient.isnan()
    gradient = gradient.masked_fill(~usable, float("nan"))
    # the threshold from every other row and column: as good, and within nanquantile's size
    threshold = gradient[::2, ::2].nanquantile(_FLATTEST)
    flat = usable & (gradient <= threshold)
    return _tone_change_removed(difference, flat)


def _tone_change_removed(difference: torch.Tensor, flat: torch.Tensor
                         ) -> tuple[torch.Tensor, torch.Tensor]:
    """``difference`` ``(3, H, W)`` less its mean over the ``flat`` ``(H, W)`` pixels of each
    ``(2 r + 1)²`` window (``r`` :data:`_TONE_RADIUS`: a change of light, module docstring)
    shrunk towards zero by :data:`_TONE_KEPT` levels (a soft threshold), scaled by
    ``1 / sqrt(1 - 1/n)`` so that white noise keeps its variance (``n`` the window's flat
    pixels; the sums in float64), and ``flat`` without the pixels whose window holds fewer than
    :data:`_TONE_LEAST` of them."""
    size = 2 * _TONE_RADIUS + 1

    def window_sums(x):
        return F.avg_pool2d(x[None], size, stride=1, padding=_TONE_RADIUS,
                            count_include_pad=True)[0] * (size * size)

    weight = flat.double()[None]
    count = window_sums(weight).round()  # whole numbers (the pool's mean times its size)
    mean = window_sums(difference * weight) / count.clamp(min=1)
    kept = _TONE_KEPT / 255
    mean = mean - mean.clamp(-kept, kept)
    scale = (1 - 1 / count.clamp(min=2)).rsqrt()
    return ((difference - mean) * scale).float(), flat & (count[0] >= _TONE_LEAST)


def _dedither_noise_gain() -> float:
    """The factor by which :func:`dedither` scales Immerkær's estimate of white noise: the norm
    of the two kernels convolved over that of Immerkær's alone."""
    taps = torch.tensor(DEDITHER_TAPS, dtype=torch.float64)
    laplacians = torch.tensor([[1.0, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=torch.float64)
    both = F.conv2d(torch.outer(taps, taps)[None, None], laplacians[None, None], padding=2)
    return float(both.norm() / laplacians.norm())


def _residuals(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Immerkær's absolute residuals of ``(N, H, W)`` planes and the 3x3 means under them,
    each ``(N, M)``, at every :data:`_ROW_STRIDE`-th row only (as good an estimate, a quarter
    of the work)."""
    centre = torch.arange(1, max(x.shape[-2] - 1, 2), _ROW_STRIDE, device=x.device)
    up, mid, down = x[:, centre - 1], x[:, centre], x[:, centre + 1]

    def across(v):  # the kernel is [1,-2,1]ᵀ[1,-2,1]
        return v[:, :, :-2] - 2 * v[:, :, 1:-1] + v[:, :, 2:]

    residual = (across(up) - 2 * across(mid) + across(down)).abs().flatten(1)
    rows = up + mid + down
    local_mean = ((rows[:, :, :-2] + rows[:, :, 1:-1] + rows[:, :, 2:]) / 9).flatten(1)
    return residual, local_mean


def _immerkaer_sigmas(x: torch.Tensor) -> torch.Tensor:
    """``(N,)`` the σ (8-bit) of each of ``(N, H, W)`` planes, on the device (no wait for it)."""
    return _robust_sigmas(*_residuals(x))


def _immerkaer_sigma(x: torch.Tensor) -> float:
    """:func:`estimate_sigma` of ``(N, H, W)`` planes, read as they are, pooled."""
    residual, local_mean = (t.reshape(1, -1) for t in _residuals(x))
    return float(_robust_sigmas(residual, local_mean)[0])


def _robust_sigmas(residual: torch.Tensor, local_mean: torch.Tensor) -> torch.Tensor:
    """``(N,)`` σ (8-bit) from Immerkær's absolute residuals ``(N, M)``: their median (MAD, over
    the kernel's gain of 6), then again over the residuals whose 3x3 mean ``(N, M)`` is more
    than ``2 σ`` from black and white (clipping shrinks the noise there) if they are more than a
    tenth of them."""
    if residual.shape[1] > 400_000:  # the median of a strided sample is as good and cheaper
        step = residual.shape[1] // 200_000
        residual, local_mean = residual[:, ::step], local_mean[:, ::step]
    sigma = residual.median(1, keepdim=True).values * (_MAD_TO_SIGMA / 6.0)
    unclipped = (local_mean > 2 * sigma) & (local_mean < 1 - 2 * sigma)
    kept = residual.masked_fill(~unclipped, float("nan")).nanmedian(1, keepdim=True).values
    enough = unclipped.sum(1, keepdim=True) > residual.shape[1] // 10
    sigma = torch.where(enough, kept * (_MAD_TO_SIGMA / 6.0), sigma)
    return sigma[:, 0] * 255.0


def clipped_mean(y: torch.Tensor, sigma: float) -> torch.Tensor:
    """``E[clip(y + n, 0, 1)]`` for ``n ~ N(0, sigma²)``; ``y`` and ``sigma`` in [0, 1] units."""

    def positive_part_mean(m):  # E[max(m + n, 0)]
        z = m / sigma
        return m * torch.special.ndtr(z) + sigma * torch.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)

    return positive_part_mean(y) - positive_part_mean(y - 1.0)


def declip_table(sigma: float, size: int = 1025) -> torch.Tensor:
    """``(size,)`` lookup table on a uniform grid of [0, 1]: averaged clipped value -> true value.

    ``sigma`` in [0, 1] units. Values outside the range of :func:`clipped_mean` map to 0 or 1.
    """
    if sigma <= 0:
        return torch.linspace(0.0, 1.0, size)
    truth = torch.linspace(0.0, 1.0, 4097, dtype=torch.float64)
    mean = clipped_mean(truth, sigma).numpy()
    grid = np.linspace(0.0, 1.0, size)
    return torch.from_numpy(np.interp(grid, mean, truth.numpy()).astype(np.float32))


def declip_reference(image: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """Map averaged clipped values back to true values with a :func:`declip_table` (any shape)."""
    table = table.to(image.device)
    pos = image.clamp(0, 1) * (table.numel() - 1)
    lo = pos.floor().clamp(max=table.numel() - 2)
    frac = pos - lo
    lo = lo.long()
    return table[lo] * (1 - frac) + table[lo + 1] * frac
