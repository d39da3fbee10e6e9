"""The command line: pipes, folders, probe, filters, and one-line errors for bad input."""
import os
import re
import subprocess
import sys

import av
import numpy as np
import pytest

from framemend.cli import main
from framemend.presets import PRESETS
from framemend.video import read_video, write_video
from media import make_video, moving_frames, stream_summary

CLI = [sys.executable, "-m", "framemend.cli"]


@pytest.fixture
def mkv(tmp_path):
    path = str(tmp_path / "in.mkv")
    write_video(path, moving_frames(24), 24, lossless=True)
    return path


def run_main(capsys, *argv):
    code = main(list(argv))
    err = capsys.readouterr().err
    return code, err


def test_a_pipe_end_that_is_a_terminal_is_refused(mkv, tmp_path, capsys, monkeypatch):
    """``-o -`` with stdout a terminal wrote the Matroska bytes to the screen; ``-`` with stdin
    a terminal (clean, probe) waited for the keyboard."""
    import io

    class Terminal(io.BytesIO):
        def isatty(self):
            return True

    monkeypatch.setattr(sys, "stdin", Terminal())
    for argv in (["clean", "-", "-o", str(tmp_path / "o.mkv"), "-f", "identity"], ["probe", "-"]):
        code, err = run_main(capsys, *argv)
        assert code == 2 and err == ("framemend: error: input '-': stdin is a terminal, not a "
                                     "pipe: send a video in (cat in.mkv | framemend ... - ...) "
                                     "or name the file\n")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)  # capsys's stream, as a terminal
    code, err = run_main(capsys, "clean", mkv, "-o", "-", "-f", "identity")
    assert code == 2 and "-o -: the output is a terminal, not a pipe or a file" in err
    assert os.listdir(tmp_path) == ["in.mkv"]


@pytest.mark.parametrize("part", [["--frames", "5"], ["-ss", "0.5"], ["-ss", "0.5", "--frames", "5"]])
def test_a_range_in_a_terminal_gets_its_progress_bar(mkv, tmp_path, capsys, monkeypatch, part):
    """In a terminal, ``-ss`` or ``--frames`` (a range, whose frame count is not known ahead)
    was tqdm's "TypeError: bool() undefined when iterable == total == None" traceback, exit 1,
    before any frame: the bar without a total was tested for truth."""
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)  # capsys's stream, as a terminal
    out = tmp_path / "o.mkv"
    assert main(["clean", mkv, "-o", str(out), "-f", "identity", *part]) == 0
    err = capsys.readouterr().err
    assert "frame/s" in err or "frame]" in err  # the bar was drawn
    assert stream_summary(str(out))["frames"] == (5 if "--frames" in part else 12)


@pytest.mark.parametrize("ext, sound", [(".nut", 1.75), (".nut", None), (".flv", 1.75),
                                        (".flv", 0.75)])
def test_the_progress_bar_of_nut_and_flv_expects_no_wrong_total(tmp_path, capsys, monkeypatch,
                                                                 ext, sound):
    """NUT and FLV give the video no length of its own: the bar's total came from the
    container's, the longest stream's (42 frames expected for 24 beside 1.75 s of audio; 23 for
    24 NUT frames alone, 25 for FLV's beside 0.75 s)."""
    src = str(tmp_path / f"a{ext}")
    make_video(src, moving_frames(24, 32, 24), 24, audio_seconds=sound)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)  # capsys's stream, as a terminal
    assert main(["clean", src, "-o", str(tmp_path / "o.mkv"), "-f", "identity"]) == 0
    err = capsys.readouterr().err
    assert set(re.findall(r" \d+/(\d+) \[", err)) <= {"24"}, err  # no total, or the true one
    assert re.search(r" 24(/24 |frame )\[", err), err  # the bar counted the 24 frames


