"""Small media files made on the fly for the I/O tests: video with audio, variable frame rate."""
from __future__ import annotations

import io
import sys
from fractions import Fraction

import av
import numpy as np


def moving_frames(n: int, width: int = 96, height: int = 64, seed: int = 0) -> np.ndarray:
    """``(n, height, width, 3)`` uint8: a smooth gradient with a bright square moving right."""
    rng = np.random.default_rng(seed)
    base = np.zeros((height, width, 3), np.float32)
    base[..., 0] = np.linspace(0, 1, width)[None]
    base[..., 1] = np.linspace(0, 1, height)[:, None]
    base[..., 2] = rng.uniform(0.2, 0.8)
    frames = np.repeat(base[None], n, 0)
    for t in range(n):
        x = (4 + 3 * t) % (width - 12)
        frames[t, 20:32, x:x + 12] = 1.0
    return (frames * 255).astype(np.uint8)


def make_video(path: str, frames: np.ndarray, fps: float = 24, times: list[float] | None = None,
               audio_seconds: float | None = None, codec: str = "libx264",
               pix_fmt: str = "yuv420p", sample_rate: int = 48000, crf: int = 18,
               audio_codecs: tuple[str, ...] = ("aac",), options: dict | None = None,
               sar: Fraction | None = None) -> None:
    """Encode ``frames`` (uint8 RGB) at ``times`` (default ``i / fps``), with sine audio of
    ``audio_seconds`` when given: one stereo stream per encoder of ``audio_codecs`` (default one
    AAC), the k-th a tone of 440 + 220 k Hz (H.264 at ``crf``, 0 is lossless, and x264's
    further ``options``), pixels of shape ``sar`` when given. The container follows the
    extension."""
    rate = Fraction(fps).limit_denominator(1001)
    tb = Fraction(1, 1000) if times is not None else 1 / rate
    with av.open(path, "w") as out:
        vs = out.add_stream(codec, rate=rate)
        vs.width, vs.height, vs.pix_fmt = frames.shape[2], frames.shape[1], pix_fmt
        vs.time_base = tb
        vs.codec_context.time_base = tb
        if sar is not None:
            vs.codec_context.sample_aspect_ratio = sar
        if codec == "libx264":
            vs.options = {"crf": str(crf), "preset": "ultrafast", **(options or {})}
        audio = []
        for name in audio_codecs if audio_seconds else ():
            audio.append(out.add_stream(name, rate=sample_rate))
            audio[-1].layout = "stereo"
        for i, f in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")
            t = times[i] if times is not None else i / float(rate)
            vf.pts = int(round(t / tb))
            vf.time_base = tb
            out.mux(vs.encode(vf))
        out.mux(vs.encode(None))
        for k, stream in enumerate(audio):
            n = int(audio_seconds * sample_rate)
            hz = 440 + 220 * k
            tone = (0.2 * np.sin(2 * np.pi * hz * np.arange(n) / sample_rate)).astype(np.float32)
            chunk = 1024
            for start in range(0, n, chunk):
                block = np.stack([tone[start:start + chunk]] * 2)
                af = av.AudioFrame.from_ndarray(block, format="fltp", layout="stereo")
                af.sample_rate = sample_rate
                af.pts = start
                af.time_base = Fraction(1, sample_rate)
                out.mux(stream.encode(af))
            out.mux(stream.encode(None))


def make_rotated_video(path: str, frames: np.ndarray, rotation: int) -> None:
    """``frames`` (uint8 RGB) as lossless 4:4:4 H.264 in MP4 at 12 fps with a display rotation
    of ``rotation``° (counter-clockwise: a player shows ``np.rot90(frames, rotation // 90,
    axes=(1, 2))``; a phone stores its portrait video so, at 90 or 270)."""
    with av.open(path, "w") as out:
        s = out.add_stream("libx264", rate=12)
        s.width, s.height, s.pix_fmt = frames.shape[2], frames.shape[1], "yuv444p"
        s.options = {"crf": "0", "preset": "ultrafast"}
        s.set_display_rotation(rotation)
        for i, rgb in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv444p")
            vf.pts = i
            out.mux(s.encode(vf))
        out.mux(s.encode(None))


def stream_summary(path: str) -> dict:
    """Frame count, frame times (s), fps, and audio duration (s) and codec of a file."""
    with av.open(path) as c:
        v = c.streams.video[0]
        times = [float(f.pts * f.time_base) for f in c.decode(v)]
    with av.open(path) as c:
        audio = None
        if c.streams.audio:
            a = c.streams.audio[0]
            pk = [p for p in c.demux(a) if p.dts is not None]
            end = max(float((p.pts + p.duration) * p.time_base) for p in pk)
            audio = {"codec": a.codec_context.name, "end": end, "packets": len(pk),
                     "bytes": b"".join(bytes(p) for p in pk)}
        fps = float(c.streams.video[0].average_rate or 0)
    return {"frames": len(times), "times": times, "fps": fps, "audio": audio}


_BAYER4 = np.array([[0, 8, 2, 10], [12, 4, 14, 6], [3, 11, 1, 9], [15, 7, 13, 5]]) / 16 - 0.5


def palette_frames(frames: np.ndarray, dither: str) -> np.ndarray:
    """``frames`` (uint8 RGB) as a GIF writer leaves them: each through its own 256-colour
    palette (PIL's median cut) with ``dither`` ``"error-diffusion"`` (PIL's Floyd-Steinberg) or
    ``"ordered"`` (a 4x4 Bayer matrix of 24 levels added before the nearest palette colour)."""
    from PIL import Image  # noqa: PLC0415

    out = []
    for frame in frames:
        image = Image.fromarray(frame)
        palette = image.quantize(256, dither=Image.Dither.NONE)
        if dither == "ordered":
            h, w, _ = frame.shape
            offset = 24 * np.tile(_BAYER4, (h // 4 + 1, w // 4 + 1))[:h, :w, None]
            image = Image.fromarray(np.clip(frame + offset, 0, 255).astype(np.uint8))
            quantized = image.quantize(palette=palette, dither=Image.Dither.NONE)
        else:
            quantized = image.quantize(palette=palette, dither=Image.Dither.FLOYDSTEINBERG)
        out.append(np.asarray(quantized.convert("RGB")))
    return np.stack(out)


class _Pipe(io.RawIOBase):
    """A pipe's read end holding ``data``: read in order, no seeking (as stdin from ``cat``)."""

    def __init__(self, data: bytes):
        self._data = io.BytesIO(data)

    def readable(self):
        return True

    def readinto(self, buffer):
        chunk = self._data.read(len(buffer))
        buffer[:len(chunk)] = chunk
        return len(chunk)


def stdin_from(monkeypatch, path: str) -> None:
    """Make ``sys.stdin`` a pipe holding the bytes of the file at ``path``."""
    with open(path, "rb") as f:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(_Pipe(f.read()))))
