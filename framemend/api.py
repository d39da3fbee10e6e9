"""The Python API: clean what a user already holds, and get back the same kind.

Accepted videos: a path (returns the output path), a numpy array ``(T, H, W, 3)`` or grey
``(T, H, W, 1)``, uint8/uint16/float in [0, 1] (same dtype and shape back; a list of ``(H, W, 3)``
arrays gives a list back), a torch tensor ``(T, C, H, W)``, C = 1 or 3 (same dtype, shape and
device back, without ``requires_grad``; a list of ``(C, H, W)`` tensors gives a list back), a
list of PIL images (what diffusion pipelines return; a list of PIL images back, grey for grey,
16-bit grey ``I;16`` for ``I;16``), or an iterator of frames of any of these kinds, each frame
of the first's size and kind (a generator of the filtered frames back, streamed: memory does
not grow with length).
"""
from __future__ import annotations

import contextlib
import itertools
import math
import numbers
import os
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator
from fractions import Fraction
from typing import Any

import numpy as np

from ._torch import device_type, is_tensor, torch
from .batch import clean_folder  # noqa: F401 - framemend.clean_folder, the folder batch
from .chain.engine import _run_filters
from .chain.frames import Frame
from .chain.options import make_options
from .chain.parser import build_chain
from .chain.registry import get_filter
from .float_range import check_float_range
from .pipeline import clean_file, resolve_device, size_problem
from .video.writer import rgb_array
from .presets import DEFAULT_PRESET, PRESETS, chain_of
from .video.containers import CONTAINERS


def _scale_of(dtype: np.dtype) -> float | None:
    """The full-scale value of an integer pixel type the filters read raw, else None."""
    return {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}.get(np.dtype(dtype))


