"""The CPU path of :mod:`.noise`: the noise level of a shot's first frames and the declip table
in numpy, OpenCV and a few numba loops, so that denoise on the CPU never imports torch (issue
#18).

Same arithmetic as the torch reference (:func:`.noise.estimate_channel_noise`,
:func:`.noise.declip_table`), in float32 where it is float32, with torch's lower median
(``torch.median`` takes the lower of the two middle values where numpy averages them). The
per-pixel work (the opponent rotation, the differences along the flow, the flattest third, the
shear's moments) runs in numba loops built without fast-math, each sum in the order written;
numpy's matrix product, used for the rotation before, took 3.7 ms per 640x360 frame and woke
OpenBLAS's thread pool, whose spinning cost more CPU than the estimate itself (at 720x480 the
process spent 97-123 ms per estimate, its own thread 49).
Sums in another order (OpenCV's box sums and dedither) differ from torch's by float rounding:
the sigmas agreed within 2e-5 levels on generated clips and white, blurred, colour and palette
noise renderings, except where a pixel at the flattest third's threshold falls on the other
side (0.003 levels on a 16-bit rendering); the declip tables are equal.
"""
from __future__ import annotations

import math

import cv2
import numba
import numpy as np

from framemend.chain.palette import DEDITHER_TAPS, palette_limited
from framemend.flow.estimate import motion_luma_flow
from framemend.kernels.colour import LUMA
from framemend.kernels.median import lower_median
from framemend.kernels.pools import shared_pool

from .noise import (_FLATTEST, _LEAST_SHARE, _MAD_TO_SIGMA, _ROW_STRIDE, _SHEAR_LEAST,
                    _SHEAR_SHARE, _TONE_KEPT, _TONE_LEAST, _TONE_RADIUS, _WHITE_RATIO,
                    _WHITE_WINDOW)
from .recursive import FINEST_SIDE
from .spatial import OPPONENT, RADII, WIDE_CHROMA

_F = np.float32
_BASIS = np.array(OPPONENT, np.float32)
_DEDITHER = np.array(DEDITHER_TAPS, np.float32)


def estimate_channel_noise(frame: np.ndarray, following: np.ndarray | None = None,
                           palette: bool | None = None, motion: np.ndarray | None = None
                           ) -> tuple[tuple[float, float, float], np.ndarray, int, float]:
    """:func:`.noise.estimate_channel_noise` on the host.

    Args:
        frame: ``(H, W, 3)`` float32 RGB in [0, 1]; following: the same of the next frame, or
            None.
        palette: whether the frames come from palette (GIF) pixels, or None to read it off
            ``frame``.
        motion: ``(H, W, 2)`` the flow from ``following`` to ``frame`` that an earlier pass
            published, or None.
    Returns:
        ``(σ_luma, σ_rb, σ_gm)`` in 8-bit units, the luma's shear ``(2,)`` float32, the
        chroma radius and the luma's window share.
    """
    return estimate_planes_noise(_planes(frame), None if following is None else _planes(following),
                                 palette_limited(frame) if palette is None else palette, motion)


def estimate_planes_noise(planes: np.ndarray, following: np.ndarray | None, palette: bool,
                          motion: np.ndarray | None = None
                          ) -> tuple[tuple[float, float, float], np.ndarray, int, float]:
    """:func:`estimate_channel_noise` of frames given as ``(3, H, W)`` float32 RGB planes in
    [0, 1] (what the filter makes of decoded pixels in one step: a ``(H, W, 3)`` float frame
    and its planes took two copies of each frame), ``palette`` told."""
    shear, share = np.zeros(2, np.float32), 1.0
    if palette:
        return (estimate_sigma(planes.transpose(1, 2, 0)),) * 3, shear, RADII[1], share
    # the noise in space, on the other thread while this one measures it in time (the shear
    # found there is most often none: else it is measured again, sheared)
    spatial = shared_pool("denoise", 1).submit(_spatial_sigmas, planes)
    if following is not None:
        field, flat = (_temporal_differences(planes, following) if motion is None
                       else _temporal_differences(following, planes, motion))
        temporal = np.zeros(3, np.float32)
        if flat is not None:
            samples = _masked(field, flat)
            spread = _mad_sigmas(samples)
            shear = _luma_shear(samples, spread)
            if shear.any():  # else the samples and their spread are those of the sheared field
                field = _sheared(field, shear)
                spread = _mad_sigmas(_sheared(samples, shear))
            temporal = spread / _F(math.sqrt(2))
            share = _window_share(field[0], flat, temporal[0])
    rotated, sigmas = spatial.result()
    if shear.any():
        sigmas = _robust_sigmas(*_residuals(_sheared(rotated, shear)))
    chroma_radius = RADII[1]
    if following is not None:
        white = temporal[0] <= _WHITE_RATIO * sigmas[0]
        if temporal[1:].max() > _WHITE_RATIO * sigmas[1:].max():
            chroma_radius = WIDE_CHROMA
        sigmas = np.maximum(sigmas, temporal)
        luma = min(sigmas[0], sigmas[1:].max()) if white else sigmas[0]
    else:
        luma = min(sigmas[0], sigmas[1:].max())
    sigmas = np.array([luma, sigmas[1], sigmas[2]], np.float32)
    return (tuple(float(v) for v in np.maximum(sigmas, _F(_LEAST_SHARE) * sigmas.max())), shear,
            chroma_radius, share)


