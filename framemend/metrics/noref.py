"""Measurement without truth: how steady a clip is, and what a filter did to it.

For generated video no clean truth exists, so a clip is scored along its own motion and a
filtered clip is scored against its input, with the input's motion (Lai et al., "Learning Blind
Video Temporal Consistency", ECCV 2018, score a processed video with the flow of the video it
was made from). Everything here is numpy and OpenCV on ``(T, H, W, 3)`` RGB clips (uint8,
uint16, or float in [0, 1]); torch is not used.

Motion (:func:`clip_motion`): DIS flow (Kroeger et al. 2016, OpenCV's ``medium`` preset) on
8-bit BT.601 luma, forward ``t -> t+1`` and backward; a pixel of frame t is *valid* where the
forward-backward check holds, ``|f + b(p+f)|² <= 0.01 (|f|² + |b(p+f)|²) + 0.5`` (Sundaram et
al. 2010, the constants of :func:`framemend.flow.occlusion_mask`), and ``p + f`` stays in the
frame. Computed once from the input (or from an original video) and reused for every clip
scored along it.

Along the motion, each frame pair gives the residual ``d_t = I_t - W(I_{t+1})``, looked at only
where valid. ``W`` is the backward warp by the forward flow, bicubic (OpenCV's ``INTER_CUBIC``)
where Lai et al. sample bilinearly: on a clean pan over a photograph the bilinear warp alone
reads 2.9e-4 with the true flow, the bicubic 1.1e-4, so steady texture is not mistaken for
boiling. Split into bands:

- **warping error** (Lai et al. 2018): mean over valid pixels and the three channels of ``d²``,
  RGB in [0, 1];
- **flicker**: the low band of the luma residual, ``L = G_s(m Y(d)) / G_s(m)`` (normalised
  convolution over the valid mask ``m``, Gaussian ``s = H / 24``, evaluated on a grid reduced by
  ``k = max(1, floor(s / 4))`` with box averaging), RMS over pixels where ``G_s(m) > 0.5``, in
  8-bit levels. Defined here, after the low-frequency flicker model of Delon ("Movie and video
  scale-time equalization", IEEE TIP 2006) and the motion compensation of Lai et al.: only tone
  changes wider than the blur count, so texture, noise and motion do not, and a global or local
  gain flicker does;
- **boiling**: the warping error of the high band ``d - G_2(m d) / G_2(m)`` (Gaussian sigma 2 px,
  normalised over the valid mask): fine texture re-drawn from frame to frame, with motion and
  tone changes taken out.

Between an output and its input, per frame:

- **detail retention**: mid-band energy of the output's luma over the input's, the band a
  difference of Gaussians ``G_1.5 - G_4`` (wavelengths of about 8 to 21 px). It passes 1e-6 of
  the energy of a 1-px checkerboard dither, 4e-4 of a 4x4 Bayer ordered dither and 3 % of the
  error of a 256-colour Floyd-Steinberg palette dither of a photograph, so removing dither is
  not counted as lost detail (1.01 on such a clip), while smoothed skin, hair or fibres are;
- **colour shift**: per channel mean of output minus input, in 8-bit levels;
- **fidelity**: SSIM (Wang et al. 2004, :func:`framemend.metrics.reference.ssim_map`) of the
  output to the input, both low-passed by a Gaussian of sigma 2 px and taken at every second
  pixel first, so removed noise, dither and boiling do not count and changed shapes, tones and
  colours do.

Clip figures are the mean over frame pairs (warping error, flicker, boiling, fidelity); detail
retention is the ratio of the summed energies; colour shift the mean over frames.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from framemend.flow.estimate import QUALITIES, dis_luma_flow
from framemend.kernels.colour import luma_u8_hwc

from ._arrays import as_float
from .reference import ssim_map

#: High band of the boiling figure: residual minus its Gaussian blur of this sigma (px).
BOILING_SIGMA = 2.0
#: Flicker low-pass: Gaussian sigma as a fraction of the frame height.
FLICKER_SIGMA_FRACTION = 1 / 24
#: Detail band: difference of Gaussians of these sigmas (px).
DETAIL_SIGMAS = (1.5, 4.0)
#: Fidelity low-pass: Gaussian sigma (px) applied to both clips before SSIM.
FIDELITY_SIGMA = 2.0


@dataclass(frozen=True)
class Motion:
    """The motion a clip is scored along.

    Attributes:
        flow: ``(T-1, 2, H, W)`` float32 forward flow in pixels, x then y:
            ``frames[t](p) ≈ frames[t+1](p + flow[t](p))``.
        valid: ``(T-1, H, W)`` bool, True where the pixel of frame t is seen in frame t+1
            (consistent forward-backward flow, inside the frame).
    """

    flow: np.ndarray
    valid: np.ndarray


def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return gx, gy


def _check_clip(frames, name: str = "frames") -> np.ndarray:
    x = as_float(frames)
    if x.ndim != 4 or x.shape[3] != 3 or x.shape[0] < 2:
        raise ValueError(f"{name} must be (T, H, W, 3) with T >= 2, got {x.shape}")
    return x


def clip_motion(frames, quality: str = "medium") -> Motion:
    """Forward flow and valid mask of a clip (module docstring), ``(T, H, W, 3)`` -> Motion."""
    x = _check_clip(frames)
    if quality not in QUALITIES:
        raise ValueError(f"unknown flow quality '{quality}'; choose from {QUALITIES}")
    t_count, h, w, _ = x.shape
    gx, gy = _grid(h, w)
    lumas = [luma_u8_hwc(f) for f in x]
    flow = np.empty((t_count - 1, 2, h, w), np.float32)
    valid = np.empty((t_count - 1, h, w), bool)
    for t in range(t_count - 1):
        fwd = dis_luma_flow(lumas[t], lumas[t + 1], quality)
        bwd = dis_luma_flow(lumas[t + 1], lumas[t], quality)
        mx, my = gx + fwd[..., 0], gy + fwd[..., 1]
        back = cv2.remap(bwd, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        diff = ((fwd + back) ** 2).sum(2)
        mag = (fwd ** 2).sum(2) + (back ** 2).sum(2)
        inside = (mx >= 0) & (mx <= w - 1) & (my >= 0) & (my <= h - 1)
        valid[t] = inside & (diff <= 0.01 * mag + 0.5)
        flow[t] = fwd.transpose(2, 0, 1)
    return Motion(flow, valid)


def _motion_for(x: np.ndarray, motion: Motion | None) -> Motion:
    if motion is None:
        return clip_motion(x)
    if motion.flow.shape != (x.shape[0] - 1, 2, *x.shape[1:3]):
        raise ValueError(f"motion of {motion.flow.shape[0] + 1} frames of "
                         f"{motion.flow.shape[3]}x{motion.flow.shape[2]} does not fit a clip of "
                         f"{x.shape[0]} frames of {x.shape[2]}x{x.shape[1]}")
    return motion


def _masked_blur(values: np.ndarray, weight: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Normalised convolution: ``G(w v) / G(w)`` and ``G(w)``; ``values`` ``(H, W[, C])``."""
    wv = values * (weight[..., None] if values.ndim == 3 else weight)
    num = cv2.GaussianBlur(wv, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    den = cv2.GaussianBlur(weight, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    safe = np.maximum(den, 1e-3)
    return num / (safe[..., None] if values.ndim == 3 else safe), den


def _weighted_mean(values: np.ndarray, weight: np.ndarray, total: float) -> float:
    """``sum(w v) / total`` of two ``(H, W)`` float32 maps."""
    return float(np.dot(values.ravel(), weight.ravel()) / total)


_CHANNEL_MEAN = np.full((1, 3), 1 / 3, np.float32)


def _pair_figures(d: np.ndarray, valid: np.ndarray) -> tuple[float, float, float]:
    """Warping error, flicker (8-bit levels) and boiling of one residual ``d`` ``(H, W, 3)``."""
    m = valid.astype(np.float32)
    total = float(m.sum())
    if total == 0:
        return np.nan, np.nan, np.nan
    warp = _weighted_mean(cv2.transform(cv2.multiply(d, d), _CHANNEL_MEAN), m, total)
    low, _ = _masked_blur(d, m, BOILING_SIGMA)
    high = cv2.subtract(d, low)
    boil = _weighted_mean(cv2.transform(cv2.multiply(high, high), _CHANNEL_MEAN), m, total)
    h, w = valid.shape
    sigma = max(h * FLICKER_SIGMA_FRACTION, 1.0)
    k = max(1, int(sigma // 4))
    y = cv2.cvtColor(d, cv2.COLOR_RGB2GRAY)
    if k > 1:
        size = (max(1, w // k), max(1, h // k))
        y_small = cv2.resize(y * m, size, interpolation=cv2.INTER_AREA)
        m_small = cv2.resize(m, size, interpolation=cv2.INTER_AREA)
        y = y_small / np.maximum(m_small, 1e-3)
        m = m_small
    low_y, cover = _masked_blur(y, m, sigma / k)
    keep = cover > 0.5
    flicker = float(np.sqrt((low_y[keep] ** 2).mean()) * 255.0) if keep.any() else np.nan
    return warp, flicker, boil


def temporal_per_frame(frames, motion: Motion | None = None) -> dict[str, np.ndarray]:
    """``{"warping_error", "flicker", "boiling"}``, each ``(T-1,)`` per frame pair (t, t+1).

    Args:
        frames: ``(T, H, W, 3)`` clip.
        motion: the motion to score along (:func:`clip_motion` of this clip, of its input or of
            an original video); default: the clip's own.
    Returns:
        Warping error (MSE, RGB in [0, 1]), flicker (RMS, 8-bit luma levels), boiling (MSE of
        the high band, RGB in [0, 1]); NaN for a pair with no valid pixel.
    """
    x = _check_clip(frames)
    motion = _motion_for(x, motion)
    gx, gy = _grid(*x.shape[1:3])
    out = np.empty((3, x.shape[0] - 1))
    for t in range(x.shape[0] - 1):
        warped = cv2.remap(x[t + 1], gx + motion.flow[t, 0], gy + motion.flow[t, 1],
                           cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
        out[:, t] = _pair_figures(x[t] - warped, motion.valid[t])
    return dict(zip(("warping_error", "flicker", "boiling"), out))


def detail_energy_per_frame(frames) -> np.ndarray:
    """``(T,)`` mean squared mid-band luma ``G_1.5(Y) - G_4(Y)`` of each frame ([0, 1] units)."""
    x = as_float(frames)
    out = np.empty(x.shape[0])
    for t, frame in enumerate(x):
        y = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        band = (cv2.GaussianBlur(y, (0, 0), DETAIL_SIGMAS[0], borderType=cv2.BORDER_REFLECT)
                - cv2.GaussianBlur(y, (0, 0), DETAIL_SIGMAS[1], borderType=cv2.BORDER_REFLECT))
        out[t] = float((band ** 2).mean())
    return out


def colour_shift_per_frame(output, input) -> np.ndarray:
    """``(T, 3)`` mean of output minus input per frame and channel, in 8-bit levels."""
    a, b = _same_shape(output, input)
    return (a.mean((1, 2), dtype=np.float64) - b.mean((1, 2), dtype=np.float64)) * 255.0


def _low_half(frame: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` -> Gaussian sigma 2 px, then every second pixel (the blur leaves under 1 %
    of the amplitude above the halved Nyquist rate)."""
    low = cv2.GaussianBlur(frame, (0, 0), FIDELITY_SIGMA, borderType=cv2.BORDER_REFLECT)
    return np.ascontiguousarray(low[::2, ::2])


def clip_colour_shift(output, input) -> np.ndarray:
    """``(3,)`` mean colour of ``output`` minus that of ``input`` over all their frames and
    pixels, per channel in 8-bit levels; the clips may differ in frame count (an interpolated
    clip against its input) but not in frame size."""
    a, b = as_float(output), as_float(input)
    if a.shape[1:] != b.shape[1:]:
        raise ValueError(f"output frames {a.shape[1:]} and input frames {b.shape[1:]} differ")
    return (a.reshape(-1, 3).mean(0, dtype=np.float64)
            - b.reshape(-1, 3).mean(0, dtype=np.float64)) * 255.0


def fidelity_per_frame(output, input) -> np.ndarray:
    """``(T,)`` SSIM of the low-passed output frame to the low-passed input frame."""
    a, b = _same_shape(output, input)
    pad = 5  # as skimage: leave out the border where the SSIM window leaves the image
    out = np.empty(a.shape[0])
    for t in range(a.shape[0]):
        la, lb = (_low_half(f) for f in (a[t], b[t]))
        out[t] = float(ssim_map(la, lb)[pad:-pad, pad:-pad].mean())
    return out


def _same_shape(output, input) -> tuple[np.ndarray, np.ndarray]:
    a, b = as_float(output), as_float(input)
    if a.shape != b.shape:
        raise ValueError(f"output {a.shape} and input {b.shape} differ in shape")
    return a, b


def _ratio(num: float, den: float) -> float:
    return float(num / den) if den > 0 else (1.0 if num == den else float("inf"))


def score(frames, motion: Motion | None = None) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """No-reference scores of one clip: ``(clip figures, per-frame series)``.

    Clip figures: ``warping_error``, ``flicker``, ``boiling`` (means over frame pairs, see
    :func:`temporal_per_frame`) and ``detail_energy`` (mean of :func:`detail_energy_per_frame`).
    Per frame: the same names, ``(T-1,)`` per pair and ``(T,)`` for ``detail_energy``.
    """
    x = _check_clip(frames)
    per_frame = temporal_per_frame(x, motion)
    per_frame["detail_energy"] = detail_energy_per_frame(x)
    return {k: float(np.nanmean(v)) for k, v in per_frame.items()}, per_frame


def compare(output, input, motion: Motion | None = None, input_scores: tuple | None = None
            ) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Scores of ``output`` against the ``input`` it was made from: ``(clip, per-frame)``.

    Both are scored along ``motion`` (default: :func:`clip_motion` of ``input``, computed once);
    ``input_scores``, the input's :func:`score` along the same motion, saves scoring it again
    when several outputs of one input are compared.

    Clip figures: ``warping_error``, ``flicker``, ``boiling`` of the output, the same of the
    input (``*_input``) and their ratios output / input (``warp_ratio``, ``flicker_ratio``,
    ``boiling_ratio``); ``detail_retention`` (summed mid-band energy, output over input);
    ``colour_shift`` (the largest |mean shift| over the channels, 8-bit levels) with the signed
    ``colour_shift_r``, ``_g``, ``_b``; ``fidelity`` (mean low-passed SSIM).
    Per frame: ``warping_error``, ``flicker``, ``boiling`` and their ``*_input`` ``(T-1,)``;
    ``detail_retention``, ``colour_shift`` (max |.| over channels), ``fidelity`` ``(T,)``.
    """
    a, b = _same_shape(output, input)
    _check_clip(b, "input")
    motion = _motion_for(b, motion)
    clip_out, frames_out = score(a, motion)
    clip_in, frames_in = input_scores if input_scores is not None else score(b, motion)
    per_frame = {k: frames_out[k] for k in ("warping_error", "flicker", "boiling")}
    per_frame.update({k + "_input": frames_in[k] for k in ("warping_error", "flicker", "boiling")})
    energy_out, energy_in = frames_out["detail_energy"], frames_in["detail_energy"]
    per_frame["detail_retention"] = energy_out / np.maximum(energy_in, 1e-12)
    shift = colour_shift_per_frame(a, b)
    per_frame["colour_shift"] = np.abs(shift).max(1)
    per_frame["fidelity"] = fidelity_per_frame(a, b)
    clip = {}
    for name, ratio in (("warping_error", "warp_ratio"), ("flicker", "flicker_ratio"),
                        ("boiling", "boiling_ratio")):
        clip[name], clip[name + "_input"] = clip_out[name], clip_in[name]
        clip[ratio] = _ratio(clip_out[name], clip_in[name])
    clip["detail_retention"] = _ratio(float(energy_out.sum()), float(energy_in.sum()))
    mean_shift = shift.mean(0)
    clip["colour_shift"] = float(np.abs(mean_shift).max())
    clip.update({f"colour_shift_{c}": float(v) for c, v in zip("rgb", mean_shift)})
    clip["fidelity"] = float(per_frame["fidelity"].mean())
    return clip, per_frame


__all__ = ["Motion", "clip_motion", "temporal_per_frame", "detail_energy_per_frame",
           "colour_shift_per_frame", "clip_colour_shift", "fidelity_per_frame", "score", "compare"]
