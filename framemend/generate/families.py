"""Randomised degradation families and moving content, for evaluation across renderings.

Where :mod:`.artifacts` applies one artifact at a given strength, a *family* draws the
artifact's parameters from a realistic range (the ranges of issue 16) with a
``numpy.random.Generator``, so that a benchmark renders many variants and reports the median and
the worst. Every family is ``family(frames, rng) -> (degraded, params)``: ``frames`` ``(T, H, W,
3)`` float32 RGB in [0, 1] (the clean clip), ``degraded`` the same shape clipped to [0, 1],
``params`` a dict of what was drawn (to say why a rendering is the worst). The same ``rng`` state
gives the same result.

Families (:data:`FAMILIES`):

- ``global_flicker``: per-frame, per-channel gain ``1 + a N(0, 1)`` with ``a`` in 5-15 %,
  additive offset ``b N(0, 1)`` with ``b`` up to 3 %, and a per-frame gamma ``exp(g N(0, 1))``
  with ``g`` up to 0.1 (the wobble of an exposure curve).
- ``local_flicker``: a multiplicative and/or additive field per channel from a coarse grid of
  2x2 to 8x8 control points (bicubic), amplitude 5-25 % (RMS of the gain's deviation from 1; the
  additive field has a fifth of it), either drawn independently every frame or varying slowly
  (an AR(1) walk of the control points with a correlation of 0.8-0.95 per frame).
- ``gaussian_noise``: i.i.d. noise of sigma 5-30 (8-bit units).
- ``poisson_gaussian_noise``: signal-dependent noise, variance ``k x + s²`` (a sensor's shot
  and read noise): ``k`` such that mid-grey gets sigma 5-25, read noise ``s`` 2-8 (8-bit units).
- ``grain``: spatially correlated noise, white noise blurred with sigma 0.7-1.5 px and scaled
  to sigma 5-25, shared by the channels at 50-100 % (film grain is mostly in luma).
- ``chroma_noise``: noise in the two chroma channels only (BT.601), sigma 5-25, blurred with
  sigma 0-1.5 px (the blotches of a camera's colour noise), plus luma noise of a quarter of it.
- ``shake``: per-frame translation of RMS 2-8 px, roll of RMS 0.2-1 degree and zoom jitter of
  RMS 0-2 %, i.i.d. per frame about the frame centre; borders by reflection. ``params["shake"]``
  holds the ``(T, 3, 3)`` homographies (clean pixel -> shaken pixel).

Content: :func:`moving_content` renders a photograph of :data:`CONTENT_PHOTOS` under one of
:mod:`.camera`'s paths with a moving subject (the astronaut's face, a spinning ball, or a wheel
of thin rotating spokes), with exact flow; :func:`real_footage` loads the real clips of
``/work/shared/data`` (benchmarks only: a user's clone does not have them).
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from .artifacts import shake_homographies
from .camera import camera_path
from .clip import Clip
from .images import load_image
from .render import Sprite, render_layers
from .scenes import _ball, _face, _similarity

#: Photographs of ``skimage.data`` used as the world (all but the colour wheel, a test chart).
CONTENT_PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "camera", "coins",
                  "immunohistochemistry", "hubble_deep_field", "brick", "grass", "gravel")
CAMERAS = ("static", "pan", "zoom", "rotate", "handheld")
SUBJECTS = ("none", "face", "ball", "wheel")
REAL = Path("/work/shared/data")

_EIGHT_BIT = 1.0 / 255.0


def _draw(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def global_flicker(frames: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """Per-channel gain (5-15 %), offset (up to 3 %) and gamma wobble (up to 0.1), per frame:
    ``(x ** gamma[t]) * gain[t, c] + offset[t, c]``."""
    t = frames.shape[0]
    p = {"gain": _draw(rng, 0.05, 0.15), "offset": _draw(rng, 0.0, 0.03),
         "gamma": _draw(rng, 0.0, 0.1)}
    gain = 1.0 + p["gain"] * rng.standard_normal((t, 1, 1, 3))
    offset = p["offset"] * rng.standard_normal((t, 1, 1, 3))
    gamma = np.exp(p["gamma"] * rng.standard_normal((t, 1, 1, 1)))
    out = np.power(frames, gamma.astype(np.float32)) * gain.astype(np.float32)
    return np.clip(out + offset.astype(np.float32), 0.0, 1.0), p


def _grid_fields(grids: np.ndarray, height: int, width: int) -> np.ndarray:
    """``(T, gh, gw, 3)`` control points -> ``(T, H, W, 3)`` bicubic fields."""
    return np.stack([cv2.resize(g.astype(np.float32), (width, height),
                                interpolation=cv2.INTER_CUBIC) for g in grids])


def local_flicker(frames: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """Multiplicative and/or additive per-channel fields from 2x2-8x8 control points, amplitude
    5-25 %, independent per frame or slowly varying: ``x * (1 + a F[t]) + (a / 5) G[t]``."""
    t, h, w, _ = frames.shape
    p = {"cells": int(rng.integers(2, 9)), "amplitude": _draw(rng, 0.05, 0.25),
         "kind": str(rng.choice(["multiplicative", "additive", "both"])),
         "time": str(rng.choice(["independent", "slow"]))}
    p["rho"] = 0.0 if p["time"] == "independent" else _draw(rng, 0.8, 0.95)
    gw = max(2, round(p["cells"] * w / h)) if p["cells"] > 2 else 2

    def walk() -> np.ndarray:
        grid = np.empty((t, p["cells"], gw, 3))
        grid[0] = rng.standard_normal(grid.shape[1:])
        for i in range(1, t):
            grid[i] = p["rho"] * grid[i - 1] + np.sqrt(1 - p["rho"] ** 2) * \
                rng.standard_normal(grid.shape[1:])
        field = _grid_fields(grid, h, w)
        return field / max(float(np.sqrt((field ** 2).mean())), 1e-6)

    out = frames
    if p["kind"] in ("multiplicative", "both"):
        out = out * (1.0 + p["amplitude"] * walk())
    if p["kind"] in ("additive", "both"):
        out = out + p["amplitude"] / 5.0 * walk()
    return np.clip(out, 0.0, 1.0).astype(np.float32), p


def gaussian_noise(frames: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """i.i.d. Gaussian noise, sigma 5-30 (8-bit units)."""
    p = {"sigma": _draw(rng, 5.0, 30.0)}
    noise = rng.standard_normal(frames.shape, dtype=np.float32) * np.float32(p["sigma"] / 255)
    return np.clip(frames + noise, 0.0, 1.0), p


def poisson_gaussian_noise(frames: np.ndarray, rng: np.random.Generator
                           ) -> tuple[np.ndarray, dict]:
    """Shot plus read noise: variance ``k x + s²``, sigma 5-25 at mid-grey, read 2-8 (8-bit)."""
    p = {"sigma_mid": _draw(rng, 5.0, 25.0), "read": _draw(rng, 2.0, 8.0)}
    k = (p["sigma_mid"] * _EIGHT_BIT) ** 2 / 0.5  # variance per unit of signal
    std = np.sqrt(k * frames + (p["read"] * _EIGHT_BIT) ** 2).astype(np.float32)
    return np.clip(frames + std * rng.standard_normal(frames.shape, dtype=np.float32),
                   0.0, 1.0), p


def _blurred_noise(rng: np.random.Generator, shape, sigma_px: float) -> np.ndarray:
    """Unit-variance noise ``shape`` ``(T, H, W, C)``, blurred spatially with ``sigma_px``."""
    noise = rng.standard_normal(shape, dtype=np.float32)
    if sigma_px > 0.3:
        noise = np.stack([cv2.GaussianBlur(n, (0, 0), sigma_px).reshape(n.shape) for n in noise])
    return noise / max(float(noise.std()), 1e-6)


def grain(frames: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """Spatially correlated grain: noise blurred with 0.7-1.5 px, sigma 5-25, mostly shared by
    the channels (50-100 %)."""
    p = {"sigma": _draw(rng, 5.0, 25.0), "size": _draw(rng, 0.7, 1.5),
         "shared": _draw(rng, 0.5, 1.0)}
    t, h, w, _ = frames.shape
    shared = _blurred_noise(rng, (t, h, w, 1), p["size"])
    own = _blurred_noise(rng, (t, h, w, 3), p["size"])
    mix = np.float32(p["shared"]) * shared + np.float32(np.sqrt(1 - p["shared"] ** 2)) * own
    return np.clip(frames + mix * np.float32(p["sigma"] / 255), 0.0, 1.0), p


#: BT.601 chroma directions in RGB (unit-luma-free): the columns of the YCbCr -> RGB matrix.
_CB = np.array([0.0, -0.344136, 1.772], np.float32)
_CR = np.array([1.402, -0.714136, 0.0], np.float32)


def chroma_noise(frames: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """Colour noise: Cb and Cr noise of sigma 5-25 blurred 0-1.5 px, plus luma noise of a
    quarter of that sigma (8-bit units; :func:`add_chroma_noise`)."""
    p = {"sigma": _draw(rng, 5.0, 25.0), "size": _draw(rng, 0.0, 1.5)}
    return add_chroma_noise(frames, rng, p["sigma"], p["size"]), p


def add_chroma_noise(frames: np.ndarray, rng: np.random.Generator, sigma: float, size: float
                     ) -> np.ndarray:
    """``frames`` ``(T, H, W, 3)`` in [0, 1] with BT.601 Cb and Cr noise of ``sigma`` (8-bit
    units) blurred by ``size`` px, and luma noise of a quarter of that sigma."""
    t, h, w, _ = frames.shape
    chroma = _blurred_noise(rng, (t, h, w, 2), size) * np.float32(sigma / 255)
    luma = rng.standard_normal((t, h, w, 1), dtype=np.float32) * np.float32(sigma / 4 / 255)
    noise = luma + chroma[..., :1] * _CB + chroma[..., 1:] * _CR
    return np.clip(frames + noise, 0.0, 1.0)


def shake(frames: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """Per-frame shake: translation RMS 2-8 px, roll RMS 0.2-1 degree, zoom jitter RMS 0-2 %."""
    t, h, w, _ = frames.shape
    p = {"pixels": _draw(rng, 2.0, 8.0), "roll": _draw(rng, 0.2, 1.0),
         "zoom": _draw(rng, 0.0, 0.02)}
    hs = shake_homographies(t, w, h, p["pixels"], p["roll"], int(rng.integers(2 ** 31)))
    cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
    for i, z in enumerate(np.exp(p["zoom"] * rng.standard_normal(t))):
        scale = np.array([[z, 0, cx - z * cx], [0, z, cy - z * cy], [0, 0, 1.0]])
        hs[i] = hs[i] @ scale
    out = np.stack([cv2.warpPerspective(frames[i], hs[i], (w, h), flags=cv2.INTER_CUBIC,
                                        borderMode=cv2.BORDER_REFLECT101) for i in range(t)])
    p["shake"] = hs
    return np.clip(out, 0.0, 1.0), p


FAMILIES = {"global_flicker": global_flicker, "local_flicker": local_flicker,
            "gaussian_noise": gaussian_noise, "poisson_gaussian_noise": poisson_gaussian_noise,
            "grain": grain, "chroma_noise": chroma_noise, "shake": shake}
NOISE_FAMILIES = ("gaussian_noise", "poisson_gaussian_noise", "grain", "chroma_noise")


def _wheel(frames: int, width: int, height: int, rng: np.random.Generator) -> Sprite:
    """A wheel of 1-2 px spokes and a thin rim, spinning 8-25 degrees per frame while it drifts
    across the frame (thin structures on a rotating part: the bike's wheel and crank)."""
    side = 129
    rgba = np.zeros((side, side, 4), np.float32)
    c, r = side // 2, side // 2 - 3
    colour = tuple(float(v) for v in rng.uniform(0.05, 0.95, 3)) + (1.0,)
    spokes = int(rng.integers(6, 13))
    for k in range(spokes):
        a = np.pi * k / spokes * 2
        cv2.line(rgba, (c, c), (int(c + r * np.cos(a)), int(c + r * np.sin(a))), colour,
                 int(rng.integers(1, 3)), cv2.LINE_AA)
    cv2.circle(rgba, (c, c), r, colour, 3, cv2.LINE_AA)
    cv2.circle(rgba, (c, c), 8, colour, -1, cv2.LINE_AA)
    ramp = np.linspace(0.0, 1.0, frames)
    way = rng.choice([-1.0, 1.0])
    x = width * (0.5 + way * (0.6 * ramp - 0.3))
    spin = rng.uniform(8.0, 25.0) * rng.choice([-1.0, 1.0])
    world = _similarity(x, height * rng.uniform(0.35, 0.65), spin * np.arange(frames),
                        0.55 * height / side, side, side)
    return Sprite(rgba, world, (0.0, 0.0, side - 1.0, side - 1.0))


def moving_content(rng: np.random.Generator, width: int, height: int, frames: int,
                   fps: float = 24.0, photo: str | None = None, camera: str | None = None,
                   subject: str | None = None) -> tuple[Clip, str]:
    """A photograph in motion with a moving subject; what is not given is drawn from ``rng``.

    Returns the clean :class:`Clip` (exact flow and occlusion) and a label
    ``"photo/camera/subject"``.
    """
    photo = photo or str(rng.choice(CONTENT_PHOTOS))
    camera = camera or str(rng.choice(CAMERAS))
    subject = subject or str(rng.choice(SUBJECTS))
    path = camera_path(camera, frames, width, height, fps, rng)
    sprites = {"none": lambda: [], "face": lambda: [_face(frames, width, height, rng)],
               "ball": lambda: [_ball(frames, width, height, rng)],
               "wheel": lambda: [_wheel(frames, width, height, rng)]}[subject]()
    out, flow, occluded, boxes = render_layers(load_image(photo), path, sprites, width, height)
    clip = Clip(frames=out, fps=fps, flow_fwd=flow, camera=path.astype(np.float32),
                subject_box=boxes, cuts=[], occluded=occluded)
    return clip, f"{photo}/{camera}/{subject}"


def real_footage(name: str, width: int | None = None, height: int | None = None,
                 frames: int | None = None) -> tuple[np.ndarray, float]:
    """``(T, H, W, 3)`` float32 frames and fps of a real clip of ``/work/shared/data``:
    ``"bike-packing"`` (the camera's JPEG frames, 910x480, 69 frames, 24 fps as DAVIS) or
    ``"bedroom"`` (``original.mkv``, 800x450, 121 frames). Centre-cropped to the aspect of
    ``width`` x ``height`` and resized (area) when a size is given. Benchmarks only."""
    if name == "bike-packing":
        paths = sorted((REAL / "bike-packing" / "original").glob("*.jpg"))[:frames]
        clip = np.stack([cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB) for p in paths])
        fps = 24.0
    elif name == "bedroom":
        import av

        with av.open(str(REAL / "bedroom" / "original.mkv")) as container:
            stream = container.streams.video[0]
            fps = float(stream.average_rate or 24)
            clip = np.stack([f.to_ndarray(format="rgb24") for f in container.decode(stream)])
        clip = clip[:frames]
    else:
        raise ValueError(f"unknown real clip '{name}'; choose from bike-packing, bedroom")
    if width is not None and height is not None:
        h, w = clip.shape[1:3]
        cw = min(w, round(h * width / height))
        ch = min(h, round(cw * height / width))
        x0, y0 = (w - cw) // 2, (h - ch) // 2
        clip = np.stack([cv2.resize(f[y0:y0 + ch, x0:x0 + cw], (width, height),
                                    interpolation=cv2.INTER_AREA) for f in clip])
    return clip.astype(np.float32) / 255.0, fps
