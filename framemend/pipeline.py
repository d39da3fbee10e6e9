"""Clean one video file (or pipe) through a filter chain: reader -> engine -> atomic writer.

The engine is imported when a file is cleaned, so :func:`check_device` and the command line's
other checks answer without it; torch only when the device or a filter of the chain needs it
(see :mod:`framemend._torch`).
"""
from __future__ import annotations

import ctypes
import os
import re
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .chain.parser import check_chain
from .chain.registry import get_filter
from .options import box_outside
from .video.containers import check_output, choose_codec
from .video.errors import SettingsError, VideoError

if TYPE_CHECKING:
    import torch

    from .chain.engine import RunStats
    from .video import VideoReader, VideoWriter

DEFAULT_CHAIN = "identity"
_LEFT_FOR_EXIT: list = []  # readers of runs stopped by a signal, freed by the OS at exit


@dataclass
class CleanResult:
    stats: RunStats
    warning: str | None  # where a damaged input stopped decoding, if it did


DEVICE_FORMS = re.compile(r"(auto|cpu|cuda(:\d+)?)$")


def check_device(device: str | None) -> None:
    """:class:`SettingsError` unless ``device`` is None, ``auto``, ``cpu``, ``cuda`` or ``cuda:N``."""
    if device is not None and not DEVICE_FORMS.match(device):
        raise SettingsError(f"--device {device}: use auto, cpu, cuda or cuda:N")


def resolve_device(device: str | None) -> torch.device | str:
    """``cuda``/``cuda:N`` (must exist), ``cpu``, or ``auto``/None: CUDA when torch sees it and
    its device path passes its self-check there (:func:`framemend.cuda.selfcheck.gpu_ready`),
    else the CPU. The CPU is ``"cpu"``, a name (torch is not imported for it); ``auto`` imports
    torch only where a GPU driver is installed (:func:`gpu_driver`)."""
    check_device(device)
    if device == "cpu" or (device in (None, "auto") and not gpu_driver()):
        return "cpu"
    import torch

    if device is None or device == "auto":
        from .cuda.selfcheck import gpu_ready  # noqa: PLC0415 - only when a GPU may be used

        if torch.cuda.is_available():
            cuda = torch.device("cuda", torch.cuda.current_device())
            if gpu_ready(cuda):
                return cuda
        return "cpu"
    dev = check_cuda(device)
    torch.cuda.set_device(dev)
    return dev


def check_cuda(device: str) -> torch.device:
    """``cuda``/``cuda:N`` as a ``torch.device``; :class:`VideoError` unless torch sees that
    device (no CUDA context is made: a folder batch checks here before its workers start)."""
    import torch

    dev = torch.device(device)
    if not torch.cuda.is_available():
        raise VideoError(f"--device {device}: no CUDA device is available to torch")
    if dev.index is not None and dev.index >= torch.cuda.device_count():
        raise VideoError(f"--device {device}: only {torch.cuda.device_count()} CUDA device(s)")
    return dev


def gpu_driver() -> bool:
    """Whether a GPU driver torch could use is installed: the CUDA driver library loads
    (``torch.cuda.is_available()`` is False without it) or ROCm's ``/dev/kfd`` exists. Without
    one, ``auto`` is the CPU and torch is not imported to ask (1.2 s); loading the library
    where it is missing takes under a millisecond (``ctypes.util.find_library`` took 80 ms)."""
    if os.path.exists("/dev/kfd"):
        return True
    try:
        ctypes.CDLL("nvcuda.dll" if sys.platform == "win32" else "libcuda.so.1")
    except OSError:
        return False
    return True


