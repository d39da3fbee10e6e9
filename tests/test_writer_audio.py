"""Audio and subtitles through ``framemend clean``: every audio stream kept, in every container
that is asked for, copied where the container holds its codec and re-encoded (with a warning)
where not; subtitle streams copied where the container holds them, text ones re-encoded to the
container's text subtitles (mov_text, SubRip, WebVTT) where it holds another, else left out with a
warning."""
from fractions import Fraction

import av
import numpy as np
import pytest

from framemend.cli import main
from framemend.pipeline import clean_file
from media import make_video, moving_frames, stdin_from


def audio_streams(path: str) -> list[dict]:
    """Each audio stream of ``path``: codec, channels, packets, seconds it spans, its tone (Hz)."""
    out = []
    with av.open(path) as c:
        for s in c.streams.audio:
            out.append({"codec": s.codec_context.codec.canonical_name,
                        "channels": s.codec_context.channels, "index": s.index})
    for d in out:
        with av.open(path) as c:
            s = c.streams[d["index"]]
            frames = list(c.decode(s))  # AAC and Opus decode to planar floats
            samples = np.concatenate([f.to_ndarray()[0] for f in frames]).astype(np.float64)
            rate = s.codec_context.sample_rate
        spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
        d["seconds"] = sum(f.samples for f in frames) / rate
        d["tone"] = float(np.argmax(spectrum) * rate / samples.size)
    return out


@pytest.fixture(scope="module")
def two_tracks(tmp_path_factory):
    """12 frames at 12 fps with two audio tracks of 1 s: AAC at 440 Hz, Opus at 660 Hz."""
    path = str(tmp_path_factory.mktemp("audio") / "two.mkv")
    make_video(path, moving_frames(12, 48, 32), fps=12, audio_seconds=1.0,
               audio_codecs=("aac", "libopus"))
    return path


@pytest.mark.parametrize("ext, chain, codecs", [
    (".mkv", "identity", ["aac", "opus"]),
    (".mp4", "denoise", ["aac", "opus"]),
    (".mov", "interpolate=2", ["aac", "aac"]),  # MOV cannot hold Opus: re-encoded
    (".webm", "identity", ["opus", "opus"]),    # WebM cannot hold AAC: re-encoded
])
def test_every_audio_stream_is_kept(two_tracks, tmp_path, ext, chain, codecs):
    out = str(tmp_path / f"out{ext}")
    clean_file(two_tracks, out, chain)
    got = audio_streams(out)
    assert [d["codec"] for d in got] == codecs
    assert [round(d["tone"] / 10) * 10 for d in got] == [440, 660]
    for d in got:
        assert d["seconds"] == pytest.approx(1.0, abs=0.06)


@pytest.mark.parametrize("ext, args, said", [
    (".avi", [], True),
    (".avi", ["--codec", "mpeg4"], False),     # read back at its index: in step
    (".avi", ["-f", "identity,interpolate=fps=30"], True),
    (".mkv", [], False),
])
def test_avi_with_sound_says_that_players_disagree_by_a_frame(two_tracks, tmp_path, capsys,
                                                             ext, args, said):
    """FFmpeg's AVI reader times H.264 pictures a frame later than the index (sweep 12: the
    sound 62 ms ahead of the picture at 12 fps as FFmpeg reads it, 21 ms behind as the index
    says); the file was written without a word."""
    out = str(tmp_path / f"out{ext}")
    assert main(["clean", two_tracks, "-o", out, "-f", "identity", "-q", *args]) == 0
    err = capsys.readouterr().err
    if said:
        ms, fps = ("33", "30") if "fps=30" in " ".join(args) else ("83", "12")
        assert (f"AVI gives H.264 pictures no times of their own: players that read it with "
                f"FFmpeg (ffplay, mpv) show each a frame later than players that follow the "
                f"file's index, so the sound is off the picture by up to a frame ({ms} ms at "
                f"{fps} fps) in one or the other; .mkv and .mp4 keep them in step") in err, err
    else:
        assert "AVI gives" not in err, err
    with av.open(out) as c:  # the sound is kept
        assert len(c.streams.audio) == 2


@pytest.mark.parametrize("codec, piped", [("aac", False), ("ac3", False), ("libmp3lame", False),
                                          ("aac", True), ("ac3", True)])
