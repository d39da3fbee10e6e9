"""Deflicker's CPU path: what :mod:`.motion` and :mod:`.correction` compute in torch (the
reference and the device path), step for step in numpy, OpenCV and the numba loops of
:mod:`._cpu`, on planar float32 arrays ``(C, h, w)`` read from the decoded 8/16-bit pixels and
written back as such; no torch import (issue 18). The tests compare each step with its
reference.
"""
from __future__ import annotations

import cv2
import numpy as np

from framemend.chain.frames import Frame
from framemend.flow import estimate
from framemend.kernels.colour import LUMA
from framemend.kernels.median import lower_median

from . import _cpu
from .correction import (BLUR_TAPS, FADE_SIGNIFICANCE, LOCAL_AFFINE_RIDGE, LOCAL_AFFINE_SIGMA,
                         LOCAL_FLICKER, LOCAL_SLOPE, LOCAL_SPREAD, NEIGHBOUR_STRUCTURE,
                         NEIGHBOUR_TOLERANCE, STEP_SIGNIFICANCE, STEP_TONE, STRUCTURE_MISMATCH,
                         STRUCTURE_SPREAD, TEXTURE_LEVELS, TEXTURE_SHARE, blur_noise,
                         step_structure)
from .motion import (COLOUR_STRUCTURE_FLOOR, COLOUR_STRUCTURE_SHARE, FLOW_QUALITY,
                     GREY_STRUCTURE_FLOOR, MISMATCH, STRUCTURE_FLOOR, Step)

_BAND_BLOCKS = 16  # rows of analysis blocks made float at a time


def analysis(frame: Frame, factor: int) -> tuple[np.ndarray, np.ndarray]:
    """A frame's :func:`.motion.analysis_image` ``(4, h, w)`` (downscaled by ``factor``) and the
    :func:`.motion.summed_area` table ``(4, h + 1, w + 1)`` of it."""
    small = downscaled(frame, factor)
    small = np.concatenate([small, flicker_invariant(small)])
    return small, summed_area(small)


def downscaled(frame: Frame, factor: int) -> np.ndarray:
    """:func:`.motion.downscale` of the frame ``(3, H // factor, W // factor)``: OpenCV's area
    average of its floats. Raw pixels whose size the factor divides are made float a band of
    rows at a time (the average of a block reads only that block, so the result is the same): a
    whole float frame per worker would take 100 MB at 3840x2160."""
    raw = frame.raw
    if raw is None:  # a float tensor on the CPU: torch is imported already
        planes = frame.float_image().numpy()
        return np.stack([_area(np.ascontiguousarray(p), factor) for p in planes])
    h, w = raw.shape[:2]
    band = h if h % factor or w % factor else factor * _BAND_BLOCKS
    scale = np.float32(frame.raw_scale)
    # made float by the division itself (the same float32 values, one pass, no integer copy)
    small = np.concatenate([_area(np.divide(raw[y:y + band], scale, dtype=np.float32), factor)
                            for y in range(0, h, band)])
    return np.ascontiguousarray(small.transpose(2, 0, 1))