def usable_cores() -> int:
    """The cores this process may run on (its affinity where the system says)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def limit_threads(n: int) -> None:
    """Cap the threads torch, OpenCV and numba use in this process at ``n`` (torch's through
    ``OMP_NUM_THREADS``, which it reads when it is imported, if it is not imported yet), and at
    the :func:`usable_cores`: a cap above them caps nothing, and OpenMP would start them all."""
    import cv2
    import numba

    n = min(n, usable_cores())
    os.environ["OMP_NUM_THREADS"] = str(n)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(n)
    cv2.setNumThreads(n)
    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))


def same_file(a: str, b: str) -> bool:
    """Whether the paths ``a`` and ``b`` name one file (False when ``a`` does not exist: the
    reader says so)."""
    if a == "-" or b == "-" or not os.path.exists(b):
        return a == b and a != "-"
    return os.path.exists(a) and os.path.samefile(a, b)


def _encodable(writer: VideoWriter):
    """A frame as the writer takes it, in the cheapest form it holds: the decoded picture when
    no filter read it, else its raw pixels, else its tensor quantised to the output's integer
    pixels (what the writer would do, done before the frame waits for the encoder; on a GPU
    their download started, :meth:`VideoWriter.encodable`)."""
    def prepare(frame) -> tuple:
        if frame.picture is not None:
            return frame.picture, frame.time
        if frame.raw is not None:
            return frame.raw, frame.time
        return writer.encodable(frame.image), frame.time
    return prepare


def clean_file(input_path: str, output_path: str, chain: str = DEFAULT_CHAIN,
               device: str | None = None, codec: str | None = None, crf: int | None = None,
               lossless: bool = False, overwrite: bool = False, progress: bool = False,
               stdout_format: str = "matroska", warn=None, start: float = 0.0,
               end: float | None = None, max_frames: int | None = None,
               threads: int | None = None, on_input=None) -> CleanResult:
    """Decode ``input_path``, run ``chain`` and encode to ``output_path`` (``-`` for pipes).

    ``start``/``end`` (seconds of the input) and ``max_frames`` select what is processed
    (audio cut to match, output times from 0); ``threads`` caps the decoder's and encoder's
    threads (see :func:`limit_threads` for the rest), at most at the :func:`usable_cores`
    (FFmpeg starts as many as it is given: 100,000 failed to start, and the input was said to
    be damaged). ``on_input()``, when given, is called once
    per decoded frame instead of updating the progress bar (a batch draws its own).

    The chain, the device, the codec against the container and the output folder are checked
    before anything is opened; the output appears only when complete, and only when its frames
    and times are those the chain produced. Raises
    :class:`~framemend.chain.options.OptionError` for a bad chain,
    :class:`~framemend.video.SettingsError` for settings that cannot work and
    :class:`~framemend.video.VideoError` for unreadable input or unwritable output.
    """
    from .chain.engine import output_rate, run_stream
    from .video import VideoReader, VideoWriter
    from .video.prefetch import Prefetch
    from .video.reader import check_input

    steps = check_chain(chain)  # the filters themselves are imported once decoding has begun
    check_device(device)
    choose_codec(output_path, codec, lossless, crf, stdout_format=stdout_format)
    check_input(input_path)  # a missing input is said before anything about the output
    if same_file(input_path, output_path):
        raise VideoError(f"output '{output_path}' is the input: choose another name")
    if output_path != "-":
        check_output(output_path, overwrite)
    dev = resolve_device(device)
    threads = min(threads, usable_cores()) if threads else threads
    shown = _BarAside(warn)
    warn = shown if warn is not None else None
    reader = VideoReader(input_path, dev, start=start, end=end, max_frames=max_frames,
                         threads=threads, warn=warn)
    # the other core decodes while the filters' modules load (video.prefetch); the input stays
    # open, and its demuxer still, while the writer copies its audio stream's parameters
    with reader.held_open():
        ahead = Prefetch(reader)
        try:
            filters = [get_filter(name)(opts, dev) for name, opts in steps]
            for f in filters:
                f.display_rotation = reader.info.rotation
            _check_size(reader, filters)
            rate = output_rate(filters, reader.info.fps)
            with ahead.paused():
                writer = VideoWriter(output_path, reader.info, rate=rate, codec=codec,
                                     crf=crf, lossless=lossless, audio_from=reader,
                                     stdout_format=stdout_format, overwrite=overwrite,
                                     warn=warn, threads=threads)
        except BaseException:
            ahead.close()
            raise
    bar = shown.bar = _progress_bar(reader, rate, enabled=progress)
    try:
        stats = run_stream(ahead, filters, lambda item: writer.write(*item),
                           prepare=_encodable(writer),
                           on_input=on_input or (bar.update if bar is not None else None),
                           warn=warn)
        if stats.frames_out == 0:
            raise VideoError(f"'{input_path}' has no decodable video frames")
    except BaseException as e:
        interrupted = isinstance(e, KeyboardInterrupt)  # Ctrl-C or SIGTERM: the process ends
        writer.abort(exiting=interrupted)
        if interrupted:
            _LEFT_FOR_EXIT.append(reader)  # freeing its decoder threads takes up to 0.4 s
        raise
    finally:
        ahead.close()
        if bar is not None:  # a bar without a total has no truth value (tqdm's TypeError)
            bar.close()
    writer.close()
    return CleanResult(stats, reader.decode_error)


def size_problem(width: int, height: int, filters) -> str | None:
    """Why one of ``filters`` cannot take ``width`` x ``height`` frames (its ``sides``, or a
    ``box`` option x0+y0+x1+y1 wholly outside them as a player shows them, turned by the
    filter's ``display_rotation``: realign's and stabilize's subject, which then changed
    nothing without a word), or None."""
    for f in filters:
        if f.sides and not f.sides[0] <= min(width, height) <= max(width, height) <= f.sides[1]:
            return (f"{width}x{height}: '{f.name}' takes frames of {f.sides[0]} to "
                    f"{f.sides[1]} pixels on a side")
        box = getattr(getattr(f, "options", None), "box", None)
        turned = f.display_rotation % 180 == 90  # the box is given as the picture is shown
        shown = (height, width) if turned else (width, height)
        if box is not None and box_outside(box, *shown):
            return (f"{width}x{height}{' (%dx%d as shown)' % shown if turned else ''}: "
                    f"{f.name}'s box={'+'.join(f'{v:g}' for v in box)} lies outside the frame")
    return None


def _check_size(reader: VideoReader, filters) -> None:
    problem = size_problem(reader.info.width, reader.info.height, filters)
    if problem:
        raise VideoError(f"'{reader.path}' is {problem}")


class _BarAside:
    """``warn`` for a run with a progress bar: a warning said while the bar is drawn (a
    damaged frame, what a filter did not do) is written on a line of its own, the bar drawn
    again below it (it was written onto the bar's line: ``96%|... 47/49 framemend: warning:
    ...``)."""

    def __init__(self, warn):
        self.warn = warn
        self.bar = None  # the tqdm bar, once drawn

    def __call__(self, message: str) -> None:
        if self.bar is None:
            self.warn(message)
            return
        with self.bar.external_write_mode(file=sys.stderr):
            self.warn(message)


def _progress_bar(reader: VideoReader, rate, enabled: bool):
    if not enabled or not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    info = reader.info
    # NUT and FLV give the video stream no length of its own: the duration is the container's,
    # the longest stream's (42 frames expected for 24 beside 1.75 s of audio, 23 for 24 alone),
    # so no total is taken from it; a -t/--end range's length is the range's own
    seconds = info.duration if reader.end is not None or reader.own_seconds is not None else None
    total = info.frames or (round(seconds * float(info.fps)) if seconds else None) \
        or reader.max_frames  # -ss or --frames: the range's length is not known ahead
    return tqdm(total=total, unit="frame", desc=os.path.basename(reader.path),
                file=sys.stderr, dynamic_ncols=True, smoothing=0.1)