def test_audio_copied_from_an_avi_into_an_avi_keeps_its_times(tmp_path, monkeypatch, codec,
                                                              piped):
    """An AVI input's AAC or AC-3 copied into an AVI was declared fixed-size (the block size
    its wave header gives, 1536 for AAC, taken as the sample size), and read back it was timed
    by its bytes: every packet of 0.5 s of sound at 0 s, its length unknown; AC-3 from a pipe
    too, after files were mended. MP3 was timed right before too."""
    src, out = str(tmp_path / "in.avi"), str(tmp_path / "out.avi")
    make_video(src, moving_frames(12, 48, 32), fps=24, audio_seconds=0.5, audio_codecs=(codec,))
    if piped:
        stdin_from(monkeypatch, src)
    assert main(["clean", "-" if piped else src, "-o", out, "-f", "identity", "-q"]) == 0

    def times(path):
        with av.open(path) as c:
            return [float(p.pts * p.time_base) for p in c.demux(audio=0) if p.size]

    assert times(out) == pytest.approx(times(src), abs=1e-3)
    assert audio_streams(out)[0]["seconds"] == audio_streams(src)[0]["seconds"]


@pytest.mark.parametrize("codec, ext", [
    ("pcm_s16le", ".mp4"),  # the MP4 muxer failed on closing: a traceback
    ("flac", ".mov"),       # the MOV muxer failed on opening: "cannot open the libx264 encoder"
    ("flac", ".ts"),        # MPEG-TS took the stream and wrote it where no demuxer finds it
    ("pcm_s16le", ".ts"),
])
def test_audio_the_container_cannot_hold_is_reencoded(tmp_path, capsys, codec, ext):
    src, out = str(tmp_path / "in.mkv"), str(tmp_path / f"out{ext}")
    make_video(src, moving_frames(6, 48, 32), fps=12, audio_seconds=0.5, sample_rate=44100,
               audio_codecs=(codec,))
    assert main(["clean", src, "-o", out, "-f", "identity", "-q"]) == 0
    got = audio_streams(out)
    assert [d["codec"] for d in got] == ["aac"]
    assert got[0]["seconds"] == pytest.approx(0.5, abs=0.06)
    assert round(got[0]["tone"] / 10) * 10 == 440
    assert f"cannot hold {codec} audio: re-encoding it as aac" in capsys.readouterr().err