def _source(video: Any, device: str | None,
            task: str = "clean") -> tuple[list[Frame], dict]:
    """Any accepted kind -> one :class:`Frame` per picture, plus what is needed to go back;
    ``task``: what the caller does with them, as an empty clip's error says it ("no frames to
    write").

    8/16-bit pixels on the CPU (numpy, PIL, a uint8 CPU tensor) become raw frames, as decoded
    file frames are, so each filter takes the same path as in ``framemend clean``; float input
    and tensors on a GPU become ``(3, H, W)`` float tensors on the device (only they need
    torch imported).
    """
    device = _device_name(device)
    listed = False
    if isinstance(video, (list, tuple)) and video:  # numpy's "no attribute 'shape'" for a PIL
        kind = type(video[0])  # image among arrays
        other = next((i for i, a in enumerate(video) if not isinstance(a, kind)), None)
        if other is not None:
            names = {"ndarray": "numpy array", "Image": "PIL image", "Tensor": "torch tensor"}
            first, then = (names.get(type(a).__name__, type(a).__name__)
                           for a in (video[0], video[other]))
            raise ValueError(f"the frames differ in kind: frame 0 is a {first}, frame {other} a "
                             f"{then}; give them all as one")
        listed = isinstance(video[0], np.ndarray) or is_tensor(video[0])
    if listed:  # a list of (H, W, 3) arrays, as imageio reads them, or (C, H, W) tensors:
        # a list back (a list of tensors was refused as 'not list')
        other = next((i for i, a in enumerate(video) if a.shape != video[0].shape), None)
        if other is not None:  # numpy's "all input arrays must have the same shape"
            raise ValueError(f"the frames differ in size: frame 0 is {tuple(video[0].shape)}, "
                             f"frame {other} {tuple(video[other].shape)}; a clip's frames share "
                             "one size")
        other = next((i for i, a in enumerate(video) if a.dtype != video[0].dtype), None)
        if other is not None:  # stacked as float64: uint8 frames read as 0-255 floats
            raise ValueError(f"the frames differ in type: frame 0 is {video[0].dtype}, frame "
                             f"{other} {video[other].dtype}; give them all as one type")
        video = torch.stack(video) if is_tensor(video[0]) else np.stack(video)
    if is_tensor(video):
        if video.ndim != 4 or video.shape[1] not in (1, 3):
            raise ValueError("expected a tensor (T, C, H, W) with C = 1 or 3, got "
                             f"{tuple(video.shape)}"
                             + _ALPHA_HINT * (video.ndim == 4 and video.shape[1] == 4)
                             + _LAST_HINT * (video.ndim == 4 and video.shape[-1] in (1, 3)))
        if video.device.type not in ("cpu", "cuda"):  # torch's own error came from a filter
            raise ValueError(f"the tensor is on the '{video.device.type}' device: framemend "
                             "reads tensors on the CPU or a CUDA device"
                             + (" (a meta tensor has no pixels to read)"
                                if video.device.type == "meta" else "; give video.cpu()"))
        video = video.detach()  # the filters read pixels; a graph through them is not made
        _check_values(video, video.dtype == torch.uint8, video.is_floating_point(), "uint8",
                      task)
        how = {"kind": "torch", "dtype": video.dtype, "device": video.device,
               "channels": video.shape[1], "listed": listed}
        dev = resolve_device(device) if device else video.device
        if video.dtype == torch.uint8 and video.device.type == "cpu" and device_type(dev) == "cpu":
            hwc = video.expand(-1, 3, -1, -1).permute(0, 2, 3, 1).contiguous().numpy()
            return _raw_frames(hwc, 255.0, dev), {**how, "scale": 255.0}
        x = video.to(dev).float() / (255.0 if not video.is_floating_point() else 1.0)
        return [Frame(im.expand(3, -1, -1).contiguous(), device=dev) for im in x], how
    if isinstance(video, np.ndarray):
        if video.ndim != 4 or video.shape[-1] not in (1, 3):
            raise ValueError(f"expected an array (T, H, W, 3), or (T, H, W, 1) for grey, got "
                             f"{video.shape}"
                             + _ALPHA_HINT * (video.ndim == 4 and video.shape[-1] == 4)
                             + _FIRST_HINT * (video.ndim == 4 and video.shape[1] in (1, 3))
                             + (_ONE_HINT if video.shape[-1] == 3 else _GREY_HINT)
                             * (video.ndim == 3))
        _check_values(video, _scale_of(video.dtype) is not None, video.dtype.kind == "f",
                      "uint8, uint16", task)
        dev = resolve_device(device)
        how = {"kind": "numpy", "dtype": video.dtype, "scale": _scale_of(video.dtype),
               "channels": video.shape[-1], "listed": listed}
        if how["channels"] == 1:  # grey: its one channel read as red, green and blue
            video = np.broadcast_to(video, video.shape[:3] + (3,))
        if how["scale"] is not None and device_type(dev) == "cpu":
            return _raw_frames(video, how["scale"], dev), how
        pixels = np.ascontiguousarray(video)  # the caller's memory where it is contiguous:
        if not pixels.flags.writeable:  # a read-only np.load(mmap_mode="r") faulted (SIGSEGV)
            pixels = pixels.copy()  # on the in-place scaling, and torch warns about such memory
        x = torch.from_numpy(pixels).to(dev).float()
        if how["scale"] is not None:  # integers: .float() made a copy to scale in place
            x = x.div_(how["scale"])
        x = x.permute(0, 3, 1, 2)
        return [Frame(im.contiguous(), device=dev) for im in x], how
    if isinstance(video, (list, tuple)) and not video:
        raise ValueError(f"no frames to {task}: the list is empty")
    if isinstance(video, (list, tuple)) and hasattr(video[0], "convert"):
        if any(_transparent(im) for im in video):
            warnings.warn("the images have an alpha channel: framemend cleans the colour and "
                          "returns RGB images without it", stacklevel=3)
        dev = resolve_device(device)
        arr, how = _pil_pixels(video)
        if device_type(dev) == "cpu":
            return _raw_frames(arr, how["scale"], dev), how
        x = torch.from_numpy(arr).to(dev).float().div_(how["scale"]).permute(0, 3, 1, 2)
        return [Frame(im.contiguous(), device=dev) for im in x], how
    raise TypeError("video must be a path, a numpy array (T,H,W,3), a torch tensor (T,C,H,W), "
                    f"a list of PIL images or an iterator of frames, not {type(video).__name__}"
                    + ": for one picture, give [image]" * hasattr(video, "convert"))


