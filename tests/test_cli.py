"""The command line: pipes, folders, probe, filters, and one-line errors for bad input."""
import os
import subprocess
import sys
import time

import av
import numpy as np
import pytest

from framemend.cli import main
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


def test_filters_lists_options_with_ranges(capsys):
    assert main(["filters"]) == 0
    out = capsys.readouterr().out
    assert "identity" in out


@pytest.mark.parametrize("argv, code, words", [
    (["clean", "{in}", "-o", "{tmp}/o.mp4", "-f", "identty"], 2, "did you mean 'identity'"),
    (["clean", "{in}", "-o", "{tmp}/o.mp4", "--preset", "nope"], 2, "unknown preset"),
    (["clean", "{tmp}/missing.mp4", "-o", "{tmp}/o.mp4", "-f", "identity"], 1, "does not exist"),
    (["clean", "{in}", "-o", "{in}", "-f", "identity", "--overwrite"], 1, "is the input"),
    (["clean", "{in}", "-o", "{tmp}/o.xyz", "-f", "identity"], 1, "unknown extension"),
    (["clean", "{in}", "-o", "{tmp}/o.mp4", "-f", "identity", "--lossless"], 1, "lossless FFV1 cannot go into"),
    (["clean", "{in}", "-o", "{tmp}/o.mp4", "--crf", "x"], 2, "invalid int value"),
])
def test_bad_usage_is_one_line_with_exit_code(mkv, tmp_path, capsys, argv, code, words):
    argv = [a.format(**{"in": mkv, "tmp": tmp_path}) for a in argv]
    got, err = run_main(capsys, *argv)
    assert got == code
    assert words in err and err.count("\n") == 1 and err.startswith("framemend: error:")
    assert not (tmp_path / "o.mp4").exists()


def test_existing_output_needs_overwrite(mkv, tmp_path, capsys):
    out = tmp_path / "o.mkv"
    out.write_bytes(b"precious")
    code, err = run_main(capsys, "clean", mkv, "-o", str(out), "-f", "identity")
    assert code == 1 and "--overwrite" in err and out.read_bytes() == b"precious"
    assert main(["clean", mkv, "-o", str(out), "-f", "identity", "--overwrite", "-q"]) == 0
    assert stream_summary(str(out))["frames"] == 24


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


def test_interrupted_run_leaves_no_partial_output(tmp_path):
    src = str(tmp_path / "long.mkv")
    make_video(src, moving_frames(600, width=320, height=192), 24, codec="ffv1", pix_fmt="yuv420p")
    out = tmp_path / "o.mp4"
    proc = subprocess.Popen(CLI + ["clean", src, "-o", str(out), "-f", "identity"],
                            stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while time.time() < deadline and not any(p.name.startswith(".o.mp4") for p in tmp_path.iterdir()):
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(2)  # SIGINT, as Ctrl-C
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.mkv"]