def test_a_damaged_packet_of_audio_being_reencoded_is_one_line_and_leaves_nothing(tmp_path,
                                                                                 capsys):
    """A FLAC packet that cannot be decoded, in audio that MPEG-TS makes framemend re-encode,
    was a traceback (going on past it crashed FLAC's decoder); a .mkv copies it as it is."""
    src = str(tmp_path / "in.mkv")
    make_video(src, moving_frames(12, 48, 32), fps=12, audio_seconds=1.0,
               audio_codecs=("flac",))
    with av.open(src) as c:
        spans = [(p.pos, p.size) for p in c.demux(c.streams.audio[0]) if p.size]
    data = bytearray(open(src, "rb").read())
    for pos, size in spans[2:5]:  # each packet's body scrambled, its frame header kept
        body = slice(pos + 8, pos + size - 4)
        data[body] = bytes((b * 7 + 13) & 255 for b in data[body])
    open(src, "wb").write(data)
    out = str(tmp_path / "out.ts")
    assert main(["clean", src, "-o", out, "-f", "identity", "-q"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[-1].startswith("framemend: error: cannot re-encode the input's audio stream #1: "
                              "a damaged packet at ") and err[-1].endswith("copies it as it is")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mkv"]
    assert main(["clean", src, "-o", str(tmp_path / "out.mkv"), "-f", "identity", "-q"]) == 0


def test_gif_output_says_the_sound_is_left_out(two_tracks, tmp_path, capsys):
    out = str(tmp_path / "out.gif")
    assert main(["clean", two_tracks, "-o", out, "-f", "identity", "-q"]) == 0
    err = capsys.readouterr().err
    assert "a GIF holds no sound: the input's audio (2 streams) is left out" in err


def test_a_muxer_that_fails_on_closing_is_one_line_and_leaves_nothing(tmp_path, capsys,
                                                                      monkeypatch):
    """A muxer that takes a stream but cannot finish the file with it (MP4 with PCM when the
    table of what containers hold does not know) is an error, not a traceback."""
    import framemend.video.writer

    monkeypatch.setattr(framemend.video.writer, "holds_audio", lambda fmt, codec: True)
    src, out = str(tmp_path / "in.mkv"), str(tmp_path / "out.mp4")
    make_video(src, moving_frames(6, 48, 32), fps=12, audio_seconds=0.5,
               audio_codecs=("pcm_s16le",))
    assert main(["clean", src, "-o", out, "-f", "identity", "-q"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"framemend: error: cannot write '{out}': the mp4 muxer could not "
                          "finish it") and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mkv"]


SRT = "1\n00:00:00,000 --> 00:00:00,400\nhello\n\n2\n00:00:00,500 --> 00:00:00,900\nworld\n"


@pytest.fixture
def subtitled(tmp_path):
    """12 frames at 12 fps with a SubRip stream of two lines (copied from an .srt file)."""
    srt, path = tmp_path / "s.srt", str(tmp_path / "subtitled.mkv")
    srt.write_text(SRT)
    frames = moving_frames(12, 48, 32)
    with av.open(str(srt)) as src, av.open(path, "w") as out:
        video = out.add_stream("libx264", rate=12)
        video.width, video.height, video.pix_fmt = 48, 32, "yuv420p"
        text = out.add_stream_from_template(src.streams.subtitles[0])
        lines = [p for p in src.demux(src.streams.subtitles[0]) if p.size]
        for i, rgb in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            vf.pts = i
            out.mux(video.encode(vf))
        out.mux(video.encode(None))
        for p in lines:
            p.stream = text
            out.mux(p)
    return path


def subtitle_lines(path: str) -> list[tuple[bytes, float]]:
    with av.open(path) as c:
        return [(bytes(p), round(float(p.pts * p.time_base), 3))
                for s in c.streams.subtitles for p in c.demux(s) if p.size]


def test_subtitles_are_copied_where_the_container_holds_them(subtitled, tmp_path, capsys):
    """Subtitle streams were left out without a word (the reader read video and audio only)."""
    out = str(tmp_path / "out.mkv")
    assert main(["clean", subtitled, "-o", out, "-f", "denoise", "-q"]) == 0
    assert subtitle_lines(out) == [(b"hello", 0.0), (b"world", 0.5)]
    cut = str(tmp_path / "cut.mkv")  # a range: the lines before it go, the others move with it
    assert main(["clean", subtitled, "-o", cut, "-f", "identity", "-q", "-ss", "0.45"]) == 0
    assert subtitle_lines(cut) == [(b"world", 0.0)]
    for ext in ("avi", "nut"):  # no subtitle codec at all / ASS, whose lines lose their ends
        assert main(["clean", subtitled, "-o", str(tmp_path / f"out.{ext}"), "-f", "identity",
                     "-q"]) == 0
        assert f"{ext} cannot hold subrip subtitles: the input's subtitle stream #1 is left " \
            "out" in capsys.readouterr().err


def bitmap_subtitled(path: str, codec: str) -> None:
    """12 frames at 12 fps with a bitmap subtitle stream (``dvd_subtitle`` or
    ``hdmv_pgs_subtitle``) of two packets shown 0.4 s from 0 and 0.5 s: two DVD packets whose
    bytes are never decoded, or two PGS end-of-display-set segments."""
    with av.open(path, "w") as out:
        video = out.add_stream("libx264", rate=12)
        video.width, video.height, video.pix_fmt = 48, 32, "yuv420p"
        text = out.add_mux_stream(codec)
        text.time_base = Fraction(1, 1000)
        for i, rgb in enumerate(moving_frames(12, 48, 32)):
            vf = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            vf.pts = i
            out.mux(video.encode(vf))
        out.mux(video.encode(None))
        for t, data in ((0, b"first"), (500, b"second")):
            packet = av.Packet(b"\x80\x00\x00" if codec == "hdmv_pgs_subtitle" else data)
            packet.pts = packet.dts = t
            packet.duration = 400
            packet.time_base, packet.stream = Fraction(1, 1000), text
            out.mux(packet)


@pytest.mark.parametrize("codec, ext", [("dvd_subtitle", "mkv"), ("dvd_subtitle", "mp4"),
                                        ("dvd_subtitle", "nut"), ("hdmv_pgs_subtitle", "mkv")])
def test_bitmap_subtitles_are_copied_where_the_container_holds_them(tmp_path, capsys, codec,
                                                                    ext):
    """DVD and Blu-ray (PGS) subtitles were left out even from Matroska ("matroska cannot hold
    dvd_subtitle subtitles"): PyAV lists them as "dvdsub" and "pgssub"."""
    src, out = str(tmp_path / "in.mkv"), str(tmp_path / f"out.{ext}")
    bitmap_subtitled(src, codec)
    assert main(["clean", src, "-o", out, "-f", "identity", "-q"]) == 0
    assert subtitle_lines(out) == subtitle_lines(src)
    assert [t for _, t in subtitle_lines(src)] == [0.0, 0.5]
    assert capsys.readouterr().err == ""
    assert main(["clean", src, "-o", str(tmp_path / "out.mov"), "-f", "identity", "-q"]) == 0
    assert f"mov cannot hold {codec} subtitles" in capsys.readouterr().err  # no bitmap kind


def decoded_subtitles(path: str) -> list[tuple[str, bytes, float, float]]:
    """(codec, text, start, end) of every line of every subtitle stream, decoded."""
    with av.open(path) as c:
        return [(s.codec_context.name, line.dialogue, round(float(p.pts * p.time_base), 3),
                 round(float((p.pts + p.duration) * p.time_base), 3))
                for s in c.streams.subtitles for p in c.demux(s) if p.size
                for line in (s.decode(p) or []) if line.dialogue]


@pytest.mark.parametrize("ext, codec", [("mp4", "mov_text"), ("mov", "mov_text"),
                                        ("webm", "webvtt")])
def test_text_subtitles_are_reencoded_where_the_container_cannot_hold_them(
        subtitled, tmp_path, capsys, ext, codec):
    """SubRip into MP4/MOV (and WebM) was left out with a warning: re-encoded as the text
    subtitles the container holds, at the same times (also after a cut)."""
    out = str(tmp_path / f"out.{ext}")
    assert main(["clean", subtitled, "-o", out, "-f", "identity", "-q"]) == 0
    assert decoded_subtitles(out) == [(codec, b"hello", 0.0, 0.4), (codec, b"world", 0.5, 0.9)]
    assert capsys.readouterr().err == (f"framemend: warning: {ext} cannot hold subrip "
                                       f"subtitles: re-encoding them as {codec}\n")
    back = str(tmp_path / "back.mkv")  # mov_text's empty samples between lines are skipped
    assert main(["clean", out, "-o", back, "-f", "identity", "-q"]) == 0
    kept = "webvtt" if ext == "webm" else "srt"  # WebVTT copied, mov_text re-encoded
    assert decoded_subtitles(back) == [(kept, b"hello", 0.0, 0.4), (kept, b"world", 0.5, 0.9)]
    cut = str(tmp_path / f"cut.{ext}")  # from the frame at 0.5 s
    assert main(["clean", subtitled, "-o", cut, "-f", "identity", "-q", "-ss", "0.45"]) == 0
    assert decoded_subtitles(cut) == [(codec, b"world", 0.0, 0.4)]


def test_streams_left_out_are_said(tmp_path, capsys):
    """A MOV's timecode track (a data stream) and a second video stream were left out without
    a word."""
    path, two = str(tmp_path / "tc.mov"), str(tmp_path / "two.mkv")
    for name, sizes in ((path, [(48, 32)]), (two, [(48, 32), (32, 16)])):
        with av.open(name, "w") as out:
            streams = [out.add_stream("libx264", rate=12) for _ in sizes]
            for video, (w, h) in zip(streams, sizes):
                video.width, video.height, video.pix_fmt = w, h, "yuv420p"
            streams[0].metadata["timecode"] = "01:00:00:00"  # MOV: written as a tmcd track
            for video in streams:
                for i, rgb in enumerate(moving_frames(3, video.width, video.height)):
                    vf = av.VideoFrame.from_ndarray(rgb, format="rgb24")
                    vf.pts = i
                    out.mux(video.encode(vf))
                out.mux(video.encode(None))
    with av.open(path) as c:
        assert [s.type for s in c.streams] == ["video", "data"]
    copies = "framemend copies one video stream, the audio and the subtitles"
    for src, ext, what, why in (
            (path, "mkv", "timecode track 01:00:00:00",
             "framemend keeps a timecode in .mp4 and .mov only"),
            (two, "mp4", "video stream", copies)):
        assert main(["clean", src, "-o", str(tmp_path / f"out.{ext}"), "-f", "identity",
                     "-q"]) == 0
        assert capsys.readouterr().err == f"framemend: warning: the input's {what} (stream #1) " \
            f"is left out: {why}\n"


@pytest.mark.parametrize("ext", ["mov", "mp4"])
def test_a_timecode_track_is_kept_in_mov_and_mp4(tmp_path, capsys, ext):
    """A MOV's timecode track was left out with a warning: MOV and MP4 outputs keep it where
    their first frame is the input's, at its rate; a cut still leaves it out, saying why."""
    path = str(tmp_path / "tc.mov")
    with av.open(path, "w") as mov:
        video = mov.add_stream("libx264", rate=12)
        video.width, video.height, video.pix_fmt = 48, 32, "yuv420p"
        video.metadata["timecode"] = "01:00:00:05"  # written as a tmcd track
        for i, rgb in enumerate(moving_frames(3, 48, 32)):
            vf = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            vf.pts = i
            mov.mux(video.encode(vf))
        mov.mux(video.encode(None))
    out = str(tmp_path / f"out.{ext}")
    assert main(["clean", path, "-o", out, "-f", "identity", "-q"]) == 0
    assert capsys.readouterr().err == ""
    with av.open(out) as c:
        assert [(s.type, s.metadata.get("timecode")) for s in c.streams] == [
            ("video", "01:00:00:05"), ("data", "01:00:00:05")]
    cut = str(tmp_path / f"cut.{ext}")
    assert main(["clean", path, "-o", cut, "-f", "identity", "-q", "-ss", "0.1"]) == 0
    assert capsys.readouterr().err == "framemend: warning: the input's timecode track " \
        "01:00:00:05 (stream #1) is left out: the output does not start at its first frame or " \
        "runs at another rate\n"
    with av.open(cut) as c:
        assert [s.type for s in c.streams] == ["video"]


def test_attachments_are_kept_in_matroska(tmp_path, capsys):
    """A Matroska file's attachments (the fonts its ASS subtitles are drawn with) were left out
    of a .mkv output too."""
    src, out = str(tmp_path / "in.mkv"), str(tmp_path / "out.mkv")
    with av.open(src, "w") as o:
        video = o.add_stream("libx264", rate=12)
        video.width, video.height, video.pix_fmt = 48, 32, "yuv420p"
        o.add_attachment("font.ttf", "font/ttf", b"\x00\x01\x00\x00glyphs")
        for i, rgb in enumerate(moving_frames(3, 48, 32)):
            vf = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            vf.pts = i
            o.mux(video.encode(vf))
        o.mux(video.encode(None))
    assert main(["clean", src, "-o", out, "-f", "identity", "-q"]) == 0
    assert capsys.readouterr().err == ""
    with av.open(out) as c:
        assert [(s.name, s.mimetype, s.data) for s in c.streams if s.type == "attachment"] == \
            [("font.ttf", "font/ttf", b"\x00\x01\x00\x00glyphs")]
    assert main(["clean", src, "-o", str(tmp_path / "out.mp4"), "-f", "identity", "-q"]) == 0
    assert ("the input's attachment font.ttf (stream #1) is left out: framemend keeps "
            "attachments in .mkv only") in capsys.readouterr().err


def test_a_cover_picture_is_kept_in_mp4_and_matroska(tmp_path, capsys):
    """An MP4's cover (covr: a PNG FFmpeg shows as a video stream) was left out as "the
    input's video stream"; a Matroska cover (an image attachment) the same way."""
    plain, src = str(tmp_path / "plain.mp4"), str(tmp_path / "in.mp4")
    make_video(plain, moving_frames(4, 48, 32), fps=12)
    cover = av.CodecContext.create("png", "w")
    cover.width, cover.height, cover.pix_fmt = 8, 8, "rgb24"
    png = bytes(cover.encode(av.VideoFrame.from_ndarray(np.full((8, 8, 3), 200, np.uint8),
                                                         format="rgb24"))[0])
    with av.open(plain) as i, av.open(src, "w") as o:
        video = o.add_stream_from_template(i.streams.video[0])
        art = o.add_stream("png")
        art.width, art.height, art.pix_fmt = 8, 8, "rgb24"
        art.disposition = av.stream.Disposition.attached_pic
        picture = av.Packet(png)
        picture.stream = art
        o.mux(picture)
        for p in i.demux(i.streams.video[0]):
            if p.dts is not None:
                p.stream = video
                o.mux(p)
    mp4, mkv = str(tmp_path / "out.mp4"), str(tmp_path / "out.mkv")
    for out in (mp4, mkv):
        assert main(["clean", src, "-o", out, "-f", "identity", "-q"]) == 0
    assert capsys.readouterr().err == ""
    with av.open(mp4) as c:
        art = c.streams.video[1]
        assert art.disposition & av.stream.Disposition.attached_pic
        assert [bytes(p) for p in c.demux(art) if p.size] == [png]
    with av.open(mkv) as c:  # FFmpeg shows an image attachment as a cover stream again
        art = c.streams.video[1]
        assert (art.disposition & av.stream.Disposition.attached_pic, art.metadata["mimetype"]) \
            == (av.stream.Disposition.attached_pic, "image/png")
        assert [bytes(p) for p in c.demux(art) if p.size] == [png]
    assert main(["clean", mkv, "-o", str(tmp_path / "back.mp4"), "-f", "identity", "-q"]) == 0
    assert main(["clean", src, "-o", str(tmp_path / "out.mov"), "-f", "identity", "-q"]) == 0
    assert capsys.readouterr().err == ("framemend: warning: the input's cover picture (stream "
                                       "#1) is left out: framemend keeps it in .mp4 and .mkv\n")


def _late_click_clip(path: str, audio_start: float, click: float) -> None:
    """24 grey frames at 24 fps (1 s) in FFV1 with PCM audio from ``audio_start`` s, silent
    but for a click at ``click`` s."""
    rate = 48000
    with av.open(path, "w") as out:
        video = out.add_stream("ffv1", rate=24)
        video.width, video.height, video.pix_fmt = 32, 32, "yuv420p"
        audio = out.add_stream("pcm_s16le", rate=rate)
        audio.layout = "stereo"
        for i in range(24):
            frame = av.VideoFrame.from_ndarray(np.full((32, 32, 3), 90, np.uint8), format="rgb24")
            frame.pts = i
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        samples = np.zeros(int((1 - audio_start) * rate), np.int16)
        at = int(round((click - audio_start) * rate))
        samples[at:at + 24] = 30000
        for start in range(0, len(samples), 1024):
            block = np.ascontiguousarray(np.stack([samples[start:start + 1024]] * 2).T.reshape(1, -1))
            frame = av.AudioFrame.from_ndarray(block, format="s16", layout="stereo")
            frame.sample_rate, frame.time_base = rate, Fraction(1, rate)
            frame.pts = int(round(audio_start * rate)) + start
            out.mux(audio.encode(frame))
        out.mux(audio.encode(None))


def _click_time(path: str) -> float:
    """The time (s) of the first sample of the first audio stream louder than half scale."""
    with av.open(path) as c:
        for frame in c.decode(audio=0):
            loud = np.flatnonzero(np.abs(frame.to_ndarray()[0].astype(np.float64)) >
                                  (0.5 if frame.format.name.startswith("flt") else 16384))
            if loud.size:
                return float(frame.pts * frame.time_base) + loud[0] / frame.sample_rate
    raise AssertionError("no click")


@pytest.mark.parametrize("ext", [".mp4", ".webm"])
def test_re_encoded_audio_keeps_its_start_and_sync(tmp_path, ext):
    """The audio re-encoder restamped every stream from 0: PCM starting 0.3 s after the video
    came out 0.3 s early in .mp4 (AAC) and .webm (Opus, which every AAC input meets), and
    every re-encoded stream was late by its encoder's priming (21 ms AAC, 7 ms Opus). Now a
    click at 0.5 s is at 0.5 s within 2 ms, after a `-ss` too."""
    src = str(tmp_path / "late.mkv")
    _late_click_clip(src, 0.3, 0.5)
    for argv, click in (([], 0.5), (["-ss", "0.25"], 0.25)):
        out = str(tmp_path / f"o{len(argv)}{ext}")
        assert main(["clean", src, "-o", out, "-f", "identity", "-q", *argv]) == 0
        assert audio_streams(out)[0]["codec"] == ("aac" if ext == ".mp4" else "opus")
        assert abs(_click_time(out) - click) < 0.002, _click_time(out)