def _pil_pixels(images: list) -> tuple[np.ndarray, dict]:
    """PIL images -> their ``(T, H, W, 3)`` 8-bit pixels, or 16-bit for 16-bit grey
    (``I;16``, as a 16-bit PNG opens), and what :func:`_result` needs to give such images back.
    PIL's own RGB conversion clipped 16-bit values at 255 (a 16-bit grey clip came back white)
    and 32-bit integer or float images too (``F`` in [0, 1] came back black), so those, and
    16-bit images among 8-bit ones, are refused with the way to pass them."""
    sizes = [im.size for im in images]
    other = next((i for i, size in enumerate(sizes) if size != sizes[0]), None)
    if other is not None:  # numpy's "all input arrays must have the same shape"
        raise _sizes_differ(sizes[0], other, sizes[other], "image")
    sixteen = [im.mode.startswith("I;16") for im in images]
    odd = next((im.mode for im in images if im.mode in ("I", "F")), None)
    if odd is not None or (any(sixteen) and not all(sixteen)):
        what = (f"images of mode '{odd}' have no fixed scale" if odd is not None else
                "16-bit images (I;16) among 8-bit ones")
        raise ValueError(f"{what}: PIL's RGB conversion clips them; give the frames as a numpy "
                         "array, uint16 or floats in [0, 1] (np.stack([np.asarray(im) for im "
                         "in images])[..., None] for grey)")
    if all(sixteen):  # grey: its one channel read as red, green and blue
        grey = np.stack([np.asarray(im).astype(np.uint16) for im in images])
        return (np.repeat(grey[..., None], 3, axis=-1),  # writable: torch takes it on a GPU
                {"kind": "pil", "scale": 65535.0, "channels": 1})
    return (np.stack([np.asarray(im.convert("RGB")) for im in images]),
            {"kind": "pil", "scale": 255.0,
             "channels": 1 if all(im.mode == "L" for im in images) else 3})


def _device_name(device) -> str | None:
    """``device`` as the name :func:`~framemend.pipeline.resolve_device` reads: a
    ``torch.device`` as its string (``cuda:0``), a name as it is."""
    return device if device is None or isinstance(device, str) else str(device)


def _transparent(image) -> bool:
    """Whether a PIL image has a pixel less than opaque (an alpha channel or a palette's
    transparent colour)."""
    if image.mode not in ("RGBA", "LA", "PA", "RGBa", "La") and "transparency" not in image.info:
        return False
    return image.convert("RGBA").getchannel("A").getextrema()[0] < 255


_ALPHA_HINT = ": framemend cleans colour only; pass the first 3 channels, without the alpha"
_LAST_HINT = ": for channels last, give video.permute(0, 3, 1, 2)"
_FIRST_HINT = ": for channels first, give video.transpose(0, 2, 3, 1)"
_GREY_HINT = ": for grey frames (T, H, W), give video[..., None]"
_ONE_HINT = ": for one picture (H, W, 3), give video[None]"


def _check_values(video, integer: bool, floating: bool, integers: str,
                  task: str = "clean") -> None:
    """ValueError for no frames (``task``: what was to be done with them), TypeError for a
    pixel type the filters do not read as pixels (``integer``: one they read as such;
    ``floating``: floats, read in [0, 1]), ValueError for
    floats that are not all finite (NaN went on to a scene-cut error about lists) or that reach
    past [0, 1] by more than :data:`~framemend.float_range.FLOAT_SLACK` (another scale, which
    clipping would lose: :func:`~framemend.float_range.check_float_range`)."""
    if len(video) == 0:
        raise ValueError(f"no frames to {task}: the {type(video).__name__} has shape "
                         f"{tuple(video.shape)}")
    if not (integer or floating):
        raise TypeError(f"frames of type {video.dtype} cannot be read as pixels: give "
                        f"{integers} or floats in [0, 1]")
    if not floating:
        return
    # NaN and inf carry through a min and a max: no clip-sized mask of isfinite is made
    low, high = float(video.min()), float(video.max())
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError("the frames hold NaN or infinite values")
    check_float_range(low, high)


def _raw_frames(video: np.ndarray, scale: float, device) -> list[Frame]:
    """Raw frames (views of ``video``'s ``(H, W, 3)`` pictures, never written to)."""
    video = np.ascontiguousarray(video)
    return [Frame(raw=picture, raw_scale=scale, device=device) for picture in video]


def _pixels(frame: Frame, scale: float) -> np.ndarray:
    """A frame's ``(H, W, 3)`` 8/16-bit pixels: its decoded ones, or its image rounded as the
    writer rounds it (``scale``: 255 or 65535)."""
    return frame.raw if frame.raw is not None else rgb_array(frame.image, scale)


def _gathered(arrays: Iterable, hint: int, empty: Callable[[int, Any], Any]) -> Any:
    """The ``arrays`` (numpy arrays or tensors of one shape) stacked as they come into one
    made by ``empty(count, like)``, so that no list of them is held beside the stack: a clip
    in memory came back at about 2.6 times its size at the peak (the output frames, then their
    stack). ``hint``: the count expected (the stack doubles past it)."""
    out, n = None, 0
    for a in arrays:
        if out is None:
            out = empty(max(hint, 1), a)
        elif n == len(out):
            grown = empty(2 * n, a)
            grown[:n] = out
            out = grown
        out[n] = a
        n += 1
    if out is None:
        raise ValueError("no frames came out of the chain")
    return out[:n] if n == len(out) else out[:n].clone() if is_tensor(out) else out[:n].copy()


