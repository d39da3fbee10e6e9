"""The Python API: clean what a user already holds, and get back the same kind.

Accepted videos: a path (returns the output path), a numpy array ``(T, H, W, 3)`` uint8/uint16/
float in [0, 1] (same dtype back), a torch tensor ``(T, C, H, W)`` (same dtype and device back),
or a list of PIL images (what diffusion pipelines return; a list of PIL images back).
"""
from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch

from .chain.engine import _run_filters
from .chain.frames import Frame
from .chain.options import make_options
from .chain.parser import build_chain
from .chain.registry import get_filter
from .pipeline import clean_file, resolve_device
from .presets import DEFAULT_PRESET, PRESETS


def _to_tensor(video: Any) -> tuple[torch.Tensor, dict]:
    """Any accepted kind -> ``(T, 3, H, W)`` float32 in [0, 1], plus what is needed to go back."""
    if isinstance(video, torch.Tensor):
        if video.ndim != 4 or video.shape[1] not in (1, 3):
            raise ValueError(f"expected a tensor (T, C, H, W) with C = 1 or 3, got {tuple(video.shape)}")
        x = video.float() / (255.0 if not video.is_floating_point() else 1.0)
        return x.expand(-1, 3, -1, -1), {"kind": "torch", "dtype": video.dtype,
                                          "device": video.device, "channels": video.shape[1]}
    if isinstance(video, np.ndarray):
        if video.ndim != 4 or video.shape[-1] != 3:
            raise ValueError(f"expected an array (T, H, W, 3), got {video.shape}")
        scale = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}.get(video.dtype, 1.0)
        x = torch.from_numpy(np.ascontiguousarray(video)).float().div_(scale)
        return x.permute(0, 3, 1, 2), {"kind": "numpy", "dtype": video.dtype, "scale": scale}
    if isinstance(video, (list, tuple)) and video and hasattr(video[0], "convert"):
        arr = np.stack([np.asarray(im.convert("RGB")) for im in video])
        return torch.from_numpy(arr).float().div_(255).permute(0, 3, 1, 2), {"kind": "pil"}
    raise TypeError("video must be a path, a numpy array (T,H,W,3), a torch tensor (T,C,H,W) "
                    f"or a list of PIL images, not {type(video).__name__}")


def _from_tensor(x: torch.Tensor, how: dict) -> Any:
    x = x.clamp(0, 1)
    if how["kind"] == "torch":
        if how["channels"] == 1:
            x = x.mean(1, keepdim=True)
        if not how["dtype"].is_floating_point:
            x = (x * 255).round()
        return x.to(device=how["device"], dtype=how["dtype"])
    arr = x.permute(0, 2, 3, 1).cpu().numpy()
    if how["kind"] == "pil":
        from PIL import Image

        return [Image.fromarray((a * 255 + 0.5).astype(np.uint8)) for a in arr]
    if how["scale"] != 1.0:
        return (arr * how["scale"] + 0.5).astype(how["dtype"])
    return arr.astype(how["dtype"])


def _run_in_memory(frames: torch.Tensor, filters, fps: float,
                   cuts: list[int] | None = None) -> torch.Tensor:
    """``cuts``: the frames that start a shot, or None to detect them."""
    from fractions import Fraction

    from .chain.engine import output_rate
    from .chain.scenecut import SceneCutDetector

    output_rate(filters, Fraction(fps).limit_denominator(100000))  # rate-changing filters plan here

    detect = SceneCutDetector() if cuts is None else lambda frame: frame
    stream = (detect(Frame(frames[t], t / fps, cuts is not None and t in cuts))
              for t in range(frames.shape[0]))
    out = [f.image for f in _run_filters(filters, stream)]
    return torch.stack(out)


def clean(video: Any, chain: str | None = None, output: str | None = None, input_fps: float = 24.0,
          device: str | None = None, overwrite: bool = False, **encode) -> Any:
    """Run a filter chain over ``video`` and return the result as the same kind.

    Args:
        video: a path, numpy array, torch tensor or list of PIL images (module docstring).
        chain: chain string (``"deflicker,interpolate=2"``); default: the ``default`` preset.
        output: for a path input, where to write (default ``<name>.clean<ext>`` beside it).
        input_fps: frame rate of in-memory frames (matters for rate-changing filters).
        device: ``cpu``/``cuda``/``cuda:N``; default CUDA when available.
        **encode: ``codec``, ``crf``, ``lossless`` for file outputs.
    """
    chain = chain or PRESETS[DEFAULT_PRESET]
    if isinstance(video, (str, os.PathLike)):
        src = os.fspath(video)
        if output is None:
            stem, ext = os.path.splitext(src)
            output = f"{stem}.clean{ext or '.mp4'}"
        clean_file(src, output, chain, device=device, overwrite=overwrite, **encode)
        return output
    frames, how = _to_tensor(video)
    dev = resolve_device(device) if device or how["kind"] != "torch" else frames.device
    filters = [cls(opts, dev) for cls, opts in build_chain(chain)]
    return _from_tensor(_run_in_memory(frames.to(dev), filters, input_fps), how)


def apply(name: str, video: Any, input_fps: float = 24.0, device: str | None = None,
          cuts: list[int] | None = None, **options) -> Any:
    """Run the single filter ``name`` with keyword ``options`` over ``video`` (any kind);
    ``input_fps`` is the frames' rate (``fps`` is interpolate's output-rate option); ``cuts``
    the frames that start a new shot (default: detected)."""
    cls = get_filter(name)
    opts = make_options(name, cls.Options, options)
    if isinstance(video, (str, os.PathLike)):
        raise TypeError(f"framemend.{name}() works on frames; for files use framemend.clean(path, chain='{name}')")
    frames, how = _to_tensor(video)
    dev = resolve_device(device) if device or how["kind"] != "torch" else frames.device
    return _from_tensor(_run_in_memory(frames.to(dev), [cls(opts, dev)], input_fps, cuts), how)


def read(path: str) -> np.ndarray:
    """Decode a video file into ``(T, H, W, 3)`` uint8 (uint16 for high-bit-depth sources)."""
    from .video import read_video

    return read_video(path)[0]


def write(path: str, video: Any, fps: float = 24.0, **encode) -> str:
    """Encode ``video`` (any accepted in-memory kind) to ``path``; returns ``path``."""
    from .video import write_video

    frames, _ = _to_tensor(video)
    arr = (frames.clamp(0, 1).permute(0, 2, 3, 1).cpu().numpy() * 255 + 0.5).astype(np.uint8)
    if isinstance(video, np.ndarray) and video.dtype == np.uint16:
        arr = video
    write_video(path, arr, fps, **encode)
    return path