def _spatial_sigmas(planes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The opponent channels ``(3, H, W)`` of ``(3, H, W)`` RGB planes and their noise σ
    ``(3,)`` in space (:func:`_robust_sigmas` of Immerkær's residuals), the luma not
    sheared."""
    rotated = _rotate(planes)
    return rotated, _robust_sigmas(*_residuals(rotated))


def _window_share(luma: np.ndarray, flat: np.ndarray, sigma: np.float32) -> float:
    """:func:`.noise._window_share` of the luma's differences in time ``(H, W)`` float32 over
    the pixels ``flat``, of which ``sigma`` is the MAD-σ over √2."""
    if sigma <= 0:
        return 1.0
    deviation = luma - _inside_mean(luma[None], RADII[0])[0]
    spread = _mad_sigmas(_masked(deviation[None], flat))[0] / _F(math.sqrt(2))
    return float(min((spread / sigma) ** 2 / _F(_WHITE_WINDOW), _F(1.0)))


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _masked(planes, mask):
    """``(K, N)``: the values of ``(K, H, W)`` float32 ``planes`` at the ``N`` pixels of ``mask``
    ``(H, W)`` bool, in row-major order, as ``planes[:, mask]`` gives them (numpy's took 1.2 ms
    for three 640x360 planes, a third of them kept; this writes every value and moves on only
    past a kept one, with no branch to mispredict)."""
    k, h, w = planes.shape
    n = 0
    for y in range(h):
        for x in range(w):
            n += mask[y, x]
    out = np.empty(k * n + 1, np.float32)  # one spare: past the last kept value
    for c in range(k):
        i = c * n
        for y in range(h):
            for x in range(w):
                out[i] = planes[c, y, x]
                i += mask[y, x]
    return out[:k * n].reshape(k, n)


def estimate_sigma(frame: np.ndarray) -> float:
    """:func:`.noise.estimate_sigma` of one ``(H, W, 3)`` float32 RGB frame in [0, 1]."""
    planes = _planes(frame)
    sigma = _immerkaer_sigma(planes)
    if palette_limited(frame):
        smooth = np.stack([cv2.sepFilter2D(p, -1, _DEDITHER, _DEDITHER,
                                           borderType=cv2.BORDER_REFLECT_101) for p in planes])
        sigma = min(sigma, _immerkaer_sigma(smooth) / _dedither_noise_gain())
    return sigma


def pixel_planes(pixels: np.ndarray) -> np.ndarray:
    """Decoded ``(H, W, 3)`` uint8/uint16 pixels (full range of their type) as ``(3, H, W)``
    float32 planes in [0, 1]: each value times ``1 / max`` of the type in float32, as numpy
    multiplies their ``cv2.split`` planes (0.32 ms per 640x360 frame that way, split 0.14)."""
    planes = np.empty((3, *pixels.shape[:2]), np.float32)
    _scaled_planes(pixels, np.float32(1 / np.iinfo(pixels.dtype).max), planes)
    return planes


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _scaled_planes(pixels, scale, out):
    """``out`` ``(3, H, W)`` float32: the channels of ``pixels`` ``(H, W, 3)`` (integers) each
    converted to float32 (exact) and multiplied by float32 ``scale``."""
    for y in range(pixels.shape[0]):
        for x in range(pixels.shape[1]):
            out[0, y, x] = np.float32(pixels[y, x, 0]) * scale
            out[1, y, x] = np.float32(pixels[y, x, 1]) * scale
            out[2, y, x] = np.float32(pixels[y, x, 2]) * scale


def _planes(frame: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` -> contiguous ``(3, H, W)`` float32."""
    return np.ascontiguousarray(frame.transpose(2, 0, 1), np.float32)


def _rotate(planes: np.ndarray) -> np.ndarray:
    """``(3, H, W)`` RGB -> the opponent channels of :data:`.spatial.OPPONENT`."""
    out = np.empty_like(planes)
    _opponent(planes, _BASIS, out)
    return out


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _opponent(planes, basis, out):
    """``(3, H, W)`` float32 RGB -> the channels of ``basis`` ``(K, 3)`` into ``out``
    ``(K, H, W)``, each the sum of three products in order (numpy's matrix product of these
    shapes took 3.7 ms per 640x360 frame, this 0.3)."""
    _, h, w = planes.shape
    for o in range(out.shape[0]):
        b0, b1, b2 = basis[o, 0], basis[o, 1], basis[o, 2]
        for y in range(h):
            for x in range(w):
                out[o, y, x] = b0 * planes[0, y, x] + b1 * planes[1, y, x] + b2 * planes[2, y, x]


def _sheared(x: np.ndarray, shear: np.ndarray) -> np.ndarray:
    """``(3, ...)`` opponent channels with the luma sheared (:func:`.spatial.sheared_basis`)."""
    if not shear.any():
        return x
    return np.concatenate([x[:1] - shear[0] * x[1:2] - shear[1] * x[2:], x[1:]])


def _mad_sigmas(x: np.ndarray) -> np.ndarray:
    """``(3,)`` float32 σ (8-bit) of ``(3, N)`` zero-mean samples by their median absolute
    value (torch's lower median)."""
    return np.array([lower_median(np.abs(v)) for v in x], np.float32) * _F(_MAD_TO_SIGMA * 255)


def _luma_shear(difference: np.ndarray, sigmas: np.ndarray) -> np.ndarray:
    """:func:`.noise._luma_shear`: ``(2,)`` float32 from ``(3, N)`` differences in time and
    their :func:`_mad_sigmas` ``(3,)``."""
    if sigmas[1:].min() < _SHEAR_LEAST:
        return np.zeros(2, np.float32)
    moments = _kept_moments(difference, 3 * (sigmas / _F(255)))
    # the 2x2 system in closed form, as the reference solves it (no LAPACK call)
    (c11, c12), (_, c22) = moments[1:, 1:]
    cross = moments[1:, 0]
    det = c11 * c22 - c12 * c12
    if det <= 1e-6 * c11 * c22:
        return np.zeros(2, np.float32)
    beta = np.array([c22 * cross[0] - c12 * cross[1], c11 * cross[1] - c12 * cross[0]]) / det
    if beta[0] * cross[0] + beta[1] * cross[1] < _SHEAR_SHARE * moments[0, 0]:
        return np.zeros(2, np.float32)
    return beta.astype(np.float32)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _kept_moments(difference, limit):
    """``(3, 3)`` float64 mean products of the channels of ``(3, N)`` float32 samples over those
    within ``limit`` ``(3,)`` in every channel (float64 sums in order: numpy's mask, gather
    and matrix product took 2.4 ms on 60 000 samples, this 0.2)."""
    moments = np.zeros((3, 3))
    kept = 0
    for n in range(difference.shape[1]):
        d0, d1, d2 = difference[0, n], difference[1, n], difference[2, n]
        if abs(d0) <= limit[0] and abs(d1) <= limit[1] and abs(d2) <= limit[2]:
            a0, a1, a2 = np.float64(d0), np.float64(d1), np.float64(d2)
            moments[0, 0] += a0 * a0
            moments[0, 1] += a0 * a1
            moments[0, 2] += a0 * a2
            moments[1, 1] += a1 * a1
            moments[1, 2] += a1 * a2
            moments[2, 2] += a2 * a2
            kept += 1
    for a in range(3):
        for b in range(a):
            moments[a, b] = moments[b, a]
    return moments / max(kept, 1)


def _dedither_noise_gain() -> float:
    """:func:`.noise._dedither_noise_gain`: the norm of dedither's 2-D kernel convolved with
    Immerkær's over that of Immerkær's alone."""
    taps = np.array(DEDITHER_TAPS, np.float64)
    laplacians = np.array([[1.0, -2, 1], [-2, 4, -2], [1, -2, 1]])
    padded = np.pad(np.outer(taps, taps), 2)
    both = sum(laplacians[i, j] * padded[i:i + 7, j:j + 7] for i in range(3) for j in range(3))
    return float(np.linalg.norm(both) / np.linalg.norm(laplacians))


def _residuals(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`.noise._residuals` of ``(N, H, W)`` float32 planes (``H`` at least 3): ``(N, M)``
    each (:func:`_immerkaer_rows`)."""
    n, h, w = x.shape
    shape = (n, len(range(1, h - 1, _ROW_STRIDE)), w - 2)
    residual, local_mean = np.empty(shape, np.float32), np.empty(shape, np.float32)
    _immerkaer_rows(np.ascontiguousarray(x, np.float32), _ROW_STRIDE, residual, local_mean)
    return residual.reshape(n, -1), local_mean.reshape(n, -1)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _immerkaer_rows(x, stride, residual, local_mean):
    """Immerkær's absolute residuals (the kernel ``[1,-2,1]ᵀ[1,-2,1]``) of ``(N, H, W)`` float32
    planes at rows ``1, 1 + stride, ...`` into ``residual`` ``(N, R, W - 2)``, and the 3x3
    means under them into ``local_mean``, each value in float32 with numpy's order of
    operations (the numpy version's row gathers and temporaries took 1.3 ms per 640x360
    frame, this 0.35)."""
    two, nine = np.float32(2), np.float32(9)
    for c in range(residual.shape[0]):
        for i in range(residual.shape[1]):
            up, mid, down = x[c, i * stride], x[c, i * stride + 1], x[c, i * stride + 2]
            for k in range(residual.shape[2]):
                across_up = up[k] - two * up[k + 1] + up[k + 2]
                across_mid = mid[k] - two * mid[k + 1] + mid[k + 2]
                across_down = down[k] - two * down[k + 1] + down[k + 2]
                residual[c, i, k] = abs(across_up - two * across_mid + across_down)
                left = up[k] + mid[k] + down[k]
                centre = up[k + 1] + mid[k + 1] + down[k + 1]
                right = up[k + 2] + mid[k + 2] + down[k + 2]
                local_mean[c, i, k] = (left + centre + right) / nine


def _immerkaer_sigma(x: np.ndarray) -> float:
    """:func:`.noise._immerkaer_sigma`: ``(N, H, W)`` planes pooled."""
    residual, local_mean = (t.reshape(1, -1) for t in _residuals(x))
    return float(_robust_sigmas(residual, local_mean)[0])


def _robust_sigmas(residual: np.ndarray, local_mean: np.ndarray) -> np.ndarray:
    """:func:`.noise._robust_sigmas`: ``(N,)`` float32 σ (8-bit) from ``(N, M)`` residuals."""
    if residual.shape[1] > 400_000:
        step = residual.shape[1] // 200_000
        residual, local_mean = residual[:, ::step], local_mean[:, ::step]
    gain = _F(_MAD_TO_SIGMA / 6.0)
    out = np.empty(len(residual), np.float32)
    for n, (r, m) in enumerate(zip(residual, local_mean)):
        sigma = lower_median(r) * gain
        unclipped = (m > 2 * sigma) & (m < 1 - 2 * sigma)
        if unclipped.sum() > r.size // 10:
            sigma = lower_median(r[unclipped]) * gain
        out[n] = sigma * _F(255.0)
    return out


def _inside_mean(planes: np.ndarray, radius: int) -> np.ndarray:
    """``framemend.kernels.blur.box_mean`` with ``border="inside"`` of ``(N, H, W)`` float32
    planes: the window's sum over the number of its pixels inside the frame."""
    size = (2 * radius + 1,) * 2
    out = np.empty(planes.shape, np.float32)
    for plane, mean in zip(planes, out, strict=True):
        _divide_by_inside(cv2.boxFilter(plane, -1, size, normalize=False,
                                        borderType=cv2.BORDER_CONSTANT), radius, mean)
    return out


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _divide_by_inside(sums, radius, out):
    """``out`` ``(H, W)``: the float32 window ``sums`` over the window's number of pixels inside
    the frame (the product of its in-frame rows and columns, exact in float32), as numpy
    divides by their outer product (numpy's outer product, division and stack took 0.4 ms a
    call at 640x360, this 0.1 a plane)."""
    h, w = sums.shape
    columns = np.empty(w, np.float32)
    for x in range(w):
        columns[x] = np.float32(min(x + radius, w - 1) - max(x - radius, 0) + 1)
    for y in range(h):
        rows = np.float32(min(y + radius, h - 1) - max(y - radius, 0) + 1)
        for x in range(w):
            out[y, x] = sums[y, x] / (rows * columns[x])


def _luma_u8(planes: np.ndarray) -> np.ndarray:
    """``framemend.kernels.colour.luma_u8`` of ``(3, H, W)`` float32 RGB: ``(H, W)`` uint8."""
    out = np.empty(planes.shape[1:], np.uint8)
    _luma_u8_planes(planes, out)
    return out


_KR, _KG, _KB = (_F(k) for k in LUMA)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _luma_u8_planes(planes, out):
    """``out`` ``(H, W)`` uint8: the BT.601 luma of ``(3, H, W)`` float32 RGB, clamped to [0, 1],
    times 255 plus 0.5, truncated, each step in float32 as numpy takes it (numpy's
    temporaries took 0.43 ms per 640x360 frame, this 0.18)."""
    zero, one, levels, half = np.float32(0), np.float32(1), np.float32(255), np.float32(0.5)
    for y in range(out.shape[0]):
        for x in range(out.shape[1]):
            v = _KR * planes[0, y, x] + _KG * planes[1, y, x] + _KB * planes[2, y, x]
            out[y, x] = np.uint8(min(max(v, zero), one) * levels + half)


def _temporal_differences(frame: np.ndarray, following: np.ndarray,
                          flow: np.ndarray | None = None
                          ) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`.noise._temporal_differences`: ``(3, H, W)`` float32 opponent differences of
    ``(3, H, W)`` float32 frames in time along ``flow`` ``(H, W, 2)`` from ``frame`` to
    ``following`` (DIS on their luma if None), and ``(H, W)`` their flattest pixels, None
    where fewer than 1000 qualify."""
    means = shared_pool("denoise", 1).submit(_flatness_means, frame)  # beside the flow
    if flow is None:
        flow = motion_luma_flow(_luma_u8(frame), _luma_u8(following), FINEST_SIDE)
    h, w = frame.shape[1:]
    difference = np.empty((3, h, w), np.float32)
    gradient = np.empty((h, w), np.float32)
    _nearest_differences(frame, following, np.ascontiguousarray(flow, np.float32), _BASIS,
                         difference, gradient)  # gradient: 0 where the source is inside
    _flatness(*means.result(), gradient)
    sample = gradient[::2, ::2]
    sample = sample[~np.isnan(sample)]
    threshold = np.quantile(sample, _FLATTEST) if sample.size else np.nan
    flat = gradient <= threshold  # nan (not usable) compares False
    flat = _tone_change_removed(difference, flat)
    return difference, (flat if flat.sum() >= 1000 else None)


def _flatness_means(frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What :func:`_flatness` reads of ``(3, H, W)`` float32 RGB planes: the 5x5 in-frame mean
    of their luma ``(H, W)`` and their 3x3 in-frame means ``(3, H, W)``."""
    luma = np.empty((1, *frame.shape[1:]), np.float32)
    _opponent(frame, _BASIS[:1], luma)
    return _inside_mean(luma, 2)[0], _inside_mean(frame, 1)


def _tone_change_removed(difference: np.ndarray, flat: np.ndarray) -> np.ndarray:
    """:func:`.noise._tone_change_removed` in place on ``difference`` ``(3, H, W)`` float32
    (the window sums in float64, as the reference's); returns the ``(H, W)`` flat pixels
    kept. The last channel on the other thread, beside the first two here."""
    weight = flat.astype(np.float64)
    count = _tone_count(flat)
    scales = _count_scales(count.max(initial=0))
    last = shared_pool("denoise", 1).submit(_plane_tone_removed, difference[2], weight, count,
                                            scales)
    masked = np.empty_like(weight)
    for plane in difference[:2]:
        _plane_tone_removed(plane, weight, count, scales, masked)
    last.result()
    return flat & (count >= _TONE_LEAST)


def _tone_sums(x: np.ndarray) -> np.ndarray:
    """The sums of float64 ``x`` ``(H, W)`` over each ``(2 r + 1)²`` window (``r``
    :data:`_TONE_RADIUS`, zeros outside the frame), by OpenCV."""
    size = (2 * _TONE_RADIUS + 1,) * 2
    return cv2.boxFilter(x, -1, size, normalize=False, borderType=cv2.BORDER_CONSTANT)


def _tone_count(flat: np.ndarray) -> np.ndarray:
    """``(H, W)`` int32: the number of ``flat`` ``(H, W)`` bool pixels in each window of
    :func:`_tone_sums`, summed as integers (the float64 sums of the 0/1 weights, 0.33 ms per
    640x360 frame, are the same integers; this 0.15)."""
    size = (2 * _TONE_RADIUS + 1,) * 2
    return cv2.boxFilter(flat.view(np.uint8), cv2.CV_32S, size, normalize=False,
                         borderType=cv2.BORDER_CONSTANT)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _count_scales(most):
    """``(most + 1,)`` float64: ``1 / sqrt(1 - 1 / max(n, 2))`` for each window count ``n``
    (:func:`_less_window_mean`'s scale, computed once per count instead of once per pixel and
    channel)."""
    one, two = np.float64(1), np.float64(2)
    out = np.empty(most + 1)
    for n in range(most + 1):
        out[n] = one / np.sqrt(one - one / max(np.float64(n), two))
    return out


def _plane_tone_removed(plane: np.ndarray, weight: np.ndarray, count: np.ndarray,
                        scales: np.ndarray, masked: np.ndarray | None = None) -> None:
    """One channel ``(H, W)`` float32 of :func:`_tone_change_removed` in place: less its mean
    over the pixels of ``weight`` (``(H, W)`` float64, 1 flat, else 0) in each window, whose
    number is ``count`` (``(H, W)`` int32; ``scales`` :func:`_count_scales` of its largest),
    shrunk by :data:`.noise._TONE_KEPT` levels, scaled; ``masked``: float64 scratch of its
    size. The three channels took 4.6 ms of thread CPU at 640x360 this way, 6.2 with numpy's
    float64 temporaries for each step."""
    masked = np.multiply(plane, weight, out=masked)
    _less_window_mean(plane, _tone_sums(masked), count, scales, _TONE_KEPT / 255)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _less_window_mean(plane, sums, count, scales, kept):
    """In place of ``plane`` ``(H, W)`` float32: ``(plane - (m - clip(m, -kept, kept))) / sqrt(1
    - 1 / max(count, 2))``, ``m = sums / max(count, 1)`` (``sums`` ``(H, W)`` float64,
    ``count`` ``(H, W)`` int32, the scales of its values ``scales``, :func:`_count_scales`),
    each step in float64 as numpy takes ``(plane - (m - np.clip(m, -kept, kept))) * (1 /
    np.sqrt(1 - 1 / np.maximum(count, 2)))``, then rounded to float32 (0.57 ms per 640x360
    channel with the scale computed per pixel)."""
    one = np.float64(1)
    for y in range(plane.shape[0]):
        for x in range(plane.shape[1]):
            c = count[y, x]
            mean = sums[y, x] / max(np.float64(c), one)
            shrunk = mean - min(max(mean, -kept), kept)
            plane[y, x] = np.float32((np.float64(plane[y, x]) - shrunk) * scales[c])


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _nearest_differences(frame, following, flow, basis, difference, outside):
    """``difference`` ``(3, H, W)``: the channels of ``basis`` ``(3, 3)`` of ``frame`` minus
    ``following`` (``(3, H, W)`` float32 each) at the nearest pixel to ``p + flow(p)``
    (``flow`` ``(H, W, 2)``; rounded half to even, clamped to the frame), and ``outside``
    ``(H, W)``: nan where that pixel is outside the frame, else 0. Each row's source pixels
    are found first, then gathered (both in one loop took 1.8 ms per 640x360 frame, this
    1.45)."""
    _, h, w = frame.shape
    (b00, b01, b02), (b10, b11, b12), (b20, b21, b22) = basis[0], basis[1], basis[2]
    source = np.empty(w, np.int64)  # a row's source pixels, as indices of a flat plane
    planes = following.reshape(3, h * w)
    for y in range(h):
        for x in range(w):
            fx = np.rint(np.float32(x) + flow[y, x, 0])
            fy = np.rint(np.float32(y) + flow[y, x, 1])
            outside[y, x] = np.nan if (fx < 0) | (fx > w - 1) | (fy < 0) | (fy > h - 1) else 0
            source[x] = int(min(max(fy, 0), h - 1)) * w + int(min(max(fx, 0), w - 1))
        for x in range(w):
            d0 = frame[0, y, x] - planes[0, source[x]]
            d1 = frame[1, y, x] - planes[1, source[x]]
            d2 = frame[2, y, x] - planes[2, source[x]]
            difference[0, y, x] = b00 * d0 + b01 * d1 + b02 * d2
            difference[1, y, x] = b10 * d0 + b11 * d1 + b12 * d2
            difference[2, y, x] = b20 * d0 + b21 * d1 + b22 * d2


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _flatness(luma, local, gradient):
    """In place of ``gradient`` ``(H, W)`` (nan where the source left the frame, else 0):
    the sum of the absolute central differences of ``luma`` ``(H, W)`` (the 5x5 mean of the
    frame's luma) along y and x where the pixel is usable, nan elsewhere: the frame's border,
    and where the 3x3 means ``local`` ``(3, H, W)`` of some channel are at most 0.05 or of
    some channel at least 0.95 (near-clipped)."""
    h, w = luma.shape
    for y in range(h):
        for x in range(w):
            if y == 0 or x == 0 or y == h - 1 or x == w - 1:
                gradient[y, x] = np.nan
                continue
            low = min(local[0, y, x], local[1, y, x], local[2, y, x])
            high = max(local[0, y, x], local[1, y, x], local[2, y, x])
            if not (low > 0.05 and high < 0.95):
                gradient[y, x] = np.nan
            elif gradient[y, x] == 0:
                gradient[y, x] = (abs(luma[y + 1, x] - luma[y - 1, x])
                                  + abs(luma[y, x + 1] - luma[y, x - 1]))


_ERF, _ERFC = np.frompyfunc(math.erf, 1, 1), np.frompyfunc(math.erfc, 1, 1)


def _ndtr(z: np.ndarray) -> np.ndarray:
    """The standard normal CDF of float64 ``z``, as ``torch.special.ndtr`` computes it: Python's
    ``math.erf``/``erfc`` (the C library's) per value, the rest in numpy (the same values as a
    loop over them in Python, 0.8 instead of 2.1 ms for a declip table; a numba loop took 0.2
    but its cache load 3-5 ms, more than it saves on a process's first shot)."""
    t = z * math.sqrt(0.5)
    small = np.abs(t) < math.sqrt(0.5)
    out = np.empty_like(z)
    out[small] = 0.5 + 0.5 * _ERF(t[small]).astype(np.float64)
    large = t[~small]
    tail = 0.5 * _ERFC(np.abs(large)).astype(np.float64)
    out[~small] = np.where(large > 0, 1 - tail, tail)
    return out


def clipped_mean(y: np.ndarray, sigma: float) -> np.ndarray:
    """:func:`.noise.clipped_mean` of float64 ``y``: ``E[clip(y + n, 0, 1)]``, ``n ~ N(0,
    sigma²)``, in [0, 1] units."""

    def positive_part_mean(m):
        z = m / sigma
        return m * _ndtr(z) + sigma * np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)

    return positive_part_mean(y) - positive_part_mean(y - 1.0)


def declip_table(sigma: float, size: int = 1025) -> np.ndarray:
    """:func:`.noise.declip_table` as a ``(size,)`` float32 array."""
    if sigma <= 0:
        return np.linspace(0.0, 1.0, size, dtype=np.float32)
    truth = np.linspace(0.0, 1.0, 4097)
    grid = np.linspace(0.0, 1.0, size)
    return np.interp(grid, clipped_mean(truth, sigma), truth).astype(np.float32)