def _result(frames: Iterable[Frame], how: dict, hint: int = 1) -> Any:
    """The filtered frames as the kind the input was (``hint``: how many are expected)."""
    scale = how.get("scale")
    if scale is not None:  # 8/16-bit pixels back, rounded as the writer rounds them
        arr = _gathered((_pixels(f, scale) for f in frames), hint,
                        lambda k, a: np.empty((k, *a.shape), a.dtype))
        if how["kind"] == "pil":
            from PIL import Image

            return [Image.fromarray(a[..., 0] if how["channels"] == 1 else a) for a in arr]
        if how["kind"] == "numpy":
            if how["channels"] == 1:
                arr = np.ascontiguousarray(arr[..., :1])
            arr = arr.astype(how["dtype"], copy=False)
            return list(arr) if how["listed"] else arr
        x = torch.from_numpy(arr).permute(0, 3, 1, 2)
        x = x[:, :1] if how["channels"] == 1 else x.contiguous()
        return _listed(x.to(how["device"]), how)
    x = _gathered((f.image for f in frames), hint,
                  lambda k, a: torch.empty((k, *a.shape), dtype=a.dtype, device=a.device))
    x = x.clamp_(0, 1)
    if how["kind"] == "torch":
        if how["channels"] == 1:
            x = x.mean(1, keepdim=True)
        if not how["dtype"].is_floating_point:
            x = (x * 255).round()
        return _listed(x.to(device=how["device"], dtype=how["dtype"]), how)
    if how["channels"] == 1:
        x = x.mean(1, keepdim=True)
    arr = x.permute(0, 2, 3, 1).cpu().numpy().astype(how["dtype"])
    return list(arr) if how["listed"] else arr


def _listed(x, how: dict):
    """The tensor ``x`` of the filtered frames as a list of its frames where the input was a
    list, else as it is."""
    return list(x) if how["listed"] else x


def frame_rate(value: Any, name: str) -> float | Fraction:
    """A frame rate given to the API as a number (int, float, ``Fraction``, numpy scalar): a
    fraction such as ``Fraction(30000, 1001)`` kept exact, any other number as a float;
    TypeError for what is not a number, ValueError for one that is not above 0 and finite."""
    if isinstance(value, numbers.Rational) and not isinstance(value, numbers.Integral):
        value = Fraction(int(value.numerator), int(value.denominator))
    elif isinstance(value, numbers.Real) and not isinstance(value, bool):
        value = float(value)
    else:
        raise TypeError(f"{name} must be a number of frames per second, got {value!r}")
    if not 0 < value < float("inf"):
        raise ValueError(f"{name} must be a frame rate above 0, got {value}")
    return value


def _plan(filters, fps: float | Fraction) -> float | Fraction:
    """Let rate-changing filters plan their output for frames at ``fps``; returns ``fps``."""
    from .chain.engine import output_rate

    output_rate(filters, Fraction(fps).limit_denominator(100000))
    return fps


_END = object()  # an iterator's end
_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep  # whose frames a warning skips


def _run_in_memory(frames: list[Frame], filters, fps: float,
                   cuts: list[int] | None = None) -> Iterator[Frame]:
    """The frames through ``filters`` as the file pipeline runs them, yielded as they come out,
    each frame's time at ``fps``; ``cuts``: the frames that start a shot, or None to detect
    them on the way."""
    from .chain.scenecut import SceneCutDetector

    fps = _plan(filters, frame_rate(fps, "input_fps"))

    def timed():
        for t, frame in enumerate(frames):
            frame.time = t / fps
            if cuts is not None:
                frame.cut = t in cuts
            yield frame

    stream = timed() if cuts is not None else SceneCutDetector().mark(timed())
    return _run_filters(filters, stream, _warn_user)


