"""Clean one video file (or pipe) through a filter chain: reader -> engine -> atomic writer."""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import torch

from .chain.engine import RunStats, output_rate, run_stream
from .chain.parser import build_chain
from .video import VideoError, VideoReader, VideoWriter

DEFAULT_CHAIN = "identity"


@dataclass
class CleanResult:
    stats: RunStats
    warning: str | None  # where a damaged input stopped decoding, if it did


def resolve_device(device: str | None) -> torch.device:
    """``cuda``/``cuda:N`` (must exist), ``cpu``, or None for CUDA when torch sees it, else CPU."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise VideoError(f"--device {device}: no CUDA device is available to torch")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise VideoError(f"--device {device}: only {torch.cuda.device_count()} CUDA device(s)")
        torch.cuda.set_device(dev)
    return dev


def same_file(a: str, b: str) -> bool:
    if a == "-" or b == "-" or not os.path.exists(b):
        return a == b and a != "-"
    return os.path.samefile(a, b)


def _write_to(writer: VideoWriter):
    """Write a frame in the cheapest form it holds: the decoded picture when no filter read it,
    else its raw pixels, else its tensor."""
    def write(frame) -> None:
        if frame.picture is not None:
            writer.write(frame.picture, frame.time)
        else:
            writer.write(frame.raw if frame.raw is not None else frame.image, frame.time)
    return write


def clean_file(input_path: str, output_path: str, chain: str = DEFAULT_CHAIN,
               device: str | None = None, codec: str | None = None, crf: int | None = None,
               lossless: bool = False, overwrite: bool = False, progress: bool = False,
               stdout_format: str = "matroska", warn=None, on_input=None) -> CleanResult:
    """Decode ``input_path``, run ``chain`` and encode to ``output_path`` (``-`` for pipes).

    The chain is validated before anything is opened; the output appears only when complete.
    ``on_input()``, when given, is called once per decoded frame instead of updating the
    progress bar (a batch draws its own).
    Raises :class:`~framemend.chain.options.OptionError` for a bad chain and
    :class:`~framemend.video.VideoError` for unreadable input or unwritable output.
    """
    steps = build_chain(chain)
    if same_file(input_path, output_path):
        raise VideoError(f"output '{output_path}' is the input: choose another name")
    if output_path != "-" and os.path.exists(output_path) and not overwrite:
        raise VideoError(f"output '{output_path}' exists (use --overwrite to replace it)")
    dev = resolve_device(device)
    reader = VideoReader(input_path, dev)
    filters = [cls(opts, dev) for cls, opts in steps]
    rate = output_rate(filters, reader.info.fps)
    writer = VideoWriter(output_path, reader.info, rate=rate, codec=codec, crf=crf,
                         lossless=lossless, audio_from=reader, stdout_format=stdout_format,
                         overwrite=overwrite, warn=warn)
    bar = _progress_bar(reader, rate, enabled=progress)
    try:
        stats = run_stream(reader, filters, _write_to(writer),
                           on_input=on_input or (bar.update if bar else None))
        if stats.frames_out == 0:
            raise VideoError(f"'{input_path}' has no decodable video frames")
    except BaseException:
        writer.abort()
        raise
    finally:
        if bar:
            bar.close()
    writer.close()
    return CleanResult(stats, reader.decode_error)


def _progress_bar(reader: VideoReader, rate, enabled: bool):
    if not enabled or not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    info = reader.info
    total = info.frames or (round(info.duration * float(info.fps)) if info.duration else None)
    return tqdm(total=total, unit="frame", desc=os.path.basename(reader.path),
                file=sys.stderr, dynamic_ncols=True, smoothing=0.1)