def test_pipe_stdin_to_stdout(mkv, tmp_path):
    with open(mkv, "rb") as f:
        done = subprocess.run(CLI + ["clean", "-", "-o", "-", "-f", "identity", "--lossless"],
                              stdin=f, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    out = tmp_path / "piped.mkv"
    out.write_bytes(done.stdout)
    assert np.array_equal(read_video(str(out))[0], read_video(mkv)[0])


def test_nut_to_stdout(mkv, tmp_path):
    done = subprocess.run(CLI + ["clean", mkv, "-o", "-", "-f", "identity", "--format", "nut"],
                          capture_output=True, timeout=120)
    assert done.returncode == 0 and done.stdout[:8].startswith(b"nut/")


def test_folder_in_folder_out_skips_broken_files(tmp_path, capsys):
    src, dst = tmp_path / "clips", tmp_path / "clean"
    src.mkdir()
    for i in range(2):
        make_video(str(src / f"c{i}.mp4"), moving_frames(8, seed=i), 24)
    (src / "broken.mp4").write_bytes(b"not a video at all")
    code, err = run_main(capsys, "clean", str(src), "-o", str(dst), "-f", "identity", "-q")
    assert code == 1 and "broken.mp4" in err
    assert sorted(f for f in os.listdir(dst) if not f.startswith(".")) == ["c0.mp4", "c1.mp4"]
    assert stream_summary(str(dst / "c1.mp4"))["frames"] == 8


def test_probe_reports_what_it_sees(tmp_path, capsys):
    path = str(tmp_path / "a.mp4")
    make_video(path, moving_frames(12, width=80, height=48), fps=12, audio_seconds=1.0)
    assert main(["probe", path]) == 0
    out = capsys.readouterr().out
    for words in ("80x48", "12.000", "frames      12", "8-bit", "aac"):
        assert words in out


def test_probe_shows_the_pixel_shape_and_a_late_start(tmp_path, capsys):
    """A 4:3 pixel shape (kept by the writer, or said to be lost) and a first frame at 100 s were
    not shown; a frame count a Matroska header lacks read ``frames      None``."""
    from fractions import Fraction

    path = str(tmp_path / "sar.mkv")
    make_video(path, moving_frames(8, 64, 48), 24, times=[100 + i / 24 for i in range(8)],
               sar=Fraction(4, 3))
    assert main(["probe", path]) == 0
    out = capsys.readouterr().out
    assert "size        64x48 (pixels 4:3, shown 85x48)\n" in out
    assert "start       100.000 s\n" in out and "None" not in out


def test_filters_lists_options_with_ranges(capsys):
    from framemend.chain.options import option_specs
    from framemend.chain.registry import OPTIONS_GROUP, _declared, all_filters

    assert main(["filters"]) == 0
    lines = capsys.readouterr().out.splitlines()
    for name, cls in all_filters().items():
        header = next(i for i, line in enumerate(lines) if line.split(" ")[0] == name)
        summary = cls.__doc__.strip().splitlines()[0]
        end = next(i for i in range(header + 1, len(lines)) if lines[i][4] != " ")  # its first row
        assert summary in " ".join(line.strip() for line in lines[header:end])  # wrapped at 80
        if name in _declared()[OPTIONS_GROUP]:  # listed from the Options without importing the filter
            assert cls.Options.__doc__ == summary
        for spec in option_specs(cls.Options):
            line = next(line for line in lines[header + 1:] if line.startswith("    " + spec["name"] + " "))
            if spec["choices"]:
                assert "|".join(map(str, spec["choices"])) in line.split()
            elif spec["min"] is not None and spec["max"] is not None:
                assert f"[{spec['min']}, {spec['max']}]" in line
    factor = next(line for line in lines if line.startswith("    factor "))
    assert "[1, 32]" in factor and "default 2" in factor


def test_filters_lists_the_filters_named(capsys):
    """``framemend filters interpolate`` was "unrecognized arguments: interpolate"; it lists
    that filter alone now (a preset's name: its chain and filters), and a mistyped name gets
    the nearest one."""
    assert main(["filters", "interpolate", "denoise"]) == 0
    out = capsys.readouterr().out
    assert [line.split()[0] for line in out.splitlines() if line[:1].isalpha()
            and not line.startswith(("use:", "chain syntax"))] == ["denoise", "interpolate"]
    assert "    factor " in out and "use: framemend clean" in out
    assert main(["filters", "interpolat"]) == 2
    err = capsys.readouterr().err
    assert "unknown filter 'interpolat'; did you mean 'interpolate'?" in err
    assert err.count("\n") == 1
    assert main(["filters", "steady"]) == 0  # a preset: its chain and its filters
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f'preset steady = "{PRESETS["steady"]}"'
    assert [line.split()[0] for line in lines[1:] if line[:1].isalpha() and not line.startswith(
        ("use:", "chain syntax"))] == ["deboil", "deflicker", "denoise", "stabilize"]


def test_filters_table_fits_80_columns_with_its_defaults_in_line(capsys):
    """Help texts ran on to 400 columns, and a long choice list (``auto|global|local|offset``)
    pushed its row's ``default`` out of the column. Every line of the table now fits 80 columns
    (the closing ``use:`` example and syntax lines too) and every option row's ``default``
    starts at the same column."""
    assert main(["filters"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(map(len, lines)) <= 80  # the closing example and syntax too (were 115 and 162)
    table = lines[:next(i for i, line in enumerate(lines) if line.startswith("use: "))]
    rows = [line for line in table if " default " in line and line.startswith("    ")
            and not line.startswith("        ")]
    assert len(rows) > 20 and len({line.index(" default ") for line in rows}) == 1


@pytest.mark.parametrize("argv, code, words", [
    (["clean", "{in}", "-o", "{tmp}/o.mp4", "-f", "identty"], 2, "did you mean 'identity'"),
    (["clean", "{in}", "-o", "{tmp}/o.mp4", "--preset", "nope"], 2, "unknown preset"),
    (["clean", "{tmp}/missing.mp4", "-o", "{tmp}/o.mp4", "-f", "identity"], 1, "does not exist"),
    (["clean", "{tmp}/missing.mp4", "-o", "{in}", "--overwrite", "-f", "identity"], 1, "does not exist"),
    # the missing input is the problem, said before the existing output or its missing folder
    (["clean", "{tmp}/missing.mp4", "-o", "{in}", "-f", "identity"], 1, "input '{tmp}/missing.mp4' does not exist"),
    (["clean", "{tmp}/missing.mp4", "-o", "{tmp}/no/o.mp4"], 1, "input '{tmp}/missing.mp4' does not exist"),
    # a mistyped input folder: the output folder's name was said to lack an extension
    (["clean", "{tmp}/clpis/", "-o", "{tmp}/out/"], 1, "input '{tmp}/clpis/' does not exist"),
    (["clean", "{in}", "-o", "{in}", "-f", "identity", "--overwrite"], 1, "is the input"),
    (["clean", "{in}", "-o", "{tmp}/o.xyz", "-f", "identity"], 2, "unknown extension"),
    (["clean", "{in}", "-o", "{tmp}/o.mp4", "-f", "identity", "--lossless"], 2, "lossless FFV1 cannot go into"),
    (["clean", "{in}", "-o", "{tmp}/o.mp4", "--crf", "x"], 2, "invalid int value"),
    (["clean", "{in}", "-o", "{tmp}/o.mp4", "--device", "tpu"], 2, "--device tpu: use auto, cpu, cuda"),
    (["clean", "{in}", "-o", "{tmp}/o.webm", "--codec", "libx264"], 2, "webm ('{tmp}/o.webm') cannot hold libx264"),
    (["clean", "{in}", "-o", "{tmp}/o.mov", "--lossless"], 2, "lossless FFV1 cannot go into"),
    (["clean", "{in}", "-o", "{tmp}/o.mp4", "--codec", "prores_ks"], 2, "cannot hold prores_ks; it fits in .mkv, .mov"),
    (["clean", "{in}", "-o", "{tmp}/o.mov", "--codec", "ffv1"], 2, "mov ('{tmp}/o.mov') cannot hold ffv1"),
    (["clean", "{in}", "-o", "{tmp}/o.mp4", "--codec", "nosuchcodec"], 2, "unknown video encoder"),
    (["clean", "{in}", "-o", "{tmp}/o.mp4", "--crf", "99"], 2, "--crf 99 is out of range for libx264 (0 to 51)"),
    (["clean", "{in}", "-o", "{tmp}/o.webm", "--crf", "64"], 2, "out of range for libvpx-vp9 (0 to 63)"),
    (["clean", "{in}", "-o", "{tmp}/o.mkv", "--lossless", "--crf", "10"], 2, "--crf does not apply to ffv1"),
    # an empty chain blamed a stray ',' that was not there; an empty preset ran the default one
    (["clean", "{in}", "-o", "{tmp}/o.mp4", "-f", ""], 2, "the chain is empty: name its filters "
     "(e.g. 'deflicker,denoise'), or 'identity' to re-encode only"),
    (["clean", "{in}", "-o", "{tmp}/o.mp4", "-f", "  "], 2, "the chain is empty"),
    (["clean", "{in}", "-o", "{tmp}/o.mp4", "--preset", ""], 2, "unknown preset '' (presets: "),
    (["clean", "{in}", "-o", "{tmp}/o.mp4", "-f", "interpolate=fps=nan"], 2, "'fps' expects a number, got 'nan'"),
    (["clean", "{in}", "-o", "{tmp}/o.mp4", "-f", "realign=region=face:box=10+10+5+5"], 2,
     "realign: option 'box' x0+y0+x1+y1 needs x1 > x0 and y1 > y0, got 10+10+5+5"),
    (["clean", "{in}", "-o", "{tmp}/o.mp4", "-f", "stabilize=mode=subject:box=0+9+20+9"], 2,
     "needs x1 > x0 and y1 > y0"),
    # a typo'd choice gets the nearest one, as a typo'd filter or option name does
    (["clean", "{in}", "-o", "{tmp}/o.mp4", "-f", "deflicker=mode=locl"], 2,
     "option 'mode' must be one of auto|global|local|offset, got 'locl'; did you mean 'local'?"),
    # an option's name alone was taken as the first option's value: "expects a number, got 'sigma'"
    (["clean", "{in}", "-o", "{tmp}/o.mp4", "-f", "denoise=sigma"], 2,
     "denoise: option 'sigma' needs a value, e.g. denoise=sigma=VALUE"),
    # a box written as score's --box takes it (commas) was "unknown filter '10'"
    (["clean", "{in}", "-o", "{tmp}/o.mp4", "-f", "realign=region=face:box=4,10,40,30"], 2,
     "'10' in chain 'realign=region=face:box=4,10,40,30' is no filter: commas separate filters; "
     "join an option's numbers with '+' (box=4+10+40+30)"),
    # two values for one option were told of box (any number after a comma was taken for a list)
    (["clean", "{in}", "-o", "{tmp}/o.mp4", "-f", "interpolate=2,3"], 2,
     "'3' in chain 'interpolate=2,3' is no filter: commas separate filters, and an option takes "
     "one value: interpolate=2 or interpolate=3"),
    (["clean", "{in}", "-o", "{tmp}/o.mp4", "-f", "denoise,3"], 2,
     "commas separate filters; an option's value follows '=' (denoise=3)"),
    # a quoted pattern: "input '.../*.mkv' does not exist" alone
    (["clean", "{tmp}/*.mkv", "-o", "{tmp}/o.mp4"], 1, "input '{tmp}/*.mkv' does not exist: it is "
     "a pattern (matching 1 file) that no shell expanded; framemend cleans one file, or a "
     "folder's videos: framemend clean '{tmp}' -o OUT_FOLDER --glob '*.mkv'"),
    (["clean", "{in}", "-o", "{tmp}/missing/o.mp4"], 1, "folder '{tmp}/missing' does not exist"),
    # a folder's name for one file's output: "unknown extension '(none)'" where it was not there
    (["clean", "{in}", "-o", "{tmp}/missing/"], 2, "output '{tmp}/missing/' is a folder; give a "
     "file name (e.g. {tmp}/missing/in.mkv)"),
    (["clean", "{in}", "-o", "{in}/o.mp4"], 1, "folder '{in}' does not exist"),  # under a file
    (["generate", "-o", "{tmp}/missing/o.mp4"], 1, "folder '{tmp}/missing' does not exist"),
    (["clean", "{in}", "-o", "{tmp}/o.mp4", "-ss", "1e400"], 2,  # was exit 1, "from inf s"
     "argument -ss/--start: invalid time '1e400': a start needs a finite time"),
    (["clean", "{in}", "-o", "{tmp}/o.mp4", "-ss", "1:inf"], 2, "invalid time '1:inf'"),
    # 159 s and 120 s, where ffmpeg refuses both
    (["clean", "{in}", "-o", "{tmp}/o.mp4", "-t", "1:99"], 2, "argument -t: invalid time '1:99' "
     "(seconds, or [HH:]MM:SS[.ms], minutes and seconds below 60)"),
    (["clean", "{in}", "-o", "{tmp}/o.mp4", "-ss", "1.5:30"], 2, "invalid time '1.5:30'"),
    (["clean", "{in}", "-o", "{tmp}/o.mp4", "--end", "0:1:60"], 2, "invalid time '0:1:60'"),
    # the output without -o was argparse's "the following arguments are required: -o/--output"
    (["clean", "{in}", "{tmp}/o.mp4", "-f", "identity"], 2,
     "name the output with -o: framemend clean {in} -o {tmp}/o.mp4"),
    (["clean", "{in}"], 2, "the following arguments are required: -o/--output"),
    # several inputs (a shell's *.mp4) were "unrecognized arguments: b.mp4", or without -o the
    # second input was offered as the output
    (["clean", "{in}", "{in}", "-o", "{tmp}/out"], 2, "clean takes one input, got 2 ({in}, {in}): "
     "put the videos in a folder and clean the folder (framemend clean FOLDER -o OUT_FOLDER"),
    (["clean", "{in}", "{in}"], 2, "clean takes one input, got 2"),
    (["clean", "{in}", "-o", "{tmp}/o.mp4", "stray"], 2, "unrecognized arguments: stray"),
    # a range with a folder: every file was cleaned whole without a word
    (["clean", "{tmp}", "-o", "{tmp}/out", "--frames", "3"], 2,
     "--frames applies to one file: a folder batch cleans each file whole; clean a file alone"),
    (["clean", "{tmp}", "-o", "{tmp}/out", "-ss", "0.1", "-t", "1"], 2, "-ss applies to one file"),
    # a folder option of value 0 with a file was taken as not given (0 == False)
    (["clean", "{in}", "-o", "{tmp}/o.mp4", "--jobs", "0"], 2, "--jobs applies to folders"),
    (["clean", "{in}", "-o", "{tmp}/o.mp4", "--timeout", "0"], 2, "--timeout applies to folders"),
    # --format with a file (the extension chose the container without a word)
    (["clean", "{in}", "-o", "{tmp}/o.mp4", "--format", "nut"], 2,
     "--format applies to '-o -' only: a file's container is the one its extension names "
     "('{tmp}/o.mp4')"),
    # a mistyped command or choice got argparse's list alone
    (["clena", "{in}"], 2, "invalid choice: 'clena' (choose from 'clean', "),
    (["clena", "{in}"], 2, "; did you mean 'clean'?"),
    (["clean", "{in}", "-o", "{tmp}/o.mp4", "-v", "debgu"], 2, "; did you mean 'debug'?"),
])
def test_bad_usage_is_one_line_with_exit_code(mkv, tmp_path, capsys, monkeypatch, argv, code, words):
    argv = [a.format(**{"in": mkv, "tmp": tmp_path}) for a in argv]
    if argv[0] == "generate":  # it must fail before generating anything
        import framemend.generate
        monkeypatch.setattr(framemend.generate, "scene", None)
    got, err = run_main(capsys, *argv)
    assert got == code
    words = words.format(**{"in": mkv, "tmp": tmp_path})
    assert words in err and err.count("\n") == 1 and err.startswith("framemend: error:")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mkv"]  # no output, no temp file


def test_encoder_that_cannot_open_leaves_nothing(mkv, tmp_path, capsys):
    """An encoder this machine cannot open (NVENC without its GPU) is one line, exit 1, and no
    temporary file is left by the writer's set-up."""
    import av

    if "h264_nvenc" not in av.codecs_available:
        pytest.skip("this FFmpeg has no h264_nvenc")
    code, err = run_main(capsys, "clean", mkv, "-o", str(tmp_path / "o.mp4"), "-f", "identity",
                         "--codec", "h264_nvenc")
    if code == 0:
        pytest.skip("NVENC opens on this machine")
    assert code == 1 and err.count("\n") == 1
    assert "cannot open the h264_nvenc encoder for" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mkv"]


def test_unwritable_output_folder(mkv, tmp_path, capsys, monkeypatch):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        if os.access(folder, os.W_OK):  # root: permissions do not stop it; the mkstemp path below
            import tempfile

            def refuse(*args, **kwargs):
                raise PermissionError(13, "Permission denied")
            monkeypatch.setattr(tempfile, "mkstemp", refuse)
        code, err = run_main(capsys, "clean", mkv, "-o", str(folder / "o.mp4"), "-f", "identity")
    finally:
        folder.chmod(0o755)
    assert code == 1 and err.count("\n") == 1
    assert "not writable" in err or "Permission denied" in err
    assert list(folder.iterdir()) == []


def test_existing_output_needs_overwrite(mkv, tmp_path, capsys):
    out = tmp_path / "o.mkv"
    out.write_bytes(b"precious")
    code, err = run_main(capsys, "clean", mkv, "-o", str(out), "-f", "identity")
    assert code == 1 and "(use -y/--overwrite" in err and out.read_bytes() == b"precious"
    assert main(["clean", mkv, "-o", str(out), "-f", "identity", "--overwrite", "-q"]) == 0
    assert stream_summary(str(out))["frames"] == 24
    out.write_bytes(b"precious")  # ffmpeg's -y, which was "unrecognized arguments: -y"
    assert main(["clean", mkv, "-o", str(out), "-f", "identity", "-y", "-q"]) == 0
    assert stream_summary(str(out))["frames"] == 24


SMALL = ["--size", "32x32", "--frames", "2"]


@pytest.mark.parametrize("argv, taken", [
    (["generate", "-o", "{out}"] + SMALL, "{out}"),
    (["generate", "-o", "{tmp}/g.mkv", "--truth", "{out}"] + SMALL, "{out}"),
    (["generate", "-o", "{tmp}/g.mkv", "--truth-data", "{out}"] + SMALL, "{out}"),
    (["score", "{in}", "--plot", "{out}"], "{out}"),
    (["score", "{in}", "--ref", "{in}", "--side-by-side", "{out}"], "{out}"),
    (["demo", "-o", "{tmp}"], "{tmp}/cleaned.mp4"),
], ids=["generate-o", "generate-truth", "generate-truth-data", "score-plot", "score-side-by-side",
        "demo"])
def test_every_command_that_writes_refuses_an_existing_file_as_clean_does(
        mkv, tmp_path, capsys, argv, taken):
    """``generate``'s three outputs, ``score --plot`` and ``--side-by-side`` and ``demo``'s
    videos were replaced without a word (only ``clean`` asked for -y): each now refuses with
    clean's one line and exit 1, writing nothing, and replaces it with -y."""
    fill = {"in": mkv, "tmp": tmp_path, "out": tmp_path / "taken.mp4"}
    if argv[-1] == "{out}" and argv[-2] == "--plot":
        fill["out"] = tmp_path / "taken.png"
    if "--truth-data" in argv:
        fill["out"] = tmp_path / "taken.npz"
    argv = [a.format(**fill) for a in argv]
    taken = taken.format(**fill)
    with open(taken, "wb") as f:
        f.write(b"precious")
    before = sorted(os.listdir(tmp_path))
    code, err = run_main(capsys, *argv)
    assert code == 1 and err == (f"framemend: error: output '{taken}' exists (use -y/--overwrite, "
                                 "or overwrite=True in Python, to replace it)\n"), err
    assert open(taken, "rb").read() == b"precious" and sorted(os.listdir(tmp_path)) == before
    if argv[0] == "demo":  # its -y run is run_demo(overwrite=True), smaller, below
        from framemend.demo import run_demo

        assert main(argv + ["-y", "--preset", "bogus"]) == 2  # -y is its option
        assert run_demo(str(tmp_path), width=64, height=48, frames=6, overwrite=True) == 0
    else:
        assert main(argv + ["-y"]) == 0
    assert os.path.getsize(taken) > 100


def test_plot_per_frame_refuses_an_existing_file_as_write_does(tmp_path):
    """``framemend.metrics.plot_per_frame`` replaced a file without a word; now as
    ``framemend.write``: refused unless ``overwrite=True``."""
    pytest.importorskip("matplotlib")
    from framemend.metrics import plot_per_frame
    from framemend.video import VideoError

    path = tmp_path / "p.png"
    path.write_bytes(b"precious")
    series = {"flicker": {"clip": np.arange(4.0)}}
    with pytest.raises(VideoError, match=r"output '.*p.png' exists \(use -y/--overwrite"):
        plot_per_frame(series, str(path))
    assert path.read_bytes() == b"precious"
    plot_per_frame(series, str(path), overwrite=True)
    assert path.read_bytes()[:4] == b"\x89PNG"


def test_not_a_video_and_zero_frames(tmp_path, capsys):
    text = tmp_path / "notes.mp4"
    text.write_text("hello")
    code, err = run_main(capsys, "clean", str(text), "-o", str(tmp_path / "o.mkv"), "-f", "identity")
    assert code == 1 and "not a video" in err
    empty = str(tmp_path / "empty.mkv")
    with av.open(empty, "w") as c:
        s = c.add_stream("ffv1", rate=24)
        s.width, s.height, s.pix_fmt = 32, 32, "yuv420p"
        c.start_encoding()
    code, err = run_main(capsys, "clean", empty, "-o", str(tmp_path / "o.mkv"), "-f", "identity")
    assert code == 1 and "no decodable video frames" in err
    assert not (tmp_path / "o.mkv").exists()


def test_an_empty_file_is_said_to_be_empty(tmp_path, capsys):
    """A 0-byte file was "not a video (Invalid data found when processing input)"."""
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    for argv in (["probe", str(empty)], ["clean", str(empty), "-o", str(tmp_path / "o.mkv")]):
        code, err = run_main(capsys, *argv)
        assert code == 1 and err == f"framemend: error: input '{empty}' is empty (0 bytes), " \
                                    "not a video\n"


def test_truncated_file_keeps_what_decodes_and_says_where(tmp_path, capsys):
    full = str(tmp_path / "full.mkv")
    write_video(full, moving_frames(40), 24, lossless=True)
    data = open(full, "rb").read()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(data[: len(data) // 2])
    out = str(tmp_path / "o.mkv")
    code, err = run_main(capsys, "clean", str(cut), "-o", out, "-f", "identity", "--lossless")
    assert code == 1 and ("ended early" in err or "damaged" in err) and "frames before it" in err
    n = stream_summary(out)["frames"]
    assert 5 < n < 40
    assert np.array_equal(read_video(out)[0], read_video(full)[0][:n])



def test_output_that_is_a_folder_leaves_nothing(mkv, tmp_path):
    """framemend.clean(path, output=FOLDER, overwrite=True) and framemend.write(FOLDER, ...)
    refuse a folder before any work (the run went to its end, then failed to rename its
    temporary file, an IsADirectoryError that left the temporary file behind)."""
    import framemend
    from framemend.video import VideoError, VideoWriter, VideoReader

    folder = tmp_path / "out.mp4"
    folder.mkdir()
    with pytest.raises(VideoError, match="it is a folder; give a file name"):
        framemend.clean(mkv, chain="identity", output=str(folder), overwrite=True)
    with pytest.raises(VideoError, match="it is a folder"):
        framemend.write(str(folder), moving_frames(2, 48, 32))
    # a folder that appears while the file is written: the temporary file goes too
    out = tmp_path / "late.mkv"
    writer = VideoWriter(str(out), VideoReader(mkv).info)
    writer.write(moving_frames(1)[0], 0.0)
    out.mkdir()
    with pytest.raises(VideoError, match="cannot write"):
        writer.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mkv", "late.mkv", "out.mp4"]


@pytest.mark.parametrize("command", ["clean", "filters", "probe", "generate", "score", "demo", "warmup"])
def test_every_command_help_says_what_it_does(command, capsys):
    """Only ``clean --help`` said what its command does: ``probe --help`` was its usage, an
    undescribed ``input`` and ``--json``. Each now opens with its line of ``framemend --help``,
    and every positional argument is described."""
    with pytest.raises(SystemExit):
        main(["--help"])
    listing = capsys.readouterr().out
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = capsys.readouterr().out
    description = text.split("\n\n")[1].replace("\n", " ")
    entries = re.split(r"\n    (?=\w)", listing.split("\n\noptions:")[0])  # a command a line
    summary = " ".join(next(e for e in entries if e.startswith(command + " ")).split()[1:])
    if command != "clean":  # clean's own is longer
        assert description == summary[0].upper() + summary[1:] + ".", text
    positional = text.split("positional arguments:\n")[1].split("\n\n")[0] if "positional" in text else ""
    assert all(len(line.split()) > 1 for line in positional.splitlines()), text


def test_the_help_pipe_example_works_as_written(tmp_path):
    """``framemend --help`` showed ``cat in.mp4 | framemend clean - -o - ...``, which fails for
    the MP4 most tools write (its index at the end: 'can only be read from a file, not a pipe').
    The example, run as written on a clip of the extension it names, cleans it."""
    line = next(line for line in subprocess.run(CLI + ["--help"], capture_output=True, text=True,
                                                check=True).stdout.splitlines() if "| framemend" in line)
    command = line.split("  ")[1].strip()
    source = next(word for word in command.split() if word.startswith("in."))
    noise = np.random.default_rng(0).integers(0, 256, (6, 120, 160, 3), dtype=np.uint8)
    make_video(str(tmp_path / source), noise, 24)  # index last, past what a pipe's probe buffers
    shell = command.replace("framemend", " ".join(CLI))
    done = subprocess.run(shell, shell=True, cwd=tmp_path, capture_output=True, timeout=300)
    assert done.returncode == 0, (shell, done.stderr.decode())
    assert stream_summary(str(tmp_path / "out.mkv"))["frames"] == 6


def test_clean_help_and_filters_teach_how_to_write_a_chain(capsys):
    """``clean --help`` showed no example, and ``framemend filters`` listed every option but
    not how to put them in a chain. ``clean --help`` now ends with the ``clean`` examples of
    ``framemend --help``, and ``filters`` with a chain using a choice, a number, a filter
    without options and a list (which the parser takes), and the syntax."""
    from framemend.chain.parser import check_chain

    with pytest.raises(SystemExit):
        main(["clean", "--help"])
    assert "\n  framemend clean in.mp4 -o out.mp4 " in capsys.readouterr().out
    assert main(["filters"]) == 0
    lines = capsys.readouterr().out.splitlines()
    use = next(i for i, line in enumerate(lines) if line.startswith("use: framemend clean IN -o OUT -f "))
    assert len(check_chain(lines[use + 1].split('-f "')[1].rstrip('"'))) == 3
    assert lines[use + 2].startswith("chain syntax") and "'+'" in " ".join(lines[use + 2:])


def test_a_presets_name_given_as_the_chain_runs_the_preset(tmp_path, capsys):
    """``-f smooth`` was "unknown filter 'smooth'", where the API's ``chain="smooth"`` runs the
    preset: it runs the preset now (smooth doubles the frames), as ``--preset smooth`` does."""
    src = str(tmp_path / "in.mkv")
    write_video(src, moving_frames(4, 32, 24), 12, lossless=True)
    for argv in (["-f", "smooth"], ["--preset", "smooth"]):
        out = str(tmp_path / f"o{len(argv[0])}.mkv")
        assert main(["clean", src, "-o", out, "-q", *argv]) == 0, capsys.readouterr().err
        assert len(read_video(out)[0]) == 8


@pytest.mark.parametrize("terminal", [False, True])
def test_what_a_filter_did_not_do_is_a_warning(mkv, tmp_path, capsys, monkeypatch, terminal):
    """``-f realign=keyframes=50`` on 24 frames wrote the input unchanged without a word; in a
    terminal the warning has a line of its own (a warning said while the progress bar was
    drawn was written onto the bar's line)."""
    monkeypatch.setattr(sys.stderr, "isatty", lambda: terminal)  # capsys's stream
    code, err = run_main(capsys, "clean", mkv, "-o", str(tmp_path / "o.mkv"),
                         "-f", "realign=keyframes=50")
    assert code == 0
    said = ("framemend: warning: realign: keyframes=50 past the clip's 24 frames (0 to 23): "
            "nothing was corrected\n")
    assert said in err
    before = err[:err.index(said)]
    assert before.endswith("\r") or not before.strip()  # the bar's line cleared, or no bar
    assert ("frame/s" in err) == terminal


def test_one_frame_is_counted_as_one(tmp_path, capsys):
    """The summary said ``1 frames in``; probe's stream line ``1 frames``."""
    src = str(tmp_path / "one.mp4")  # an MP4's stream says its frame count
    make_video(src, moving_frames(1), fps=24)
    code, err = run_main(capsys, "clean", src, "-o", str(tmp_path / "o.mkv"), "-f", "identity")
    assert code == 0 and f"{src} -> {tmp_path / 'o.mkv'}: 1 frame in, 1 out, " in err
    assert main(["probe", src]) == 0
    assert re.search(r"#0 video: .*, 1 frame(,|$)", capsys.readouterr().out, re.M)


def test_threads_past_the_cores_cap_at_the_cores(mkv, tmp_path, capsys, monkeypatch):
    """``--threads 100000`` was handed to FFmpeg as it was: its decoder could not start them and
    the run failed with ``'in.mkv' is damaged: decoding stopped after frame 0 (Resource
    temporarily unavailable)``; a cap above the cores caps nothing. (64 here: 100000 without
    the cap starts OpenCV's and numba's threads in this process too.)"""
    import framemend.video

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    given = []
    reader = framemend.video.VideoReader

    def spy(*args, threads=None, **kwargs):
        given.append(threads)
        return reader(*args, threads=threads, **kwargs)

    monkeypatch.setattr(framemend.video, "VideoReader", spy)
    monkeypatch.setattr(os, "environ", dict(os.environ))  # limit_threads sets OMP_NUM_THREADS
    code, err = run_main(capsys, "clean", mkv, "-o", str(tmp_path / "o.mkv"), "-f", "denoise",
                         "--threads", str(max(64, cores + 1)))
    assert code == 0, err
    assert given == [cores]


def test_a_box_outside_the_frames_is_refused(mkv, tmp_path, capsys):
    code, err = run_main(capsys, "clean", mkv, "-o", str(tmp_path / "o.mkv"),
                         "-f", "realign=region=face:box=500+500+600+600")
    assert code == 1 and not os.path.exists(tmp_path / "o.mkv")
    assert err.endswith("is 96x64: realign's box=500+500+600+600 lies outside the frame\n")