def clean(video: Any, chain: str | None = None, output: str | None = None,
          input_fps: float | None = None, device: str | None = None, overwrite: bool = False,
          **encode) -> Any:
    """Run a filter chain over ``video`` and return the result as the same kind.

    Args:
        video: a path, numpy array, torch tensor, list of PIL images or an iterator of
            frames (module docstring).
        chain: chain string (``"deflicker,interpolate=2"``), a list of its filters
            (``["deflicker", "interpolate=2"]``) or a preset's name (``"smooth"``); default:
            the ``default`` preset.
        output: for a path input, where to write (default ``<name>.clean<ext>`` beside it;
            ``.mkv`` for an input whose container framemend does not write, such as ``.flv``).
        input_fps: frame rate of in-memory frames (matters for rate-changing filters;
            default 24); a file's frames keep their own times, so with a path it is refused.
        device: ``cpu``/``cuda``/``cuda:N``; default CUDA when available.
        **encode: ``codec``, ``crf``, ``lossless`` for file outputs.

    Raises TypeError for a keyword ``clean`` does not take, for ``output`` or ``encode``
    with frames in memory (they are returned, not written: :func:`write` writes them), and
    for ``input_fps`` with a path.
    """
    _check_keywords(encode)
    chain = chain_of(chain)
    if isinstance(video, (str, os.PathLike)):
        if input_fps is not None:  # it was dropped without a word
            raise TypeError("clean() takes input_fps for frames in memory only: a file's frames "
                            "keep their own times (interpolate=fps=N changes the rate)")
        src = os.fspath(video)
        if output is None:
            stem, ext = os.path.splitext(src)
            if ext and ext.lower() not in CONTAINERS:
                ext = ".mkv"  # Matroska holds what other containers hold
            output = f"{stem}.clean{ext or '.mp4'}"
        with _sigterm_removes_the_output():
            clean_file(src, output, chain, device=device, overwrite=overwrite,
                       warn=_warn_user, **encode)
        return output
    if output is not None or encode:
        given = ", ".join(["output"] * (output is not None) + list(encode))
        raise TypeError(f"clean() writes no file for frames in memory ({given} given): it "
                        "returns them; framemend.write(path, frames, fps=...) writes them")
    steps = build_chain(chain)
    input_fps = 24.0 if input_fps is None else input_fps
    if _is_iterator(video):
        return _stream(video, lambda dev: [cls(opts, dev) for cls, opts in steps], input_fps,
                       device)
    frames, how = _source(video, device)
    dev = frames[0].device if frames else resolve_device(device)
    filters = [cls(opts, dev) for cls, opts in steps]
    _check_size(frames, filters)
    return _result(_run_in_memory(frames, filters, input_fps), how, len(frames))


def _is_iterator(video: Any) -> bool:
    """A generator or other iterator of frames (not a list, an array or a tensor)."""
    return hasattr(video, "__next__") and not is_tensor(video)


def _stream(pictures, make_filters, fps, device, cuts: list[int] | None = None,
            task: str = "clean"):
    """A generator of the filtered frames of the iterator ``pictures``, each of its item's kind
    (an ``(H, W, 3)`` or ``(H, W, 1)`` array, a ``(C, H, W)`` tensor or a PIL image): frames are
    taken as the filters need them and given back as they come out, so memory holds the
    chain's window, not the clip (640x360, default chain: peak RSS the same for 100 and 400
    frames). The first picture is read now, so a bad kind, size or chain raises here, not at
    the first ``next``; ``make_filters(device)`` builds the chain; ``task``: what an empty
    iterator's error says was to be done."""
    from .chain.scenecut import SceneCutDetector

    fps = frame_rate(fps, "input_fps")
    first = next(pictures, _END)
    if first is _END:
        raise ValueError(f"no frames to {task}: the iterator is empty")
    (first_frame,), how = _source(_as_clip(first), device)
    filters = make_filters(first_frame.device)
    _check_size([first_frame], filters)
    _plan(filters, fps)
    device = str(first_frame.device)  # resolved once: "cpu" or "cuda:N"
    size = _frame_size(first_frame)  # read now: a filter may release its pixels

    def timed():
        frame, t = first_frame, 0
        while True:
            frame.time = t / fps
            if cuts is not None:
                frame.cut = t in cuts
            yield frame
            picture = next(pictures, _END)
            if picture is _END:
                return
            t += 1
            (frame,), kind = _source(_as_clip(picture, t), device)
            _check_like_first(size, how, frame, kind, t)

    stream = timed() if cuts is not None else SceneCutDetector().mark(timed())

    def results():
        for out in _run_filters(filters, stream, _warn_user):
            yield _result([out], how)[0]

    return results()


def _sizes_differ(first: tuple[int, int], t: int, size: tuple[int, int],
                  noun: str = "frame") -> ValueError:
    """The error for frame (or image) ``t`` of ``size`` (width, height) among frames of the
    first's ``first``."""
    return ValueError(f"the frames differ in size: {noun} 0 is {first[0]}x{first[1]}, "
                      f"{noun} {t} {size[0]}x{size[1]}; a clip's frames share one size")


def _frame_size(frame: Frame) -> tuple[int, int]:
    """A frame's (width, height)."""
    h, w = frame.raw.shape[:2] if frame.raw is not None else frame.image.shape[-2:]
    return int(w), int(h)


