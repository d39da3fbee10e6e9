"""The input's file tags, stream tags and dispositions, and chapters through ``framemend clean``
(:mod:`framemend.video.tags`): kept in MKV, MP4 and MOV, chapters cut to the range read."""
from fractions import Fraction

import av
import pytest

from framemend.cli import main
from framemend.pipeline import clean_file
from framemend.video.tags import carried_tags, chapters_from
from media import make_video, moving_frames

Disposition = av.stream.Disposition
FILE_TAGS = {"title": "Holiday", "comment": "take 2", "creation_time": "2024-05-06T07:08:09.000000Z"}


def tag_copy(src: str, dst: str) -> None:
    """Remux ``src`` (video, two audio streams) into ``dst`` with file tags, stream languages and
    titles, the second audio stream the default one, and two chapters (0-0.5 s, 0.5-1 s)."""
    with av.open(src) as i, av.open(dst, "w") as o:
        o.metadata.update(FILE_TAGS)
        out = {s.index: o.add_stream_from_template(s) for s in i.streams}
        for index, (lang, title) in enumerate([("fra", "picture"), ("deu", "German"),
                                               ("eng", "commentary")]):
            out[index].metadata.update(language=lang, title=title)
        out[0].disposition = Disposition.default
        out[1].disposition = Disposition(0)
        out[2].disposition = Disposition.default | Disposition.comment
        o.set_chapters([{"id": k + 1, "start": 500 * k, "end": 500 * (k + 1),
                         "time_base": Fraction(1, 1000), "metadata": {"title": name}}
                        for k, name in enumerate(["Intro", "Main"])])
        for p in i.demux():
            if p.dts is not None:
                p.stream = out[p.stream_index]
                o.mux(p)


def read_tags(path: str) -> dict:
    """File tags (lower-case keys), each stream's language, title (MP4/MOV read it back as
    ``name``) and disposition, and the chapters as (start s, end s, title)."""
    with av.open(path) as c:
        streams = [(s.metadata.get("language"), s.metadata.get("title", s.metadata.get("name")),
                    s.disposition) for s in c.streams if s.type in ("video", "audio")]
        chapters = [(round(float(ch["start"] * ch["time_base"]), 3),
                     round(float(ch["end"] * ch["time_base"]), 3), ch["metadata"].get("title"))
                    for ch in c.chapters()]
        return {"file": {k.lower(): v for k, v in c.metadata.items()}, "streams": streams,
                "chapters": chapters}


@pytest.fixture(scope="module", params=["mkv", "mp4"])
def tagged(request, tmp_path_factory):
    """24 frames at 24 fps, two AAC streams of 1 s, tagged (:func:`tag_copy`), in MKV or MP4."""
    folder = tmp_path_factory.mktemp("tags")
    plain, path = str(folder / "plain.mp4"), str(folder / f"tagged.{request.param}")
    make_video(plain, moving_frames(24, 32, 24), fps=24, audio_seconds=1.0,
               audio_codecs=("aac", "aac"))
    tag_copy(plain, path)
    return path


@pytest.mark.parametrize("ext, chain", [("mkv", "identity"), ("mp4", "interpolate"),
                                        ("mov", "identity")])
def test_tags_dispositions_and_chapters_are_kept(tagged, tmp_path, ext, chain):
    """They were all lost: PyAV's output streams start with none, and nothing gave them."""
    out = str(tmp_path / f"out.{ext}")
    clean_file(tagged, out, chain)
    want, got = read_tags(tagged), read_tags(out)
    for key, value in FILE_TAGS.items():
        assert got["file"][key] == value
    assert [s[1] for s in got["streams"]] == ["picture", "German", "commentary"]
    if ext != "mov":  # the MOV muxer writes no ISO 639 code it cannot map to a Mac one
        assert [s[0] for s in got["streams"]] == ["fra", "deu", "eng"]
    assert [bool(s[2] & Disposition.default) for s in got["streams"]] == [True, False, True]
    assert got["chapters"] == want["chapters"] == [(0.0, 0.5, "Intro"), (0.5, 1.0, "Main")]


def test_chapters_are_cut_to_the_range(tagged, tmp_path):
    """On the output's clock: from the first frame kept, to the range's end."""
    with av.open(tagged) as c:
        times = [float(f.pts * f.time_base) for f in c.decode(video=0)]
    out = str(tmp_path / "cut.mkv")
    clean_file(tagged, out, "identity", start=0.4, end=0.7)
    t0 = min(t for t in times if t >= 0.4)
    assert read_tags(out)["chapters"] == [(0.0, round(0.5 - t0, 3), "Intro"),
                                          (round(0.5 - t0, 3), round(0.7 - t0, 3), "Main")]
    clean_file(tagged, out, "identity", start=0.6, overwrite=True)
    t0 = min(t for t in times if t >= 0.6)
    assert read_tags(out)["chapters"] == [(0.0, round(1 - t0, 3), "Main")]
    # --frames N: cut at the N frames' end (the chapters were kept whole)
    with av.open(tagged) as c:
        rate = float(c.streams.video[0].average_rate)
    clean_file(tagged, out, "identity", max_frames=round(0.3 * rate), overwrite=True)
    assert read_tags(out)["chapters"] == [(0.0, round(round(0.3 * rate) / rate, 3), "Intro")]


def test_a_container_without_chapters_says_so_and_the_mp4_chapter_track_is_no_stream(
        tagged, tmp_path, capsys):
    """An MP4's chapters are read from a text track: that track was said to be a data stream
    left out."""
    assert main(["clean", tagged, "-o", str(tmp_path / "out.avi"), "-f", "identity", "-q"]) == 0
    err = capsys.readouterr().err
    assert "avi cannot hold chapters: the input's 2 chapters are left out" in err
    assert "data stream" not in err


def test_stale_tags_are_not_carried():
    tags = {"title": "t", "ENCODER": "Lavf", "major_brand": "isom", "DURATION": "00:00:01.0",
            "BPS": "100", "rotate": "90", "alpha_mode": "1", "language": "fra"}
    assert carried_tags(tags) == {"title": "t", "language": "fra"}


def test_chapters_from_drops_and_cuts():
    ms = Fraction(1, 1000)
    chapters = [{"id": k, "start": a, "end": b, "time_base": ms, "metadata": {}}
                for k, (a, b) in enumerate([(0, 400), (400, 400), (400, 900), (900, 2000)])]
    got = [(c["start"], c["end"]) for c in chapters_from(chapters, 0.4, 1.0)]
    assert got == [(0, 0), (0, 500), (500, 1000)]  # the first ends where the output starts
