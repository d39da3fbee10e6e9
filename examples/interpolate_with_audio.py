"""Raise a clip from 8 to 24 fps and keep its sound, in sync.

``framemend clean IN -o OUT -f interpolate=fps=24`` (or ``framemend.clean(path, chain=...)``)
decodes the video, makes the in-between frames and copies the audio stream untouched; the new
frames keep the source's start time, so sound and picture still line up.

    python examples/interpolate_with_audio.py --quick
    python examples/interpolate_with_audio.py IN.mp4 OUT.mp4 [--fps 24]

``--quick`` makes a 2-second 8 fps clip with a 440 Hz tone (PyAV), interpolates it and prints the
frame count, the durations of both streams, their start times and the tone's frequency after.
"""
from __future__ import annotations

import argparse
import os
import tempfile
from fractions import Fraction

import av
import numpy as np

import framemend
from framemend.generate import scene

TONE_HZ = 440.0


def make_clip(path: str, fps: int = 8, seconds: float = 2.0, rate: int = 48000) -> None:
    """An H.264 clip of a pan at ``fps`` with a stereo AAC sine tone as long as the video."""
    frames = (scene("pan", width=160, height=96, frames=int(fps * seconds), fps=fps).frames
              * 255 + 0.5).astype(np.uint8)
    with av.open(path, "w") as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = 160, 96, "yuv420p"
        audio = out.add_stream("aac", rate=rate)
        audio.layout = "stereo"
        # open the encoders now, so the muxer has fixed each stream's time base before the
        # first packet is stamped (stamped earlier, a later packet can land seconds off)
        out.start_encoding()
        for i, f in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(f, format="rgb24")
            vf.pts = i
            vf.time_base = Fraction(1, fps)
            out.mux(video.encode(vf))
        out.mux(video.encode(None))
        n = int(seconds * rate)
        tone = (0.2 * np.sin(2 * np.pi * TONE_HZ * np.arange(n) / rate)).astype(np.float32)
        for start in range(0, n, 1024):
            af = av.AudioFrame.from_ndarray(np.stack([tone[start:start + 1024]] * 2),
                                            format="fltp", layout="stereo")
            af.sample_rate, af.pts, af.time_base = rate, start, Fraction(1, rate)
            out.mux(audio.encode(af))
        out.mux(audio.encode(None))


def streams(path: str) -> dict:
    """Frame count, rate, and each stream's start and duration in seconds; the tone's peak
    (``audio_seconds`` None for a clip without sound)."""
    with av.open(path) as f:
        vs = f.streams.video[0]
        times = [frame.time for frame in f.decode(vs)]
        fps = float(vs.average_rate)  # (a stream is freed with its file: read it here)
        video = {"frames": len(times), "fps": fps,
                 "video_start": times[0], "video_seconds": times[-1] - times[0] + 1 / fps,
                 "audio_seconds": None}
        if not f.streams.audio:
            return video
        aud = f.streams.audio[0]
        f.seek(0)
        samples = np.concatenate([a.to_ndarray()[0] for a in f.decode(aud)])
        audio_start = float(aud.start_time * aud.time_base)
        rate = aud.codec_context.sample_rate
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    return {**video, "audio_start": audio_start, "audio_seconds": samples.size / rate,
            "tone_hz": float(np.argmax(spectrum) * rate / samples.size)}


def report(label: str, s: dict) -> None:
    audio = ("no audio" if s["audio_seconds"] is None else
             f"audio {s['audio_seconds']:.3f} s from {s['audio_start']:+.3f} s, "
             f"tone {s['tone_hz']:.0f} Hz")
    print(f"{label}: {s['frames']} frames at {s['fps']:g} fps, video {s['video_seconds']:.3f} s "
          f"from {s['video_start']:+.3f} s, {audio}")


def interpolate(src: str, dst: str, fps: float) -> None:
    framemend.clean(src, chain=f"interpolate=fps={fps:g}", output=dst, overwrite=True)
    report("input ", streams(src))
    report("output", streams(dst))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input", nargs="?")
    parser.add_argument("output", nargs="?")
    parser.add_argument("--fps", type=float, default=24.0, help="output frame rate")
    parser.add_argument("--quick", action="store_true", help="run on a small generated clip")
    args = parser.parse_args()
    if args.quick:
        with tempfile.TemporaryDirectory() as tmp:
            make_clip(os.path.join(tmp, "in.mp4"))
            interpolate(os.path.join(tmp, "in.mp4"), os.path.join(tmp, "out.mp4"), args.fps)
    elif args.input and args.output:
        try:
            interpolate(args.input, args.output, args.fps)
        except (framemend.VideoError, framemend.OptionError, OSError) as e:
            parser.exit(1, f"{parser.prog}: error: {e}\n")
    else:
        parser.error("give INPUT and OUTPUT, or --quick")