def _check_like_first(size: tuple[int, int], first_kind: dict, frame: Frame, kind: dict,
                      t: int) -> None:
    """ValueError for frame ``t`` of an iterator that is not of the first frame's ``size``
    (width, height) and kind, as a list's frames are checked: a frame of another size met
    OpenCV's assertions in every pass that compares frames (``I0.sameSize(I1) in function
    'calc'``), and each frame came back as the first's kind (an RGB image after a grey one
    came back grey)."""
    got = _frame_size(frame)
    if got != size:
        raise _sizes_differ(size, t, got)

    def said(k: dict) -> str:
        pil = "a 16-bit PIL image" if k.get("scale") == 65535 else "an 8-bit PIL image"
        what = {"numpy": f"a {k.get('dtype')} array", "torch": f"a {k.get('dtype')} tensor",
                "pil": pil}[k["kind"]]
        return what + (" (grey)" if k["channels"] == 1 else "")

    if said(kind) != said(first_kind):
        raise ValueError(f"the frames differ in kind: frame 0 is {said(first_kind)}, frame {t} "
                         f"{said(kind)}; give them all as one kind")


def _as_clip(picture: Any, t: int = 0) -> Any:
    """One frame (frame ``t``) of an iterator as a clip of one, the kind :func:`_source` reads:
    an array ``(H, W, C)`` or tensor ``(C, H, W)`` with a leading axis, a PIL image in a list.
    ValueError for a frame of another shape, said of the frame (the clip's error spoke of a
    shape with a leading 1 that the caller never made, and gave a clip's remedy)."""
    if hasattr(picture, "convert"):
        return [picture]
    tensor = is_tensor(picture)
    if not (isinstance(picture, np.ndarray) or tensor):
        raise TypeError("an iterator's frames must be numpy arrays (H, W, 3), torch tensors "
                        f"(C, H, W) or PIL images, not {type(picture).__name__}")
    shape = tuple(picture.shape)
    channels, other = (shape[0], shape[-1]) if tensor else (shape[-1], shape[0])
    if len(shape) != 3 or channels not in (1, 3):
        layout = "tensors (3, H, W), or (1, H, W)" if tensor else "arrays (H, W, 3), or (H, W, 1)"
        hint = ""
        if len(shape) == 4:
            hint = ": for batches of frames, give itertools.chain.from_iterable(batches)"
        elif len(shape) == 2:
            hint = ": for grey frames (H, W), give each as " + (
                "frame[None]" if tensor else "frame[..., None]")
        elif channels == 4:
            hint = ": framemend cleans colour only; give each frame without its alpha"
        elif other in (1, 3):
            hint = ": give each frame as " + (
                "frame.permute(2, 0, 1)" if tensor else "frame.transpose(1, 2, 0)")
        raise ValueError(f"an iterator's frames must be {layout} for grey; frame {t} is "
                         f"{shape}{hint}")
    return picture[None]


_KEYWORDS = ("chain", "output", "input_fps", "device", "overwrite")
_ENCODE = ("codec", "crf", "lossless")


def _check_keywords(encode: dict, function: str = "clean",
                    keywords: tuple[str, ...] = _KEYWORDS) -> None:
    """TypeError naming the first keyword of ``encode`` that ``function`` (:func:`clean`, or
    :func:`write` with its ``keywords``) does not take (a misspelt one was passed on as an
    encoder option, or ignored for frames in memory; write's came from inside the writer, as
    ``write_video()``'s, once an iterator's first frame was taken)."""
    import difflib

    for key in encode:
        if key not in _ENCODE:
            close = difflib.get_close_matches(key, keywords + _ENCODE, n=1, cutoff=0.5)
            raise TypeError(f"{function}() got an unexpected keyword argument '{key}'"
                            + (f"; did you mean '{close[0]}'?" if close else "")
                            + f" (it takes {', '.join(keywords + _ENCODE)})")


def _check_size(frames: list[Frame], filters) -> None:
    """ValueError if the filters cannot take frames of this size (as ``framemend clean``)."""
    if frames:
        h, w = (frames[0].raw.shape[:2] if frames[0].raw is not None
                else frames[0].image.shape[-2:])
        problem = size_problem(w, h, filters)
        if problem:
            raise ValueError(f"frames of {problem}")


