"""A corpus of damaged and unusual inputs, built in a folder from small valid clips.

:func:`build_corpus` writes one small clean clip per supported container and codec (mp4/H.264,
mkv/H.264 with audio, mp4 with its index first, mkv/H.265, mkv/FFV1, webm/VP9, mov/H.264 and
ProRes, avi/MPEG-4, nut/FFV1, ts/H.264, gif), then variants of each:
truncated at many points, bytes flipped in the header and in the middle, a wrong extension;
and the odd cases: zero-length, garbage, a huge claimed size, 1x1 / 3x5 / 4097-wide frames,
1- and 2-frame clips, variable frame rate with duplicate and backwards timestamps, audio-only
files and a stream whose resolution changes mid-stream. Each :class:`Case` says what the input
is and, where known, how many frames its undamaged source had.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np

W, H, N, FPS = 32, 24, 10, 12

# container extension -> (codec, pix_fmt, with audio); "faststart.mp4" has its index first
SOURCES = {
    "mp4": ("libx264", "yuv420p", True),
    "faststart.mp4": ("libx264", "yuv420p", True),
    "hevc.mkv": ("libx265", "yuv420p", False),
    "prores.mov": ("prores_ks", "yuv422p10le", False),
    "mkv": ("libx264", "yuv420p", True),
    "ffv1.mkv": ("ffv1", "yuv420p", False),
    "webm": ("libvpx-vp9", "yuv420p", False),
    "mov": ("libx264", "yuv420p", False),
    "avi": ("mpeg4", "yuv420p", False),
    "nut": ("ffv1", "yuv420p", False),
    "ts": ("libx264", "yuv420p", True),
    "gif": ("gif", "rgb8", False),
}
TRUNCATE_AT = (0.02, 0.05, 0.1, 0.15, 0.25, 0.35, 0.45, 0.55, 0.65, 0.75, 0.85, 0.95, 0.99)


@dataclass
class Case:
    name: str          # unique, also the file name
    path: str
    kind: str          # what was done to it: clean, truncated, flipped-header, ...
    source_frames: int | None = None  # frames of the undamaged source (None: not a video)
    source_ext: str = ""


def frames_of(n: int, width: int = W, height: int = H, seed: int = 0) -> np.ndarray:
    """``(n, height, width, 3)`` uint8: a gradient with a square moving right and noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    out = np.empty((n, height, width, 3), np.uint8)
    for t in range(n):
        img = np.stack([x * 255 // max(width - 1, 1), y * 255 // max(height - 1, 1),
                        np.full_like(x, 90 + 10 * t)], -1).astype(np.float32)
        x0 = (2 * t) % max(width - 4, 1)
        img[height // 3: height // 3 + 6, x0:x0 + 6] = 250
        img += rng.normal(0, 3, img.shape)
        out[t] = np.clip(img, 0, 255).astype(np.uint8)
    return out


def _add_video(out, codec: str, pix_fmt: str, width: int, height: int, fps: int,
               time_base: Fraction | None = None):
    s = out.add_stream(codec, rate=fps)
    s.width, s.height, s.pix_fmt = width, height, pix_fmt
    if time_base is not None:
        s.time_base = time_base
        s.codec_context.time_base = time_base
    if codec == "libx264":
        s.options = {"preset": "ultrafast", "crf": "20"}
    elif codec == "libx265":
        s.options = {"preset": "ultrafast", "crf": "24", "x265-params": "log-level=none"}
    elif codec == "libvpx-vp9":
        s.options = {"deadline": "realtime", "cpu-used": "8", "crf": "30", "b": "0"}
    return s


def _add_audio(out, rate: int = 16000):
    a = out.add_stream("aac", rate=rate)
    a.layout = "mono"
    return a


def _mux_audio(out, a, seconds: float, rate: int = 16000) -> None:
    n = int(seconds * rate)
    tone = (0.2 * np.sin(2 * np.pi * 440 * np.arange(n) / rate)).astype(np.float32)
    for start in range(0, n, 1024):
        af = av.AudioFrame.from_ndarray(tone[None, start:start + 1024], format="fltp", layout="mono")
        af.sample_rate, af.pts, af.time_base = rate, start, Fraction(1, rate)
        out.mux(a.encode(af))
    out.mux(a.encode(None))


def write_clip(path: str, frames: np.ndarray, codec: str, pix_fmt: str, fps: int = FPS,
               audio: bool = False, fmt: str | None = None) -> None:
    """Encode ``frames`` (uint8 RGB) with ``codec``; a mono AAC track of the same length if
    ``audio``. A ``faststart`` path gets its MP4 index at the front."""
    options = {"movflags": "+faststart"} if "faststart" in os.path.basename(path) else {}
    with av.open(path, "w", format=fmt, options=options) as out:
        s = _add_video(out, codec, pix_fmt, frames.shape[2], frames.shape[1], fps)
        a = _add_audio(out) if audio else None
        for i, f in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")
            vf.pts = i
            vf.time_base = Fraction(1, fps)
            out.mux(s.encode(vf))
        out.mux(s.encode(None))
        if a is not None:
            _mux_audio(out, a, len(frames) / fps)


def write_vfr(path: str, times_ms: list[int], fmt: str | None = None) -> None:
    """FFV1 frames whose presentation times (ms) are ``times_ms``, duplicates and backward
    steps included; decode times stay non-decreasing (what a muxer accepts)."""
    frames = frames_of(len(times_ms), seed=3)
    tb = Fraction(1, 1000)
    with av.open(path, "w", format=fmt) as out:
        s = _add_video(out, "ffv1", "yuv420p", W, H, FPS, time_base=tb)
        packets = []
        for i, f in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")
            vf.pts, vf.time_base = i, tb
            packets += s.encode(vf)
        packets += s.encode(None)
        dts = 0
        for p, t in zip(packets, times_ms):
            dts = min(max(dts, 0), t)  # non-decreasing and never above the pts
            p.pts, p.dts = t, dts
            out.mux(p)


def write_resolution_change(path: str, sizes: list[tuple[int, int]], fmt: str | None = None) -> None:
    """One H.264 stream whose frame size changes between segments (in-band parameter sets)."""
    with av.open(path, "w", format=fmt) as out:
        s = _add_video(out, "libx264", "yuv420p", *sizes[0], FPS)
        out.start_encoding()
        pts = 0
        for k, (w, h) in enumerate(sizes):
            enc = av.CodecContext.create("libx264", "w")
            enc.width, enc.height, enc.pix_fmt = w, h, "yuv420p"
            enc.time_base = Fraction(1, FPS)
            enc.framerate = Fraction(FPS)
            enc.options = {"preset": "ultrafast", "crf": "20", "x264-params": "repeat-headers=1"}
            for f in frames_of(5, w, h, seed=k):
                vf = av.VideoFrame.from_ndarray(f, format="rgb24")
                vf.pts, vf.time_base = pts, Fraction(1, FPS)
                pts += 1
                for p in enc.encode(vf):
                    p.stream = s
                    out.mux(p)
            for p in enc.encode(None):
                p.stream = s
                out.mux(p)


def write_audio_only(path: str, fmt: str | None = None) -> None:
    with av.open(path, "w", format=fmt) as out:
        _mux_audio(out, _add_audio(out), 0.5)


def _flip(data: bytes, positions, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    b = bytearray(data)
    for p in positions:
        b[p] ^= int(rng.integers(1, 256))
    return bytes(b)


def _huge_size(data: bytes, ext: str) -> bytes:
    """Claim an absurd size in the first length field the container has."""
    b = bytearray(data)
    if ext in ("mp4", "mov"):
        i = data.find(b"mdat") if ext == "mp4" else data.find(b"moov")
        b[i - 4:i] = b"\x7f\xff\xff\xf0"
    elif ext in ("mkv", "webm", "ffv1.mkv"):
        i = data.find(b"\x18\x53\x80\x67")  # Segment: its size says 2^56 - 2
        b[i + 4:i + 12] = b"\x01\x00\xff\xff\xff\xff\xff\xfe"
    elif ext == "avi":
        b[4:8] = b"\xf0\xff\xff\x7f"  # RIFF size
    elif ext == "gif":
        b[6:10] = b"\xff\xff\xff\xff"  # logical screen 65535x65535
    else:
        b[len(b) // 2: len(b) // 2 + 8] = b"\xff" * 8
    return bytes(b)


def build_corpus(folder: str) -> list[Case]:
    """Write every case into ``folder`` and return them (300)."""
    os.makedirs(folder, exist_ok=True)
    cases: list[Case] = []

    def add(name: str, data: bytes, kind: str, frames: int | None, src: str = "") -> None:
        path = os.path.join(folder, name)
        with open(path, "wb") as f:
            f.write(data)
        cases.append(Case(name, path, kind, frames, src))

    def add_written(name: str, kind: str, frames: int | None, writer) -> None:
        path = os.path.join(folder, name)
        writer(path)
        cases.append(Case(name, path, kind, frames, name.rsplit(".", 1)[-1]))

    clean = frames_of(N)
    sources = {}
    for key, (codec, pix_fmt, audio) in SOURCES.items():
        path = os.path.join(folder, f"clean.{key}")
        write_clip(path, clean, codec, pix_fmt, audio=audio)
        cases.append(Case(f"clean.{key}", path, "clean", N, key))
        sources[key] = open(path, "rb").read()

    for key, data in sources.items():
        ext = key.rsplit(".", 1)[-1]
        n = len(data)
        for frac in TRUNCATE_AT:
            add(f"cut{int(frac * 100):02d}.{key}", data[: int(n * frac)], "truncated", N, key)
        for i, (lo, hi) in enumerate(((0, 64), (0, 400), (64, 1200))):
            hi = min(hi, n)
            add(f"head{i}.{key}", _flip(data, range(lo, hi, max(1, (hi - lo) // 6)), i), "flipped-header", N, key)
        for i, frac in enumerate((0.35, 0.5, 0.7)):
            at = int(n * frac)
            add(f"mid{i}.{key}", _flip(data, range(at, min(at + 48, n), 7), 10 + i), "flipped-middle", N, key)
        add(f"huge.{key}", _huge_size(data, key), "huge-size", N, key)
        wrong = {"mp4": "mkv", "mkv": "mp4", "webm": "mov", "mov": "avi", "avi": "ts", "nut": "mp4",
                 "ts": "mkv", "gif": "mp4"}.get(ext, "webm")
        add(f"ext-{key.replace('.', '-')}.{wrong}", data, "wrong-extension", N, key)

    add("empty.mp4", b"", "zero-length", None)
    add("empty.mkv", b"", "zero-length", None)
    add("garbage.mkv", np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes(),
        "garbage", None)
    add("text.mp4", b"hello, this is not a video\n" * 20, "garbage", None)

    for w, h in ((1, 1), (3, 5), (4097, 8)):
        for key in ("ffv1.mkv", "mp4"):
            codec, pix = ("ffv1", "yuv444p") if key == "ffv1.mkv" else ("libx264", "yuv444p")
            if key == "mp4" and w > 4096:
                pix = "yuv420p"
                w, h = 4098, 8
            add_written(f"size{w}x{h}.{key}", "odd-size", 4,
                        lambda p, w=w, h=h, c=codec, x=pix: write_clip(p, frames_of(4, w, h), c, x))
    for n in (1, 2):
        for key, (codec, pix_fmt, _) in SOURCES.items():
            if key in ("mp4", "mkv", "ffv1.mkv", "gif", "ts", "webm"):
                add_written(f"frames{n}.{key}", "short", n,
                            lambda p, n=n, c=codec, x=pix_fmt: write_clip(p, frames_of(n), c, x))
    for name, times in (("dup", [0, 83, 83, 166, 250, 250, 333, 416]),
                        ("back", [0, 83, 166, 400, 250, 333, 500, 583]),
                        ("jumpy", [0, 10, 500, 510, 1500, 1501, 1502, 2000])):
        for key in ("mkv", "nut", "mp4"):
            add_written(f"vfr-{name}.{key}", "vfr", len(times), lambda p, t=times: write_vfr(p, t))
    for key in ("mkv", "mp4", "ts"):
        add_written(f"audio-only.{key}", "audio-only", None, write_audio_only)
    for key in ("ts", "mkv"):
        add_written(f"res-change.{key}", "resolution-change", 15,
                    lambda p: write_resolution_change(p, [(32, 24), (48, 32), (32, 24)]))
    return cases


def decodable_frames(path: str) -> int:
    """Frames plain PyAV decodes from ``path`` before its first error (0 if none)."""
    n = 0
    try:
        with av.open(path) as c:
            if not c.streams.video:
                return 0
            for packet in c.demux(c.streams.video[0]):
                for _ in packet.decode():
                    n += 1
    except Exception:  # noqa: BLE001 - the oracle counts what decodes, whatever stops it
        pass
    return n