def _area(image: np.ndarray, factor: int) -> np.ndarray:
    """OpenCV's area resize of ``(H, W[, 3])`` float32 to ``(H // factor, W // factor[, 3])``."""
    if factor == 1:
        return image
    h, w = image.shape[:2]
    return cv2.resize(image, (w // factor, h // factor), interpolation=cv2.INTER_AREA)


def flicker_invariant(image: np.ndarray, sigma: float = 2.5) -> np.ndarray:
    """:func:`.motion.flicker_invariant`: ``(3, h, w)`` -> ``(1, h, w)``."""
    luma = LUMA[0] * image[0] + LUMA[1] * image[1] + LUMA[2] * image[2]
    size = (2 * int(3 * sigma) + 1,) * 2
    mean = cv2.GaussianBlur(luma, size, sigma, borderType=cv2.BORDER_REPLICATE)
    return np.clip(0.5 * luma / (mean + np.float32(0.02)), 0.0, 1.0)[None]


def summed_area(image: np.ndarray) -> np.ndarray:
    """:func:`.motion.summed_area` ``(C, h + 1, w + 1)`` float32 of ``(C, h, w)``: each running
    sum in float64 rounded to float32, as torch's CPU ``cumsum`` does
    (:func:`._cpu.summed_area`)."""
    c, h, w = image.shape
    table = np.zeros((c, h + 1, w + 1), np.float32)
    _cpu.summed_area(np.ascontiguousarray(image, np.float32), table)
    return table


def cell_means(image: np.ndarray, cell: int) -> np.ndarray:
    """Means ``(C, gh, gw)`` of ``(C, h, w)`` over ``cell``-pixel cells, partial edge cells over
    their pixels (:func:`.motion.cell_means` with a mask of ones)."""
    _, h, w = image.shape
    ys, xs = np.arange(0, h, cell), np.arange(0, w, cell)
    sums = np.add.reduceat(np.add.reduceat(image.astype(np.float64), ys, axis=1), xs, axis=2)
    counts = np.outer(np.diff(ys, append=h), np.diff(xs, append=w))
    return (sums / counts).astype(np.float32)


def adjacent_steps(a: np.ndarray, b: np.ndarray, cell: int, flows: np.ndarray | None = None
                   ) -> tuple[Step, Step]:
    """:func:`.motion.adjacent_steps` of analysis images ``(4, h, w)``; ``flows``
    ``(2, 2, h, w)`` if known, else DIS (as :func:`framemend.flow.estimate_flow` on the CPU,
    one thread) on the greys made 8-bit."""
    grey = np.stack([a[3:], b[3:]])
    if flows is None:
        ya, yb = (cv2.convertScaleAbs(cv2.max(np.ascontiguousarray(g[0]), 0.0), alpha=255.0)
                  for g in grey)
        flows = np.stack([estimate.dis_luma_flow(ya, yb, FLOW_QUALITY),
                          estimate.dis_luma_flow(yb, ya, FLOW_QUALITY)]).transpose(0, 3, 1, 2)
    cover, cell_flow = _cpu.compared_cells(grey, flows, cell, MISMATCH)
    return Step(cell_flow[0], cover[0]), Step(cell_flow[1], cover[1])


def chain_steps(steps: list[Step]) -> tuple[np.ndarray, np.ndarray]:
    """:func:`.motion.chain_steps` of steps holding arrays."""
    maps = np.empty((len(steps), 3, *steps[0].cover.shape[-2:]), np.float32)
    for m, s in zip(maps, steps):
        m[:2], m[2:] = s.flow, s.cover
    return _cpu.chain_maps(maps)


content_differences = _cpu.content_differences


def content_and_structure(analyses: list[tuple[np.ndarray, np.ndarray]],
                          own: tuple[np.ndarray, np.ndarray], shifts: np.ndarray, cell: int,
                          grey: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """:func:`content_differences` ``(k, 3, gh, gw)`` of the later frames' colours and
    :func:`.motion.structure_mismatch` ``(k, 1, gh, gw)`` of their colours, or, if ``grey``
    (local mode), :func:`.motion.local_structure_mismatch` of their flicker-invariant grey and
    colours, in one pass. ``analyses``:
    the later frames' :func:`analysis` (image and table), ``own`` the frame's."""
    if grey:
        return _cpu.content_and_structure(analyses, own, shifts, cell, COLOUR_STRUCTURE_FLOOR,
                                          GREY_STRUCTURE_FLOOR, COLOUR_STRUCTURE_SHARE)
    return _cpu.content_and_structure(analyses, own, shifts, cell, STRUCTURE_FLOOR)


def structure_scaled(mismatch: np.ndarray) -> np.ndarray:
    """:func:`.correction.structure_scaled` of ``(N, 1, gh, gw)``."""
    typical = lower_median(mismatch.reshape(1, -1), 1)[0]
    scale = max(np.float32(STRUCTURE_SPREAD) * typical, np.float32(STRUCTURE_MISMATCH))
    return mismatch / np.float32(scale)


def structure_weights(scaled: np.ndarray) -> np.ndarray:
    """:func:`.correction.structure_weights` of ``(N, 1, gh, gw)``."""
    return np.exp(np.float32(-0.5) * scaled * scaled)


concatenate = np.concatenate


def neighbour_weight(cover: np.ndarray, scaled: np.ndarray) -> np.ndarray:
    """:func:`.correction.neighbour_weight` of arrays ``(1, gh, gw)``."""
    return cover * structure_weights(scaled / np.float32(NEIGHBOUR_STRUCTURE))


def neighbour_steadied(offset: np.ndarray, current: np.ndarray, trend: np.ndarray,
                       neighbours: list[tuple[np.ndarray, ...]], passes: int) -> np.ndarray:
    """:func:`.correction.neighbour_steadied` of arrays (the departures read by
    :func:`._cpu.departures`)."""
    out = offset.copy()
    scale = np.float32(NEIGHBOUR_TOLERANCE) * (current + np.float32(0.05))
    for other, shift, weight, diff, share, distance in neighbours:
        departure = np.empty_like(offset)
        _cpu.departures(np.ascontiguousarray(other), np.ascontiguousarray(shift), offset,
                        departure)
        departure += diff
        departure -= np.float32(distance) * trend
        departure *= weight
        norm = weight
        for _ in range(passes):
            departure, norm = _blur(departure), _blur(norm)
        departure /= norm + np.float32(1e-3)
        r = (np.abs(departure) / scale).max(0, keepdims=True)
        out += np.float32(share) * weight * np.exp(np.float32(-0.5) * r * r) * departure
    return out


def temporal_offset(diffs: np.ndarray, covers: np.ndarray, offsets: np.ndarray,
                    current: np.ndarray, tolerance: float = 0.25,
                    structure: np.ndarray | None = None
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`.correction.temporal_offset` of arrays (``offsets`` ``(N,)`` integers; ``N`` >
    0: :func:`window_fields` makes the fields of a frame without neighbours itself)."""
    samples, w = _cpu.window_samples(diffs, covers, current, tolerance)
    np.exp(w, out=w)
    w[1:] *= covers  # the centre's cover is 1
    d = np.concatenate([[0], offsets]).astype(np.float32).reshape(-1, 1, 1, 1)
    if structure is not None:
        structure = np.concatenate([np.zeros_like(structure[:1]), structure])
    centre_time, mean, slope, slope_var, mean_var, support = _cpu.step_masked_lines(
        samples, w, d, STEP_SIGNIFICANCE, structure,
        (current + np.float32(0.05)) * np.float32(STEP_TONE))
    slopes, trend = _pooled_slope(slope, slope_var, current)
    intercept = mean - slopes * centre_time
    variance = mean_var + centre_time * centre_time * slope_var
    return _blur(intercept), support, _blur(variance), trend


def window_fields(diffs: list[np.ndarray], covers: list[np.ndarray],
                  reaches: list[tuple[int, int]], current: np.ndarray, options,
                  scaled: np.ndarray | None = None
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`temporal_offset` of the window's differences ``(k, C, gh, gw)`` per direction,
    ``reaches`` ``(direction, k)``, and :func:`correction_fields` (``options``: the filter's);
    the covers weighted by :func:`structure_weights` of ``scaled`` ``(N, 1, gh, gw)``, the
    :func:`structure_scaled` mismatches of all ``N`` frames in ``diffs``' order, if given
    (offset and local modes), which guard the step test too (:func:`step_structure`).
    Returns the gain and offset fields and :func:`temporal_offset`'s trend, ``(C, gh, gw)`` each."""
    if diffs:
        offsets = np.concatenate([d * np.arange(1, k + 1) for d, k in reaches])
        cover = np.concatenate(covers)
        if scaled is not None:
            cover = cover * structure_weights(scaled)
        correction, support, variance, trend = temporal_offset(
            np.concatenate(diffs), cover, offsets, current, options.tolerance,
            step_structure(scaled, options.mode))
    else:
        correction, support = np.zeros_like(current), np.zeros_like(current[:1])
        variance = trend = np.zeros_like(current)
    return (*correction_fields(correction, current, support, variance, options.mode), trend)


def _pooled_slope(slope: np.ndarray, slope_var: np.ndarray, current: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
    """``correction._pooled_slope``: the slopes and the trend."""
    scale = current + np.float32(0.05)
    rel, rel_var = slope / scale, slope_var / (scale * scale) + np.float32(1e-12)
    pooled = lower_median(rel.reshape(len(rel), -1), 1).reshape(-1, 1, 1)
    typical = lower_median(rel_var.reshape(len(rel), -1), 1).reshape(-1, 1, 1)
    square = pooled * pooled
    trend = pooled * square / (square + np.float32(FADE_SIGNIFICANCE) * typical) * scale
    pooled = pooled * pooled * pooled / (pooled * pooled + typical) * scale
    local = slope - pooled
    return pooled + local * local * local / (local * local + np.float32(LOCAL_SLOPE) * slope_var
                                             + np.float32(1e-12)), trend


def _blur(grid: np.ndarray) -> np.ndarray:
    """``correction._blur`` of ``(C, gh, gw)``: the 3-tap binomial, edges replicated
    (:func:`._cpu.blur`)."""
    return _cpu.blur(grid, BLUR_TAPS)


def correction_fields(correction: np.ndarray, current: np.ndarray, support: np.ndarray,
                      variance: np.ndarray, mode: str, floor: float = 0.02
                      ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`.correction.correction_fields` of arrays: gain and offset ``(C, gh, gw)``."""
    if mode == "local":
        return local_affine(correction, current, support, floor)
    if mode == "offset":
        spread = variance * (support + np.float32(1.0))
        return np.ones_like(current), _texture_shrunk(correction, current, spread)
    a, b = channel_affine(correction, current, support)
    a, b = a.reshape(-1, 1, 1), b.reshape(-1, 1, 1)
    if mode == "global":
        return (np.ascontiguousarray(np.broadcast_to(a, current.shape)),
                np.ascontiguousarray(np.broadcast_to(b, current.shape)))
    fitted = a * current + b
    departure = current + correction - fitted
    square = departure * departure
    scale = current + np.float32(floor)
    relative = np.abs(departure) / scale
    beyond_noise = np.sqrt(np.maximum(square - variance, np.float32(0.0))) / scale
    typical = lower_median(beyond_noise.reshape(len(beyond_noise), -1), 1).reshape(-1, 1, 1)
    plausible = np.maximum(np.float32(LOCAL_SPREAD) * typical, np.float32(LOCAL_FLICKER))
    departure = (departure * square / (square + variance + np.float32(1e-12))
                 * np.exp(np.float32(-0.5) * (relative / plausible) ** 2))
    return local_affine(fitted + departure - current, current, support, floor)


def _texture_shrunk(correction: np.ndarray, current: np.ndarray, spread: np.ndarray
                    ) -> np.ndarray:
    """``correction._texture_shrunk`` of ``(C, gh, gw)``."""
    local = _blur(current)
    texture = np.maximum(_blur(current * current) - local * local, np.float32(0.0))
    texture = np.minimum(texture, spread)
    out, blurs, level = np.zeros_like(correction), 1, correction
    for passes in TEXTURE_LEVELS:
        coarser = level
        for _ in range(passes):
            coarser = _blur(coarser)
        band = level - coarser
        power = _blur(band * band)
        noise = np.float32(TEXTURE_SHARE * blur_noise(blurs)) * texture
        out = out + band * power / (power + noise + np.float32(1e-12))
        level, blurs = coarser, blurs + passes
    return np.ascontiguousarray(out + level, dtype=np.float32)


def channel_affine(correction: np.ndarray, current: np.ndarray, support: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`.correction.channel_affine` of arrays: gain and offset ``(C,)``."""
    w = support + np.float32(1e-3)
    x, y = current, current + correction
    sw = w.sum((1, 2))
    mx = (w * x).sum((1, 2)) / sw
    my = (w * y).sum((1, 2)) / sw
    vx = (w * (x - mx.reshape(-1, 1, 1)) ** 2).sum((1, 2)) / sw
    cxy = (w * (x - mx.reshape(-1, 1, 1)) * (y - my.reshape(-1, 1, 1))).sum((1, 2)) / sw
    gain = np.where(vx > 1e-4, cxy / np.maximum(vx, np.float32(1e-4)),
                    my / np.maximum(mx, np.float32(1e-3)))
    gain = np.clip(gain, 0.5, 2.0)
    return gain, my - gain * mx


def local_affine(correction: np.ndarray, current: np.ndarray, support: np.ndarray,
                 floor: float = 0.02, sigma: float = LOCAL_AFFINE_SIGMA,
                 ridge: float = LOCAL_AFFINE_RIDGE) -> tuple[np.ndarray, np.ndarray]:
    """:func:`.correction.local_affine` of arrays (OpenCV's separable filter for its
    Gaussian-weighted means)."""
    w = np.ascontiguousarray(np.broadcast_to(support + np.float32(1e-3), current.shape))
    x, y = current, current + correction
    r = max(1, int(np.ceil(3 * sigma)))
    taps = np.exp(-0.5 * (np.arange(-r, r + 1, dtype=np.float32) / np.float32(sigma)) ** 2)
    taps = (taps / taps.sum()).astype(np.float32)

    def local_mean(v: np.ndarray) -> np.ndarray:
        return np.stack([cv2.sepFilter2D(p, cv2.CV_32F, taps, taps,
                                         borderType=cv2.BORDER_REPLICATE) for p in w * v])

    sw = local_mean(np.ones_like(x))
    mx, my = local_mean(x) / sw, local_mean(y) / sw
    vx = np.maximum(local_mean(x * x) / sw - mx * mx, np.float32(0.0))
    cxy = local_mean(x * y) / sw - mx * my
    own = (y + np.float32(floor)) / (x + np.float32(floor))
    ridge2 = np.float32(ridge ** 2)
    gain = np.clip((cxy + ridge2 * own) / (vx + ridge2), np.float32(0.5), np.float32(2.0))
    return gain, y - gain * x


def apply_fields(frame: Frame, gain: np.ndarray, offset: np.ndarray, strength: float
                 ) -> np.ndarray:
    """:func:`.correction.apply_fields` on a raw frame: its corrected pixels ``(H, W, 3)``,
    integers of its dtype on its ``raw_scale`` (:func:`._cpu.apply_raw`)."""
    if strength != 1.0:
        gain, offset = 1.0 + strength * (gain - 1.0), strength * offset
    return _cpu.apply_raw(frame.raw, frame.raw_scale, gain.astype(np.float32),
                          offset.astype(np.float32))