def apply(name: str, video: Any, input_fps: float = 24.0, device: str | None = None,
          cuts: list[int] | None = None, **options) -> Any:
    """Run the single filter ``name`` with keyword ``options`` over ``video`` (any kind);
    ``input_fps`` is the frames' rate (``fps`` is interpolate's output-rate option); ``cuts``
    the frames that start a new shot (default: detected)."""
    cls = get_filter(name)
    if isinstance(video, (str, os.PathLike)):  # before the options: output= is no option
        raise TypeError(f"framemend.{name}() works on frames; for files use framemend.clean(path, chain='{name}')")
    opts = make_options(name, cls.Options, options)
    if _is_iterator(video):
        return _stream(video, lambda dev: [cls(opts, dev)], input_fps, device,
                       _check_cuts(cuts, None), name)
    frames, how = _source(video, device, name)
    dev = frames[0].device if frames else resolve_device(device)
    filters = [cls(opts, dev)]
    _check_size(frames, filters)
    return _result(_run_in_memory(frames, filters, input_fps, _check_cuts(cuts, len(frames))),
                   how, len(frames))


def _check_cuts(cuts, count: int | None):
    """``cuts`` as given, or ValueError naming a cut that is not a frame of the ``count``
    frames (None: an iterator's, not known ahead): one past the end, below 0 or not an
    integer marked no frame, without a word. TypeError for what is no list: a number (a
    filter's option given by place) met "'int' object is not iterable", a string was taken
    letter by letter."""
    if cuts is not None and (isinstance(cuts, (str, bytes)) or not hasattr(cuts, "__iter__")):
        raise TypeError(f"cuts must be a list of the frames that start a new shot, not {cuts!r} "
                        "(a filter's options are given by name, e.g. factor=2)")
    for cut in cuts or ():
        if (not isinstance(cut, numbers.Integral) or isinstance(cut, bool) or cut < 0
                or (count is not None and cut >= count)):
            frames = "0 or more" if count is None else f"0 to {count - 1}"
            raise ValueError(f"cuts: {cut!r} is not a frame number of these frames ({frames})")
    return cuts


def read(path: str) -> np.ndarray:
    """Decode a video file into ``(T, H, W, 3)`` uint8 (uint16 for high-bit-depth sources),
    turned as a player shows it (a phone's portrait video, stored on its side with a display
    rotation, comes upright: written back by :func:`write`, it was on its side). The frames'
    rate is ``framemend.probe(path).fps``, for :func:`write`, which takes 24 fps when not told."""
    from .video import read_video

    return read_video(path, warn=_warn_user, as_shown=True)[0]


def _warn_user(message: str) -> None:
    """What ``framemend clean`` prints as ``framemend: warning: ...`` (an alpha channel left
    out, audio re-encoded, 16 bits written at 10, a filter's note...), as a :class:`UserWarning`
    to a Python user, who was told nothing; attributed to the first caller outside framemend
    (the line of the user's ``framemend.clean``, or of the loop taking an iterator's frames)."""
    level, frame = 2, sys._getframe(1)  # 2: the caller of this function
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        level, frame = level + 1, frame.f_back
    warnings.warn(message, UserWarning, stacklevel=level)


def write(path: str, video: Any, fps: float = 24.0, overwrite: bool = False, **encode) -> str:
    """Encode ``video`` (any accepted in-memory kind, or an iterator of frames: each encoded as
    it comes, so ``write(path, clean(frames_iterator))`` streams) to ``path``; returns
    ``path``. An existing ``path`` is refused, as :func:`clean` and ``framemend clean`` refuse
    it, unless ``overwrite=True`` (it was replaced without a word)."""
    from .video import write_video
    from .video.containers import check_output, check_rate

    # frames given first (as framemend.clean takes them) got os.fspath's "expected str, bytes
    # or os.PathLike object, not ndarray"
    if not isinstance(path, (str, os.PathLike)):
        hint = " (the frames came first)" if isinstance(video, (str, os.PathLike)) else ""
        raise TypeError(f"write(path, video): path must be a file name (str or os.PathLike), got "
                        f"{type(path).__name__}{hint}")
    _check_keywords(encode, "write", ("path", "video", "fps", "overwrite"))
    path = os.fspath(path)
    fps = frame_rate(fps, "fps")
    check_rate(path, fps)  # before any frame is taken: an iterator's frames are not lost
    if path != "-":
        check_output(path, overwrite)
    if _is_iterator(video):
        arr = _pictures(video)
    else:
        frames, _ = _source(video, "cpu", "write")
        arr = np.stack([_pixels(f, 255.0) for f in frames])
    with _sigterm_removes_the_output():
        write_video(path, arr, fps, warn=_warn_user, **encode)
    return path


