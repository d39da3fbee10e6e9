"""The reader on damaged and unusual input, and the ffmpeg-style options of `framemend clean`:
time ranges with audio cut to match, --frames, --threads, log levels and the summary, probe."""
import io
import json
import os
import re
import subprocess
import sys
from fractions import Fraction

import av
import cv2
import numba
import numpy as np
import pytest
import torch

from framemend.cli import main
from framemend.video import VideoReader, read_video, write_video
from fuzz_corpus import write_audio_only, write_resolution_change, write_vfr
from media import make_video, moving_frames, stdin_from, stream_summary

CLI = [sys.executable, "-m", "framemend.cli"]


def run_main(capsys, *argv):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.err


def test_cut_matroska_with_audio_fails_and_says_where(tmp_path, capsys):
    src = str(tmp_path / "full.mkv")
    make_video(src, moving_frames(100, 64, 48), 24, audio_seconds=100 / 24)
    data = open(src, "rb").read()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(data[: len(data) // 2])
    out = tmp_path / "o.mkv"
    code, err = run_main(capsys, "clean", cut, "-o", out, "-f", "identity")
    n = stream_summary(str(out))["frames"]
    assert code == 1 and err.count("\n") == 1, err
    assert f"after frame {n} (at " in err and "frames before it" in err
    assert 20 < n < 80


def test_mp4_on_a_pipe_gets_the_documented_limitation(tmp_path):
    src = str(tmp_path / "in.mp4")
    make_video(src, moving_frames(100, 320, 240), 24)
    out = tmp_path / "o.mkv"
    done = subprocess.run(CLI + ["clean", "-", "-o", str(out), "-f", "identity"],
                          input=open(src, "rb").read(), capture_output=True, timeout=120)
    err = done.stderr.decode()
    assert done.returncode == 1 and err.count("\n") == 1, err
    assert "can only be read from a file" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4"]


def test_resolution_change_is_scaled_to_the_first_size(tmp_path, capsys):
    src, out = str(tmp_path / "res.ts"), str(tmp_path / "o.mkv")
    write_resolution_change(src, [(32, 24), (64, 48)])
    code, err = run_main(capsys, "clean", src, "-o", out, "-f", "identity", "--lossless")
    assert code == 0 and "changes size mid-stream at frame 5 (32x24 -> 64x48)" in err
    got = read_video(out)[0]
    assert got.shape == (10, 24, 32, 3)
    big = [a for a, _ in _plain_frames(src)][5:]
    for frame, want in zip(got[5:], big):
        small = cv2.resize(want, (32, 24), interpolation=cv2.INTER_AREA)
        assert np.abs(frame.astype(int) - small).mean() < 3


def _alpha_clip(path, codec, pix_fmt, frames, alpha=128, options=None):
    """``frames`` (uint8 RGB) with an alpha plane of ``alpha`` (or ``alpha[i]`` for frame i),
    encoded as ``pix_fmt`` (with the encoder's ``options``)."""
    with av.open(path, "w") as out:
        s = out.add_stream(codec, rate=12, options=options)
        s.width, s.height, s.pix_fmt = frames.shape[2], frames.shape[1], pix_fmt
        for i, rgb in enumerate(frames):
            a = alpha[i] if isinstance(alpha, list) else alpha
            rgba = np.dstack([rgb, np.full(rgb.shape[:2], a, np.uint8)])
            vf = av.VideoFrame.from_ndarray(rgba, format="rgba").reformat(format=pix_fmt)
            vf.pts = i
            out.mux(s.encode(vf))
        out.mux(s.encode(None))


@pytest.mark.parametrize("name, codec, pix_fmt, said", [
    ("a.mov", "png", "rgba", "(rgba)"),
    ("a.mkv", "ffv1", "yuva420p", "(yuva420p)"),
    ("a.webm", "libvpx-vp9", "yuva420p", "(VP9 alpha)"),  # decoded without it: only a tag says
])
def test_alpha_is_said_to_be_dropped(tmp_path, capsys, name, codec, pix_fmt, said):
    """framemend cleans colour: a clip with an alpha channel is cleaned, and a warning says the
    output has none (it was dropped without a word)."""
    src, out = str(tmp_path / name), str(tmp_path / "o.mkv")
    frames = moving_frames(3, 48, 32)
    _alpha_clip(src, codec, pix_fmt, frames)
    code, err = run_main(capsys, "clean", src, "-o", out, "-f", "identity")
    assert code == 0 and f"has an alpha channel {said}" in err and "output is opaque" in err
    assert stream_summary(out)["frames"] == 3


ALPHA_KINDS = [("a.mov", "png", "rgba", None), ("a.mkv", "ffv1", "yuva420p", None),
               ("a.mov", "qtrle", "argb", None), ("b.mkv", "ffv1", "yuva444p16le", None),
               ("a.mov", "prores_ks", "yuva444p10le", {"profile": "4444"})]


@pytest.mark.parametrize("name, codec, pix_fmt, options", ALPHA_KINDS)
def test_alpha_that_shows_after_the_first_frame_is_said(tmp_path, capsys, name, codec, pix_fmt,
                                                         options):
    """Only the first picture was looked at: a clip opaque there and transparent later (a
    title fading out over nothing) lost its alpha without a word. Each picture is looked at
    until one is less than opaque, and the warning says from which frame; an opaque one (ProRes
    4444 decodes its 10-bit alpha as 12 bits) has nothing said."""
    src, out = str(tmp_path / name), str(tmp_path / "o.mkv")
    _alpha_clip(src, codec, pix_fmt, moving_frames(5, 48, 32), alpha=[255, 255, 255, 128, 0],
                options=options)
    code, err = run_main(capsys, "clean", src, "-o", out, "-f", "identity", "-q")
    said = [line for line in err.splitlines() if "alpha" in line]
    assert code == 0 and said == [
        f"framemend: warning: '{src}' has an alpha channel ({VideoReader(src).info.pix_fmt}, "
        "less than opaque from frame 3): framemend cleans the colour and writes no alpha; the "
        "output is opaque"], err
    _alpha_clip(src, codec, pix_fmt, moving_frames(5, 48, 32), alpha=255, options=options)
    code, err = run_main(capsys, "clean", src, "-o", out, "-f", "identity", "-q", "-y")
    assert code == 0 and "alpha" not in err, err


@pytest.mark.parametrize("name, width", [("rgb.mkv", 35), ("palette.gif", 50)])
def test_rgb_and_palette_sources_of_any_width_go_through_deflicker(tmp_path, capsys, name, width):
    """FFV1 RGB (framemend's own --lossless output) and GIF pictures are made RGB by swscale,
    whose rows are padded: unless their width*3 was a multiple of its alignment, deflicker's
    kernel raised a numba typing error (a traceback) on such non-contiguous rows."""
    src, out = str(tmp_path / name), str(tmp_path / "o.mkv")
    write_video(src, moving_frames(4, width, 24), 12, lossless=name.endswith(".mkv"))
    assert all(a.flags.c_contiguous for a, _ in VideoReader(src).arrays())
    code, err = run_main(capsys, "clean", src, "-o", out, "-f", "deflicker", "-q")
    assert code == 0, err
    assert stream_summary(out)["frames"] == 4


@pytest.mark.parametrize("name", ["opaque.mov", "palette.gif"])
def test_opaque_alpha_is_not_reported(tmp_path, capsys, name):
    """FFmpeg decodes every GIF as bgra, and RGBA PNG may be all opaque: nothing is lost."""
    src, out = str(tmp_path / name), str(tmp_path / "o.mkv")
    if name.endswith(".gif"):
        write_video(src, moving_frames(3, 48, 32), 12)
    else:
        _alpha_clip(src, "png", "rgba", moving_frames(3, 48, 32), alpha=255)
    code, err = run_main(capsys, "clean", src, "-o", out, "-f", "identity", "-q")
    assert code == 0 and "alpha" not in err, err


def _plain_frames(path):
    with av.open(path) as c:
        for f in c.decode(video=0):
            yield f.to_ndarray(format="rgb24"), f.time


@pytest.mark.parametrize("times", [[0, 83, 83, 166, 250, 250, 333], [0, 83, 166, 400, 250, 333, 500]])
def test_duplicate_and_backward_timestamps_become_increasing(tmp_path, capsys, times):
    src, out = str(tmp_path / "vfr.mkv"), str(tmp_path / "o.mkv")
    write_vfr(src, times)
    code, err = run_main(capsys, "clean", src, "-o", out, "-f", "denoise")
    assert code == 0 and "duplicate or backward timestamp" in err
    got = stream_summary(out)["times"]
    assert len(got) == len(times) and all(b > a for a, b in zip(got, got[1:]))


@pytest.fixture(scope="module")
def ranged_source(tmp_path_factory):
    """48 lossless frames at 24 fps with 2 s of audio."""
    folder = tmp_path_factory.mktemp("range")
    src = str(folder / "src.mkv")
    make_video(src, moving_frames(48, 64, 48), 24, audio_seconds=2.0, codec="ffv1",
               pix_fmt="yuv444p")
    return src, read_video(src)[0]


@pytest.mark.parametrize("argv, first, count", [
    (["-ss", "0.5", "-t", "1"], 12, 24),
    (["--start", "0:00.75", "--end", "1.5"], 18, 18),
    (["--frames", "10"], 0, 10),
    (["-ss", "1", "--frames", "5"], 24, 5),
])
def test_time_ranges_cut_video_and_audio(ranged_source, tmp_path, capsys, argv, first, count):
    src, frames = ranged_source
    out = str(tmp_path / "o.mkv")
    code, err = run_main(capsys, "clean", src, "-o", out, "-f", "identity", "--lossless", *argv)
    assert code == 0, err
    s = stream_summary(out)
    assert s["frames"] == count and s["times"][0] == 0
    got = read_video(out)[0][0].astype(int)
    errors = [np.abs(got - f).mean() for f in frames]
    assert errors[first] < 0.5 and int(np.argmin(errors)) == first
    assert abs(s["audio"]["end"] - count / 24) < 0.05  # within about two AAC packets


def test_range_past_the_end_is_an_error(ranged_source, tmp_path, capsys):
    code, err = run_main(capsys, "clean", ranged_source[0], "-o", tmp_path / "o.mkv", "-ss", "5")
    assert code == 1 and "no frames in the range" in err and not (tmp_path / "o.mkv").exists()


@pytest.mark.parametrize("ext, sound", [(".mp4", None), (".mkv", 2.0), (".nut", 2.0),
                                        (".ts", None)])
def test_a_start_past_the_end_says_where_the_video_ends(tmp_path, capsys, ext, sound):
    """``-ss 5`` on a 1 s clip said only "no frames in the range asked for (from 5 s)"; the
    end is the last frame skipped, in -ss's clock (NUT's container length is the audio's)."""
    src = str(tmp_path / f"a{ext}")
    make_video(src, moving_frames(24, 32, 24), 24, audio_seconds=sound)
    code, err = run_main(capsys, "clean", src, "-o", tmp_path / "o.mkv", "-f", "identity",
                         "-ss", "5")
    said = re.search(r"no frames in the range asked for \(from 5 s\): the video ends at "
                     r"([0-9.]+) s\n", err)
    assert code == 1 and said, err
    assert 1 <= float(said[1]) <= 1 + 1 / 24 + 1e-3  # AAC's priming delays NUT's video


@pytest.mark.parametrize("start, count", [(0.5, 12), (0.25, 18)])
def test_a_start_in_a_nut_file_is_no_damage(tmp_path, capsys, start, count):
    """A seek in some NUT files logs FFmpeg's "read_timestamp failed.": that was taken for
    damage, and ``-ss 0.5`` wrote 12 frames with "is damaged: decoding stopped after frame 12
    (read_timestamp failed.)" (``-ss 5``: "damaged ... after frame 0", no frames)."""
    src = str(tmp_path / "a.nut")
    make_video(src, moving_frames(24, 32, 24), 24)
    out = str(tmp_path / "o.mkv")
    code, err = run_main(capsys, "clean", src, "-o", out, "-f", "identity", "-ss", str(start))
    assert code == 0 and "damaged" not in err and "warning" not in err, err
    assert stream_summary(out)["frames"] == count


@pytest.mark.parametrize("argv, words", [
    (["-ss", "1", "--end", "0.5"], "is not after"),
    (["-ss", "1:x"], "invalid time"),
    (["--frames", "0"], "invalid count"),
    (["--threads", "-2"], "invalid count"),
    (["-t", "1", "--end", "2"], "not allowed with"),
    (["-v", "loud"], "invalid choice"),
])
def test_bad_range_and_level_options_are_usage_errors(ranged_source, tmp_path, capsys, argv, words):
    code, err = run_main(capsys, "clean", ranged_source[0], "-o", tmp_path / "o.mkv", *argv)
    assert code == 2 and words in err and err.count("\n") == 1


def test_threads_caps_torch_opencv_and_numba(ranged_source, tmp_path, capsys):
    before = torch.get_num_threads(), cv2.getNumThreads(), numba.get_num_threads()
    try:
        code, _ = run_main(capsys, "clean", ranged_source[0], "-o", tmp_path / "o.mkv",
                           "-f", "denoise", "--threads", "1", "--frames", "4")
        assert code == 0
        assert (torch.get_num_threads(), cv2.getNumThreads(), numba.get_num_threads()) == (1, 1, 1)
    finally:
        torch.set_num_threads(before[0])
        cv2.setNumThreads(before[1])
        numba.set_num_threads(before[2])


def test_summary_line_and_log_levels(ranged_source, tmp_path, capsys):
    src = ranged_source[0]
    code, err = run_main(capsys, "clean", src, "-o", tmp_path / "a.mkv", "-f", "identity")
    assert code == 0 and err.count("\n") == 1  # stderr is not a terminal here
    assert "48 frames in, 48 out" in err and " fps, " in err and "KiB" in err
    for argv in (["-q"], ["-v", "warning"], ["-v", "quiet"]):
        code, err = run_main(capsys, "clean", src, "-o", tmp_path / f"{argv[-1]}.mkv", *argv,
                             "-f", "identity")
        assert code == 0 and err == ""
    (tmp_path / "taken.mkv").write_bytes(b"x")
    code, err = run_main(capsys, "clean", src, "-o", tmp_path / "taken.mkv", "-v", "quiet")
    assert code == 1 and err == ""
    code, err = run_main(capsys, "clean", src, "-o", tmp_path / "taken.mkv", "-v", "error")
    assert code == 1 and err.startswith("framemend: error:")


def test_probe_lists_every_stream(tmp_path, capsys):
    path = str(tmp_path / "multi.mkv")
    with av.open(path, "w") as o:
        v = o.add_stream("ffv1", rate=12)
        v.width, v.height, v.pix_fmt = 32, 24, "yuv420p"
        a = o.add_stream("aac", rate=16000)
        a.layout = "mono"
        s = o.add_stream("ass")
        s.metadata["language"] = "eng"
        s.codec_context.subtitle_header = (b"[Script Info]\nScriptType: v4.00+\n\n[Events]\n"
                                           b"Format: Layer, Start, End, Style, Text\n")
        for i, f in enumerate(moving_frames(6, 32, 24)):
            vf = av.VideoFrame.from_ndarray(f, format="rgb24")
            vf.pts = i
            o.mux(v.encode(vf))
        o.mux(v.encode(None))
    assert main(["probe", path]) == 0
    out = capsys.readouterr().out
    for words in ("#0 video: ffv1, 32x24, yuv420p, 12.0 fps", "#1 audio: aac, 16000 Hz, 1 ch",
                  "#2 subtitle: ssa, language eng"):
        assert words in out
    assert main(["probe", path, "--json"]) == 0
    streams = json.loads(capsys.readouterr().out)["streams"]
    assert [s["type"] for s in streams] == ["video", "audio", "subtitle"]
    assert streams[1]["sample_rate"] == 16000 and streams[0]["width"] == 32


@pytest.mark.parametrize("ext", [".mkv", ".webm", ".mp4"])
@pytest.mark.parametrize("frames, sound", [(24, 0.064), (12, 1.5)])
def test_probe_gives_each_stream_its_own_duration(tmp_path, capsys, ext, frames, sound):
    """Matroska leaves the streams' durations unset: probe gave the audio the video's (a
    0.064 s sound beside 1 s of video: 1.0 s) and the video the longest stream's; each is
    its own, within an AAC or Opus frame of priming (21 ms)."""
    path = str(tmp_path / f"a{ext}")
    make_video(path, moving_frames(frames, 32, 24), 24, audio_seconds=sound,
               codec="libvpx-vp9" if ext == ".webm" else "libx264",
               audio_codecs=("libopus",) if ext == ".webm" else ("aac",))
    assert main(["probe", path, "--json"]) == 0
    described = json.loads(capsys.readouterr().out)
    video, audio = described["streams"]
    assert abs(described["duration"] - frames / 24) < 0.01
    assert abs(video["duration"] - frames / 24) < 0.01
    assert -0.001 < described["audio"]["duration"] - sound < 0.025
    assert audio["duration"] == round(described["audio"]["duration"], 3)


@pytest.mark.parametrize("ext", [".nut", ".flv"])
@pytest.mark.parametrize("frames, sound", [(24, 0.064), (12, 1.5), (48, 3.5)])
def test_probe_of_a_file_without_stream_durations_gives_the_videos_own(tmp_path, capsys, ext,
                                                                        frames, sound):
    """NUT and FLV give no stream its duration: probe said the container's, the longest
    stream's (0.5 s of video beside 1.5 s of audio: 1.515 s; NUT's end is its last packet's
    start: 0.980 s for 1 s of video beside 0.064 s). The frames are counted by decoding there,
    and their length is the video's duration, as Matroska's tags give it."""
    path = str(tmp_path / f"a{ext}")
    make_video(path, moving_frames(frames, 32, 24), 24, audio_seconds=sound)
    assert main(["probe", path, "--json"]) == 0
    described = json.loads(capsys.readouterr().out)
    assert described["frames"] == frames
    assert abs(described["duration"] - frames / 24) < 0.002, described["duration"]


@pytest.mark.parametrize("sound, options", [(0.75, {}), (None, {}),
                                           (0.75, {"bframes": "3", "preset": "medium"})])
def test_probe_of_an_avi_says_the_frames_it_holds(tmp_path, capsys, sound, options):
    """An H.264 AVI beside AAC, without B-frames, holds an empty index slot after frame 0:
    probe said its declared 25 frames for the 24 pictures that the reader decodes and
    ``clean`` writes. Its video packets are counted now; the length is the slots' span, as the
    reader times the pictures (the first shown for two slots beside AAC)."""
    path = str(tmp_path / "a.avi")
    make_video(path, moving_frames(24, 32, 24), 24, audio_seconds=sound, options=options)
    assert main(["probe", path, "--json"]) == 0
    described = json.loads(capsys.readouterr().out)
    reader = VideoReader(path)
    assert described["frames"] == reader.count() == 24
    slots = 25 if sound and not options else 24
    assert abs(described["duration"] - slots / 24) < 0.002, described["duration"]
    assert abs(reader.decoded_seconds() - slots / 24) < 0.002


@pytest.mark.parametrize("sound, options", [(None, {}), (0.75, {}),
                                           (None, {"bframes": "3", "preset": "medium"}),
                                           (0.75, {"bframes": "3", "preset": "medium"})])
def test_h264_in_avi_is_timed_by_its_index(tmp_path, capsys, sound, options):
    """FFmpeg times H.264 in AVI a slot after its index (pts = dts + 1 frame; 2 beside AAC's
    empty slot; with B-frames out of order: 'duplicate or backward timestamp'), so ``clean``
    wrote the pictures a frame or two after their sound (flash and click at 0.5 s in the
    source: 0.542 s against 0.500 s). The reader takes the index's times: the ones the muxer
    was given, as an MP4 of the same frames says them."""
    src, out = str(tmp_path / "in.avi"), str(tmp_path / "out.mkv")
    make_video(src, moving_frames(24, 32, 24), 24, audio_seconds=sound, options=options)
    assert main(["clean", src, "-o", out, "-f", "identity", "-q"]) == 0
    assert capsys.readouterr().err == ""
    # beside AAC the muxer moves the video a slot later for the AAC's priming (21 ms, rounded
    # up to a slot) and FFmpeg's AVI muxer leaves frame 0 at slot 0
    late = [0] + [1] * 23 if sound and not options else [0] * 24
    expected = [(k + d) / 24 for k, d in enumerate(late)]
    assert stream_summary(out)["times"] == pytest.approx(expected, abs=1e-3)
    frames = read_video(out)[0]
    assert np.abs(frames.astype(int) - moving_frames(24, 32, 24)).mean() < 3  # in their order


@pytest.mark.parametrize("codec", ["mpeg4", "mpeg2video"])
def test_b_frames_of_mpeg4_and_mpeg2_in_avi_are_timed_by_the_index(tmp_path, capsys, codec):
    """FFmpeg times MPEG-4 Part 2 and MPEG-2 with B-frames in AVI as it times H.264 there, a
    slot after the index: the pictures came out a frame after their sound (a flash at 0.5 s
    written at 0.542 s beside PCM's click at 0.500 s). They take the index's slots now."""
    src, out = str(tmp_path / "in.avi"), str(tmp_path / "out.mkv")
    frames = moving_frames(24, 48, 32)
    with av.open(src, "w") as o:
        s = o.add_stream(codec, rate=24)
        s.width, s.height, s.pix_fmt = 48, 32, "yuv420p"
        s.codec_context.max_b_frames = 2
        for pts, rgb in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            vf.pts, vf.time_base = pts, Fraction(1, 24)
            o.mux(s.encode(vf))
        o.mux(s.encode(None))
    with av.open(src) as c:  # as FFmpeg times them: from one slot on
        assert next(c.decode(video=0)).pts == 1
    assert main(["clean", src, "-o", out, "-f", "identity", "-q"]) == 0
    assert capsys.readouterr().err == ""
    assert stream_summary(out)["times"] == pytest.approx([k / 24 for k in range(24)], abs=1e-3)
    got = read_video(out)[0].astype(int)
    off = [np.abs(got - np.roll(frames, d, axis=0)).mean(axis=(1, 2, 3)) for d in (-1, 0, 1)]
    assert (off[1] < np.minimum(off[0], off[2])).all()  # each picture nearest its own: in order


def _from_100_s(n: int) -> list[float]:
    """The times of ``n`` frames at 24 fps from 100 s."""
    return [100 + i / 24 for i in range(n)]


@pytest.mark.parametrize("ext, codec, n", [(".mkv", "ffv1", 8), (".nut", "ffv1", 8),
                                           (".mp4", "libx264", 8), (".mkv", "libx264", 4)])
def test_the_duration_of_a_clip_that_starts_late_is_its_length(tmp_path, capsys, ext, codec, n):
    """Matroska and NUT declare where the file ends: 8 frames from 100 s were said to last
    100.3 s (probe), and the progress bar of ``clean`` counted 2408 frames for them. 4 H.264
    frames without B-frames: FFmpeg leaves the start unset (too few pictures to trust their
    times) and gives the end as the stream's duration: 100.167 s, the start not said."""
    path = str(tmp_path / f"late{ext}")
    make_video(path, moving_frames(n, 32, 24), 24, times=_from_100_s(n), codec=codec)
    assert main(["probe", path, "--json"]) == 0
    described = json.loads(capsys.readouterr().out)
    assert abs(described["duration"] - n / 24) < 0.05
    assert abs(described["start_time"] - 100) < 1e-3
    assert abs(described["streams"][0].get("duration", n / 24) - n / 24) < 0.05
    reader = VideoReader(path)
    assert abs(reader.info.duration - n / 24) < 0.05  # what the progress bar counts from
    assert len(list(reader)) == n


@pytest.mark.parametrize("codec, n, argv, frames", [
    ("ffv1", 8, ["-t", "0.2"], 5), ("ffv1", 8, ["-ss", "0.1"], 5),
    ("ffv1", 8, ["-ss", "0.1", "-t", "0.1"], 2),
    ("libx264", 4, ["-t", "0.1"], 3), ("libx264", 4, ["-ss", "0.05"], 2)])
def test_a_range_counts_from_the_files_start(tmp_path, capsys, codec, n, argv, frames):
    """-ss/-t counted from time 0, not the file's first timestamp (as ffmpeg counts): on 8 frames
    from 100 s (an MPEG-TS recording starts at 1.4 s), `-t 0.2` was "no frames in the range
    asked for (from 0 s to 0.2 s)" and `-ss 0.1` kept all 8; on 4 H.264 frames, whose start
    FFmpeg leaves unset, the same (`-t 0.1` nothing, `-ss 0.05` all 4)."""
    src, out = str(tmp_path / "late.mkv"), str(tmp_path / "o.mkv")
    make_video(src, moving_frames(n, 32, 24), 24, times=_from_100_s(n), codec=codec)
    code, err = run_main(capsys, "clean", src, "-o", out, "-f", "identity", "-q", *argv)
    assert code == 0, err
    times = stream_summary(out)["times"]
    assert len(times) == frames and times[0] == 0


def test_probe_of_a_file_without_video_lists_its_streams(tmp_path, capsys):
    """An audio file: its streams are listed, then the reason it cannot be cleaned (exit 1)."""
    audio = str(tmp_path / "a.mkv")
    write_audio_only(audio)
    assert main(["probe", audio]) == 1
    captured = capsys.readouterr()
    assert "video       none" in captured.out and "#0 audio: aac, 16000 Hz" in captured.out
    assert captured.err.strip() == (f"framemend: error: cannot read '{audio}': it has no video "
                                    "stream (only audio)")
    assert main(["probe", audio, "--json"]) == 1
    described = json.loads(capsys.readouterr().out)
    assert described["video"] is None and [s["type"] for s in described["streams"]] == ["audio"]


def test_reader_turns_odd_inputs_into_video_errors(tmp_path):
    from framemend.video import VideoError

    audio = str(tmp_path / "a.mkv")
    write_audio_only(audio)
    with pytest.raises(VideoError, match="no video stream \\(only audio\\)"):
        VideoReader(audio)
    one = str(tmp_path / "one.mkv")
    write_video(one, moving_frames(1, 33, 17), 24, lossless=True)
    assert read_video(one)[0].shape == (1, 17, 33, 3)


def test_reader_dropped_mid_stream_does_not_hang(tmp_path):
    """Freeing an H.264 decoder whose frames are still alive while FFmpeg's error counting is
    on deadlocked (its frame threads wait for the GIL): probe, a range's end and an error before
    reading all drop a reader mid-stream."""
    src = str(tmp_path / "in.mp4")
    make_video(src, moving_frames(60, 320, 240), 24)
    script = ("import sys\nfrom framemend.video import VideoReader, read_video\n"
              "import framemend\n"
              f"assert framemend.probe({src!r}).frames == 60\n"
              f"r = VideoReader({src!r}); kept = [f for f, _ in zip(r, range(3))]; del r\n"
              f"r = VideoReader({src!r}); del r\nprint('done')\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == b"done", done.stderr.decode()


def test_an_mp4_edit_list_that_starts_inside_the_video_is_not_damage(tmp_path, capsys):
    """A cut made without re-encoding (``ffmpeg -ss 0.125 -c copy``) keeps the frames before
    its start as references, which its edit list hides: the 21 frames shown were written but
    the run failed, "ended early ... of the 24 frames it declares"."""
    plain, cut, out = (str(tmp_path / n) for n in ("plain.mp4", "cut.mp4", "out.mp4"))
    make_video(plain, moving_frames(24, 32, 24), 24, audio_seconds=1.0)
    with av.open(plain) as i, av.open(cut, "w") as o:
        streams = {s.index: o.add_stream_from_template(s) for s in i.streams}
        for p in i.demux():
            if p.dts is not None:
                shift = round(0.125 / p.time_base)  # 3 frames before the edit's start
                p.pts, p.dts, p.stream = p.pts - shift, p.dts - shift, streams[p.stream_index]
                o.mux(p)
    assert main(["clean", cut, "-o", out, "-f", "identity", "-q"]) == 0
    assert capsys.readouterr().err == ""
    assert stream_summary(out)["times"] == stream_summary(cut)["times"] == \
        pytest.approx([i / 24 for i in range(21)], abs=1e-3)


@pytest.mark.parametrize("ext", ["mkv", "nut", "webm"])
def test_a_matroska_or_nut_file_that_starts_late_is_not_cut(tmp_path, capsys, ext):
    """Their header's duration is where they end, not how long they last from their first
    frame: a file whose frames start at 0.5 s (a TS recording remuxed) "ended early"."""
    src, out = str(tmp_path / f"late.{ext}"), str(tmp_path / "out.mkv")
    with av.open(src, "w") as o:
        s = o.add_stream("libvpx-vp9" if ext == "webm" else "ffv1", rate=24)
        s.width, s.height, s.pix_fmt = 32, 24, "yuv420p"
        for i, rgb in enumerate(moving_frames(12, 32, 24)):
            vf = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            vf.pts, vf.time_base = 12 + i, Fraction(1, 24)
            o.mux(s.encode(vf))
        o.mux(s.encode(None))
    assert main(["clean", src, "-o", out, "-f", "identity", "-q"]) == 0
    assert capsys.readouterr().err == ""
    assert stream_summary(out)["times"][0] == pytest.approx(0.5, abs=1e-3)


@pytest.mark.parametrize("sound", [None, 1.0])
def test_an_flv_whose_pictures_start_after_its_first_packet_is_not_cut(tmp_path, capsys, sound):
    """FLV's duration runs from its first packet's decoding time: H.264 with B-frames shows
    its first picture 83 ms after it, and every such file "ended early ... at 1.08 s of the
    1.17 s it declares" (exit 1, a failure in a batch). A cut one still says so."""
    src, out = str(tmp_path / "in.flv"), str(tmp_path / "out.mkv")
    make_video(src, moving_frames(24, 32, 24), 24, audio_seconds=sound,
               options={"bframes": "3", "preset": "medium"})
    assert main(["clean", src, "-o", out, "-f", "identity", "-q"]) == 0
    assert capsys.readouterr().err == ""
    assert len(stream_summary(out)["times"]) == 24
    code, err = _clean_cut_copy(src, os.path.getsize(src) * 2 // 3, tmp_path, capsys)
    assert code == 1 and re.search("ended early|is damaged", err)


@pytest.mark.parametrize("made", ["slot_left_empty", "h264_with_aac"])
def test_an_avi_whose_index_holds_an_empty_slot_is_not_cut(tmp_path, capsys, made):
    """An AVI's frame count counts the slots of its index that hold no picture (a null chunk:
    the frame before is shown again), for which FFmpeg gives no packet: such a file (H.264 with
    AAC as FFmpeg muxes it holds one after its first frame) "ended early ... of the 9 frames it
    declares", a failure in a folder batch; a cut one still says so."""
    src, out = str(tmp_path / "in.avi"), str(tmp_path / "out.mkv")
    if made == "h264_with_aac":
        make_video(src, moving_frames(8, 48, 32), fps=25, audio_seconds=0.3)
    else:
        with av.open(src, "w") as o:
            s = o.add_stream("mpeg4", rate=25)
            s.width, s.height, s.pix_fmt = 48, 32, "yuv420p"
            for pts, rgb in zip([0, 2, 3, 4, 5, 6, 7, 8], moving_frames(8, 48, 32)):
                vf = av.VideoFrame.from_ndarray(rgb, format="rgb24")
                vf.pts, vf.time_base = pts, Fraction(1, 25)
                o.mux(s.encode(vf))
            o.mux(s.encode(None))
    with av.open(src) as c:  # the file is as described: 9 slots, 8 pictures
        assert c.streams.video[0].frames == 9
        where = [p.pos for p in c.demux(video=0) if p.size]
        assert len(where) == 8
    assert main(["clean", src, "-o", out, "-f", "identity", "-q"]) == 0
    assert capsys.readouterr().err == ""
    assert len(stream_summary(out)["times"]) == 8
    assert "ended early" in _clean_cut_copy(src, where[5], tmp_path, capsys)[1]  # five pictures


def _clean_cut_copy(src, size, tmp_path, capsys):
    """``framemend clean``'s exit code and error output on the first ``size`` bytes of ``src``
    (the file cut short), into an MKV."""
    cut = str(tmp_path / ("cut" + os.path.splitext(src)[1]))
    with open(src, "rb") as f, open(cut, "wb") as o:
        o.write(f.read(size))
    code = main(["clean", cut, "-o", str(tmp_path / "cut.mkv"), "-f", "identity", "-q"])
    return code, capsys.readouterr().err


@pytest.mark.parametrize("ext", ["ts", "mkv", "mp4"])
def test_a_clip_cut_inside_a_group_of_pictures_is_not_damage(tmp_path, capsys, ext):
    """Its first packets need pictures from before the cut: the frames after them were written
    and the run failed, "damaged" or "ended early"; now a warning says what was lost."""
    whole, cut, out = (str(tmp_path / n) for n in ("whole.mp4", f"cut.{ext}", "out.mkv"))
    make_video(whole, moving_frames(16, 32, 24), options={"g": "8"})
    with av.open(whole) as i, av.open(cut, "w") as o:
        s = o.add_stream_from_template(i.streams.video[0])
        for p in [p for p in i.demux() if p.dts is not None][3:]:  # 5 frames before frame 8
            p.stream = s
            o.mux(p)
    assert main(["clean", cut, "-o", out, "-f", "identity", "-q"]) == 0
    assert capsys.readouterr().err.endswith(
        "starts 5 frames before its first keyframe (it was cut inside a group of pictures): "
        "5 of them cannot be decoded and are left out\n")
    assert len(stream_summary(out)["times"]) == 8


def test_an_interlaced_input_is_said(tmp_path, capsys):
    """Its field order was dropped without a word: the output is progressive, and a player
    that deinterlaced the input shows the output's combing."""
    src, out = str(tmp_path / "fields.mp4"), str(tmp_path / "out.mp4")
    make_video(src, moving_frames(3, 32, 24), fps=25, options={"x264-params": "tff=1"})
    assert main(["clean", src, "-o", out, "-f", "identity", "-q"]) == 0
    assert capsys.readouterr().err == (
        f"framemend: warning: '{src}' is marked interlaced (top field first): framemend cleans "
        "whole frames and writes them progressive, combing included; deinterlace it first "
        "(e.g. ffmpeg -vf bwdif)\n")


def _animated_webp(path, durations, alpha=None, loop=0):
    """An animated lossless WebP of ``moving_frames`` with per-frame ``durations`` (ms), RGBA
    with ``alpha`` as its alpha plane when given, played ``loop`` times (0: for ever); returns
    its RGB frames."""
    from PIL import Image  # noqa: PLC0415

    frames = moving_frames(len(durations), 48, 32)
    planes = [np.dstack([f, alpha]) if alpha is not None else f for f in frames]
    images = [Image.fromarray(p) for p in planes]
    images[0].save(path, save_all=True, append_images=images[1:], duration=durations,
                   lossless=True, loop=loop)
    return frames


def test_an_animated_webp_is_read_with_its_times_and_pixels(tmp_path, capsys):
    """FFmpeg's WebP decoder reads stills only: an animated WebP (ComfyUI's SaveAnimatedWEBP)
    failed with "'x.webp' is damaged: decoding stopped after frame 0" and no output. Now every
    frame, at its own time (a duration under 20 ms shown for 100 ms, as FFmpeg's GIF reader
    does), with its exact pixels; transparency is said as for any input with alpha."""
    src, out = str(tmp_path / "a.webp"), str(tmp_path / "o.mkv")
    frames = _animated_webp(src, [40, 80, 0, 40, 120])
    code, err = run_main(capsys, "clean", src, "-o", out, "-f", "identity", "--lossless", "-q")
    assert code == 0 and err == "", err
    assert [round(t * 1000) for t in stream_summary(out)["times"]] == [0, 40, 120, 220, 260]
    assert np.array_equal(np.stack([f for f, _ in _plain_frames(out)]), frames)
    assert np.array_equal(read_video(src)[0], frames)  # framemend.read too
    alpha = np.full((32, 48), 255, np.uint8)
    alpha[:, :8] = 0
    _animated_webp(src, [40] * 3, alpha)
    code, err = run_main(capsys, "clean", src, "-o", out, "-f", "identity", "--overwrite", "-q")
    assert code == 0 and "has an alpha channel" in err and "output is opaque" in err, err


@pytest.mark.parametrize("kind", ["webp", "apng"])
def test_an_animated_webp_or_apng_from_a_pipe_is_read(tmp_path, capsys, monkeypatch, kind):
    """From stdin an animated WebP "is damaged: decoding stopped after frame 0" (FFmpeg's
    decoder; a file is read through Pillow) and an APNG was "not a video (Function not
    implemented)" (its demuxer seeks): both are read into memory first now."""
    from PIL import Image  # noqa: PLC0415

    src, out = str(tmp_path / f"a.{kind}"), str(tmp_path / "o.mkv")
    if kind == "webp":
        frames = _animated_webp(src, [40, 80, 40])
    else:
        frames = moving_frames(3, 48, 32)
        images = [Image.fromarray(f) for f in frames]
        images[0].save(src, format="PNG", save_all=True, append_images=images[1:],
                       duration=[40, 80, 40])
    stdin_from(monkeypatch, src)
    code, err = run_main(capsys, "clean", "-", "-o", out, "-f", "identity", "--lossless", "-q")
    assert code == 0 and err == "", err
    assert [round(t * 1000) for t in stream_summary(out)["times"]] == [0, 40, 120]
    assert np.array_equal(np.stack([f for f, _ in _plain_frames(out)]), frames)


def test_a_cut_animated_webp_is_one_line(tmp_path, capsys):
    src = tmp_path / "a.webp"
    _animated_webp(str(src), [40] * 6)
    cut = tmp_path / "cut.webp"
    cut.write_bytes(src.read_bytes()[: src.stat().st_size // 2])
    code, err = run_main(capsys, "clean", cut, "-o", tmp_path / "o.mp4", "-f", "identity")
    assert code == 1 and err.count("\n") == 1, err
    assert "cannot read the animated WebP" in err and "damaged or cut short" in err
    assert not (tmp_path / "o.mp4").exists()


@pytest.mark.parametrize(("plays", "repeats"), [(0, 0), (1, None), (3, 2)])
def test_an_animated_webps_loop_count_goes_into_a_gif(tmp_path, plays, repeats):
    """A WebP that plays once or three times came out a GIF looping for ever: WebP's count of
    plays is now GIF's count of repeats after the first (none: plays once); 0 (for ever) stays
    0."""
    from PIL import Image  # noqa: PLC0415

    src, out = tmp_path / "a.webp", tmp_path / "o.gif"
    _animated_webp(str(src), [40] * 3, loop=plays)
    assert main(["clean", str(src), "-o", str(out), "-f", "identity", "-q"]) == 0
    with Image.open(out) as image:
        assert image.info.get("loop") == repeats and image.n_frames == 3


def test_probe_of_an_animated_webp_says_webp(tmp_path, capsys):
    """probe said the codec and tags of the temporary FFV1 Matroska file an animated WebP is
    read through (``codec ffv1 (bgra, 8-bit)``, ``ENCODER: Lavf...``), not the file's."""
    src = str(tmp_path / "a.webp")
    _animated_webp(src, [40] * 3)
    code = main(["probe", src])
    out = capsys.readouterr().out
    assert code == 0 and "codec       webp (bgra, 8-bit)" in out and "#0 video: webp," in out, out
    assert main(["probe", "--json", src]) == 0
    got = json.loads(capsys.readouterr().out)
    assert (got["codec"], got["streams"][0]["codec"], got["metadata"]) == ("webp", "webp", {})


def test_a_numbered_image_pattern_is_told_how_to_make_a_video(tmp_path, capsys):
    """ffmpeg's name for a sequence of images (frame_%04d.png) was "does not exist", which does
    not say that framemend reads video files only, nor how to make one of the frames."""
    pattern = str(tmp_path / "frame_%04d.png")
    code, err = run_main(capsys, "clean", pattern, "-o", tmp_path / "o.mp4")
    assert code == 1 and err.count("\n") == 1, err
    assert "not numbered images" in err and f"ffmpeg -framerate 24 -i '{pattern}'" in err
    code, err = run_main(capsys, "clean", tmp_path / "none.mp4", "-o", tmp_path / "o.mp4")
    assert code == 1 and err.endswith("does not exist\n"), err


def test_a_quoted_pattern_of_frames_is_told_how_to_make_a_video(tmp_path, capsys):
    """``clean 'frames/*.png'`` (quoted, so no shell expanded it) was told to clean the folder
    with ``--glob '*.png'``, which makes each frame a clip of one frame. Now the ffmpeg command
    that makes the matched frames one video; a pattern that also matches a video keeps the
    folder advice."""
    import cv2

    for i in range(3):
        cv2.imwrite(str(tmp_path / f"frame_{i:04d}.png"), moving_frames(1, 8, 8)[0])
    pattern = str(tmp_path / "frame_*.png")
    code, err = run_main(capsys, "clean", pattern, "-o", tmp_path / "o.mp4")
    assert code == 1 and err.count("\n") == 1, err
    assert f"'{pattern}' does not exist: it is a pattern that no shell expanded, and it " \
           "matches 3 images and no video: framemend cleans video files, not image sequences" \
           in err and f"-pattern_type glob -i '{pattern}' -c:v ffv1 frames.mkv" in err
    assert "--glob" not in err and not (tmp_path / "o.mp4").exists()
    make_video(str(tmp_path / "frame_9.mp4"), moving_frames(2, 16, 16), 12)
    code, err = run_main(capsys, "clean", str(tmp_path / "frame_*"), "-o", tmp_path / "o.mp4")
    assert code == 1 and "(matching 4 files)" in err and "--glob 'frame_*'" in err, err


def test_a_start_inside_an_mpeg_ts_recording_decodes_from_its_keyframe(tmp_path, capsys):
    """MPEG-TS has no index: FFmpeg's seek lands on the picture nearest the time, not on a
    keyframe, and nothing decodes from there. `-ss` on a TS recording with one keyframe a GOP
    (x264's default: one in 250; B-frames, as broadcast and OBS recordings have) was "no
    frames in the range asked for", or "damaged ... (co located POCs unavailable)" on
    framemend's own TS output. Now the same frames as the whole file's from the start on."""
    src = str(tmp_path / "rec.ts")
    make_video(src, moving_frames(30, 64, 48), 24, audio_seconds=1.25, options={"bframes": "2"})
    whole = str(tmp_path / "whole.mkv")
    assert run_main(capsys, "clean", src, "-o", whole, "-f", "identity", "--lossless")[0] == 0
    times = stream_summary(src)["times"]
    for start in (0.3, 0.75):
        out = str(tmp_path / f"from{start}.mkv")
        code, err = run_main(capsys, "clean", src, "-o", out, "-ss", start, "-f", "identity",
                             "--lossless", "-q")
        assert code == 0 and err == "", err
        skipped = sum(t < start for t in times)
        got = np.stack([f for f, _ in _plain_frames(out)])
        assert np.array_equal(got, np.stack([f for f, _ in _plain_frames(whole)])[skipped:])
        assert stream_summary(out)["times"][0] == 0 and stream_summary(out)["audio"]


@pytest.mark.parametrize("argv", [["-t", "0.8"], ["--frames", "10"]])
def test_a_range_keeps_the_audio_a_muxer_put_after_its_last_frame(tmp_path, capsys, argv):
    """A muxer may put audio up to about a second after the video of the same time (MPEG-PS:
    DVD, camcorders). The reader stopped reading at the range's last frame, so a `-t 0.8` or
    `--frames 10` of such an .mpg had an audio stream with no packet at all (an AVI lost its
    last 30-50 ms). Now it reads on for them: the audio ends within one MP2 frame (24 ms) of
    the video, as a TS or MP4 range does."""
    src, out = str(tmp_path / "dvd.mpg"), str(tmp_path / "o.mkv")
    make_video(src, moving_frames(48, 64, 48), 24, codec="mpeg2video", audio_seconds=2,
               audio_codecs=("mp2",))
    code, err = run_main(capsys, "clean", src, "-o", out, "-f", "identity", "-q", *argv)
    assert code == 0 and err == "", err
    summary = stream_summary(out)
    video_end = summary["times"][-1] + 1 / 24
    assert summary["audio"] and abs(summary["audio"]["end"] - video_end) < 0.025, summary["audio"]


@pytest.mark.parametrize("codec", ["libx264", "wmv2"])
def test_an_asf_cut_by_half_ends_early(tmp_path, capsys, codec):
    """FFmpeg keeps an ASF's declared length only when the file is within 5 % of the size its
    header declares: an ASF cut in half read to its cut with no word and exit 0. Its header's
    play duration is now the length the frames must reach."""
    src = str(tmp_path / "in.wmv")
    noise = np.random.default_rng(5).integers(0, 256, (24, 96, 128, 3), dtype=np.uint8)
    make_video(src, noise, 24, codec=codec)  # a frame over many ASF packets
    with av.open(src) as c:
        where = [p.pos for p in c.demux(video=0) if p.size]
    assert main(["clean", src, "-o", str(tmp_path / "whole.mkv"), "-f", "identity", "-q"]) == 0
    assert capsys.readouterr().err == ""
    code, err = _clean_cut_copy(src, where[12], tmp_path, capsys)
    assert code == 1 and "ended early" in err and "of the 1.00 s it declares" in err, err


@pytest.mark.parametrize("options", [{}, {"bframes": "3", "preset": "medium"}])
def test_h264_in_asf_with_b_frames_is_in_order_and_whole(tmp_path, capsys, options):
    """ASF gives each H.264 packet its sending time (one frame after its decoding time), so
    with B-frames the pictures came out of order ('duplicate or backward timestamp'), and
    beside AAC the file 'ended early' (exit 1), its header counting the showing times. The
    k-th picture shown now takes the k-th packet time: evenly spaced, as without B-frames."""
    src, out = str(tmp_path / "in.wmv"), str(tmp_path / "out.mkv")
    make_video(src, moving_frames(24, 32, 24), 24, audio_seconds=1.0, options=options)
    assert main(["clean", src, "-o", out, "-f", "identity", "-q"]) == 0
    assert capsys.readouterr().err == ""
    times = stream_summary(out)["times"]
    assert len(times) == 24 and np.allclose(np.diff(times), 1 / 24, atol=1.5e-3), times
    frames = read_video(out)[0]
    assert np.abs(frames.astype(int) - moving_frames(24, 32, 24)).mean() < 3  # in their order