def _pictures(video):
    """The ``(H, W, 3)`` uint8/uint16 pixels of each frame of the iterator ``video`` (arrays,
    tensors or PIL images), as :func:`write` encodes them; the first read now, so a bad kind
    raises here."""
    first = next(video, _END)
    if first is _END:
        raise ValueError("no frames to write: the iterator is empty")

    def pixels(picture, t=0):
        (f,), _ = _source(_as_clip(picture, t), "cpu")
        return _pixels(f, 255.0)

    def like_first(t_picture):  # another size was scaled to the first's without a word
        t, picture = t_picture
        got = pixels(picture, t)
        if got.shape[:2] != first.shape[:2]:
            raise _sizes_differ(first.shape[1::-1], t, got.shape[1::-1])
        return got

    first = pixels(first)
    return itertools.chain([first], map(like_first, enumerate(video, 1)))


class _Terminated(KeyboardInterrupt):
    """SIGTERM arrived during a file's writing: it stops the run as Ctrl-C does."""


@contextlib.contextmanager
def _sigterm_removes_the_output():
    """While a file is written, a SIGTERM to a process that left it at its default (death on
    the spot, which left the writer's ``.NAME.PID.part.EXT`` beside the output) stops the run
    as Ctrl-C does, so the writer removes its temporary file, then ends the process by SIGTERM
    as it would have ended (exit status 143 in a shell). Ctrl-C, where Python's own handler
    takes it, is not lost inside numba's compiler (:mod:`.interrupts`). Handlers the program
    set, and runs outside the main thread (where none can be set), are left as they are."""
    from .interrupts import raising

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {}
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        previous[signal.SIGTERM] = signal.signal(signal.SIGTERM, raising(_Terminated))
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        previous[signal.SIGINT] = signal.signal(signal.SIGINT, raising(KeyboardInterrupt))
    try:
        yield
    except _Terminated:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
        raise  # reached only where the signal is blocked
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def warmup(progress: bool = False) -> list[str]:
    """Compile every filter's CPU kernels into numba's cache (``cache=True``: once per
    installation) by running each filter, and the default chain, over a tiny noisy clip in
    motion (a subject crossing a pan), the path decoded files take; returns the chains run.
    ``framemend warmup`` runs it (``make venv`` after installing), so a user's first run does
    not wait for the compiler. Numba compiles a kernel
    once per type of its arguments, so each chain runs on the clip's 8-bit, 16-bit (a 10-bit
    source) and float pixels (what a filter reads after one that returns floats); the default
    chain also on the clip cut to 64 colours, the path of palette (GIF) input, denoise on
    colour noise too coarse for its 5x5 chroma window (its 9x9 one, :mod:`.denoise.spatial`),
    and deboil on frames large enough for its path without the tone band's texture.
    Each of these, left out, cost a first run 1.4 to 4 s of compiling. ``progress``: a bar
    of the runs on stderr where it is a terminal (about a minute passed without a word)."""
    from .chain.registry import all_filters
    from .generate import scene
    from .generate.families import add_chroma_noise

    rng = np.random.default_rng(0)
    # a subject crossing a panned photograph: interpolate's search for lost motion has work
    clip = scene("subject", 160, 96, frames=12, seed=0).frames
    noisy = np.clip(clip + rng.normal(0, 4 / 255, clip.shape), 0, 1)
    coloured = add_chroma_noise(noisy, rng, 25.0, 1.5)  # correlated over ~3 px
    chains = [PRESETS[DEFAULT_PRESET]] + sorted(all_filters())
    runs = []  # (pixels, chain)
    for kind in (np.uint8, np.uint16, np.float32):
        for frames, names in ((noisy, chains), (coloured, ["denoise"])):
            pixels = (frames.astype(kind) if kind == np.float32
                      else np.round(frames * np.iinfo(kind).max).astype(kind))
            runs += [(pixels, chain) for chain in names]
    runs.append(((noisy * 255).astype(np.uint8) // 64 * 64 + 32, chains[0]))
    # frames over about 450 px on the short side take deboil's other path, whose tone band
    # holds no texture (.deboil.consistency.holds_texture): its own kernels
    large = scene("subject", 480, 456, frames=3, seed=0).frames
    for kind in (np.uint8, np.uint16, np.float32):
        scale = 1 if kind == np.float32 else np.iinfo(kind).max
        runs.append(((large * scale).astype(kind), "deboil"))
    runs.append(((large * 255).astype(np.uint8) // 64 * 64 + 32, "deboil"))
    from tqdm import tqdm

    for pixels, chain in tqdm(runs, unit="run", desc="warmup", file=sys.stderr,
                              dynamic_ncols=True, disable=not (progress and sys.stderr.isatty())):
        clean(pixels, chain=chain, device="cpu")
    return chains
