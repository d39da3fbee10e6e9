"""`framemend generate` and `framemend score` end to end on a tiny clip."""
import argparse
import json
import os
import re
import sys
from fractions import Fraction

import numpy as np
import pytest

from framemend import cli_generate, cli_score
from framemend.generate import scene
from framemend.video import VideoReader, read_video


def _run(module, argv):
    parser = argparse.ArgumentParser()
    module.add_arguments(parser)
    return module.main(parser.parse_args(argv))


def test_generate_writes_the_exact_truth_and_score_sees_the_flicker(tmp_path, capsys):
    glitchy, truth, data = tmp_path / "g.mkv", tmp_path / "t.mkv", tmp_path / "t.npz"
    assert _run(cli_generate, ["-o", str(glitchy), "--truth", str(truth), "--truth-data", str(data),
                               "--scene", "pan", "--size", "96x54", "--frames", "8",
                               "--artifacts", "flicker=0.15", "--seed", "3"]) == 0
    clean = scene("pan", 96, 54, 8, seed=3)
    frames, fps = read_video(str(truth))
    assert fps == 24.0
    assert np.array_equal(frames, (clean.frames * 255 + 0.5).astype(np.uint8))  # lossless truth
    arrays = np.load(data)
    np.testing.assert_allclose(arrays["flow_fwd"], clean.flow_fwd)
    capsys.readouterr()

    assert _run(cli_score, [str(glitchy), "--ref", str(truth), "--json"]) == 0
    bad = json.loads(capsys.readouterr().out)["scores"]
    assert _run(cli_score, [str(truth), "--json"]) == 0
    good = json.loads(capsys.readouterr().out)["scores"]
    assert bad["flicker"] > 5 * good["flicker"]
    assert bad["warping_error"] > 5 * good["warping_error"]
    assert bad["psnr"] < 30 and "psnr" not in good


def test_bad_artifact_or_size_is_a_usage_error(tmp_path, capsys):
    out = tmp_path / "x.mkv"
    assert _run(cli_generate, ["-o", str(out), "--artifacts", "sparkle"]) == 2
    assert _run(cli_generate, ["-o", str(out), "--size", "big"]) == 2
    assert "sparkle" in capsys.readouterr().err and not out.exists()


def test_frames_fps_and_strengths_at_their_edges(tmp_path, capsys):
    """``--frames 0`` is refused (was the default 48), a rate of 0, NaN or below 0 is a usage
    error (was a traceback after the work), NaN and infinite strengths are refused (NaN wrote a
    clip with a numpy warning), and ``--fps`` other than 24 with ``--model`` is refused (was
    ignored: the models make 24 fps); a negative seed names ``--seed`` (numpy's "expected
    non-negative integer" did not)."""
    out = tmp_path / "x.mkv"
    small = ["-o", str(out), "--size", "32x32", "--frames", "2"]
    for argv, says in ((["--frames", "0"], "at least 2 frames"), (["--fps", "0"], "--fps 0"),
                       (["--fps", "nan"], "--fps nan"), (["--fps", "-24"], "--fps -24"),
                       # 5000 fps wrote an .mkv of frames at one time, said only when read
                       (["--fps", "5000"], "--fps 5000: needs a frame rate above 0 and at "
                                           "most 1000"),
                       (["--artifacts", "flicker=nan"], "out of range"),
                       (["--artifacts", "noise=inf"], "out of range"),
                       (["--model", "vae", "--fps", "12"], "24 fps"),
                       (["--seed", "-1"], "--seed -1: needs 0 or more")):
        assert _run(cli_generate, small + argv) == 2, argv
        assert says in capsys.readouterr().err, argv
        assert not out.exists()
    assert _run(cli_generate, small + ["--fps", "12"]) == 0
    assert read_video(str(out))[1] == 12.0
    # NTSC's, as interpolate=fps= takes it
    for fps, rate in (("29.97", Fraction(30000, 1001)), ("23.976", Fraction(24000, 1001)),
                      ("14.985", Fraction(15000, 1001)), ("12.5", Fraction(25, 2))):
        ntsc = tmp_path / f"{fps}.mkv"   # (29.97 was written as 2997/100)
        assert _run(cli_generate, ["-o", str(ntsc), "--size", "32x32", "--frames", "2",
                                   "--fps", fps]) == 0
        assert VideoReader(str(ntsc)).info.fps == rate, fps


def test_absurd_strengths_are_refused(tmp_path, capsys):
    """``noise=1e9`` (every pixel black or white), ``compress=1e9`` and other strengths past
    the point where the artifact means anything wrote a clip: refused, with the largest that
    does and why; the largest are taken."""
    from framemend.generate.degrade import parse_artifacts

    out = tmp_path / "x.mkv"
    small = ["-o", str(out), "--size", "32x32", "--frames", "2"]
    for spec, says in (("noise=1e9", "'noise': strength 1e9 is out of range (at most 255: a "
                                     "sigma of the whole 8-bit range)"),
                       ("flicker,compress=52", "'compress': strength 52 is out of range (at "
                                               "most 51: x264's highest CRF)"),
                       ("jitter=2000", "at most 1080"), ("tone-drift=5", "at most 4"),
                       ("local-flicker=1.5", "at most 1"), ("boiling=300", "at most 255")):
        assert _run(cli_generate, small + ["--artifacts", spec]) == 2, spec
        assert says in capsys.readouterr().err, spec
        assert not out.exists()
    assert len(parse_artifacts("flicker=1,local-flicker=1,noise=255,boiling=255,jitter=1080,"
                               "drift=4,tone-drift=4,compress=51,drop=1000")) == 9


def test_drops_that_would_leave_one_frame_are_refused(tmp_path, capsys, monkeypatch):
    """``drop=5`` on 2 frames wrote 1 frame at 4.8 fps: refused before any work, naming the
    --frames that would do (the API's ``degrade`` too); 6 frames give 2."""
    import framemend.generate
    from framemend.generate import degrade

    out = tmp_path / "x.mkv"
    small = ["-o", str(out), "--size", "32x32"]
    with monkeypatch.context() as m:
        m.setattr(framemend.generate, "scene", None)  # it must fail before making the scene
        for argv, says in ((["--frames", "2", "--artifacts", "drop=5"],
                            "artifacts 'drop=5' would leave 1 frame of 2: needs --frames 6 or more"),
                           (["--frames", "6", "--artifacts", "drop=2,flicker,drop=3"],
                            "'drop=2,drop=3' would leave 1 frame of 6: needs --frames 7 or more")):
            assert _run(cli_generate, small + argv) == 2, argv
            assert says in capsys.readouterr().err and not out.exists()
    assert _run(cli_generate, small + ["--frames", "6", "--artifacts", "drop=5"]) == 0
    assert len(read_video(str(out))[0]) == 2
    with pytest.raises(ValueError, match="would leave 1 frame of 3"):
        degrade(scene("pan", 32, 32, 3, 24, 0), "drop=3")


def test_truth_data_is_written_under_the_name_given(tmp_path, capsys):
    """``--truth-data truth.data`` writes ``truth.data`` (numpy wrote ``truth.data.npz``)."""
    data = tmp_path / "truth.data"
    assert _run(cli_generate, ["-o", str(tmp_path / "g.mkv"), "--truth-data", str(data),
                               "--size", "32x32", "--frames", "2"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.mkv", "truth.data"]
    assert np.load(data)["camera"].shape == (2, 3, 3)


def test_truth_data_stopped_midway_leaves_nothing(tmp_path, capsys, monkeypatch):
    """Ctrl-C while the archive was written left half of it under the name given."""
    def cut_short(f, **arrays):
        f.write(b"PK half an archive")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez_compressed", cut_short)
    with pytest.raises(KeyboardInterrupt):
        _run(cli_generate, ["-o", str(tmp_path / "g.mkv"), "--truth-data",
                            str(tmp_path / "t.npz"), "--size", "32x32", "--frames", "2"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.mkv"]


def test_what_generate_would_drop_or_overwrite_is_refused(tmp_path, capsys):
    """``--truth`` naming the ``-o`` file wrote the truth over the glitchy clip (both said
    written), and ``--artifacts`` with ``--model`` was dropped without a word."""
    out = str(tmp_path / "g.mkv")
    small = ["--size", "32x32", "--frames", "2"]
    for argv, says in (
            (["--truth", out], f"--truth {out} is also -o: give each output its own name"),
            (["--truth", str(tmp_path / "t.mkv"), "--truth-data", str(tmp_path / "t.mkv")],
             "--truth-data .*t.mkv is also --truth"),
            (["--model", "vae", "--artifacts", "noise=30"],
             "--artifacts does not apply with --model: the vae model's own")):
        assert _run(cli_generate, ["-o", out] + small + argv) == 2
        assert re.search(says, capsys.readouterr().err)
        assert not list(tmp_path.iterdir())
    # an -o that exists named again by --truth: the names are the problem to say, not -y
    open(out, "wb").close()
    assert _run(cli_generate, ["-o", out, "--truth", out] + small) == 2
    assert f"--truth {out} is also -o: give each output its own name" in capsys.readouterr().err
    assert os.path.getsize(out) == 0


def test_a_clip_that_would_not_fit_in_memory_is_refused_before_the_work(tmp_path, capsys,
                                                                         monkeypatch):
    """generate holds the whole clip to the end: 240 frames at 640x360 took 3.8 GB, and a few
    thousand would end in a kill with no word. A request over the free memory is refused in one
    line, with the most frames that fit, before any file is written."""
    monkeypatch.setattr(cli_generate, "_available_memory", lambda: 200 * 2 ** 20)
    out = tmp_path / "g.mkv"
    assert _run(cli_generate, ["-o", str(out), "--frames", "240"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and re.search(r"240 frames of 640x360 need about 4\.1 GiB .* 0\.2 "
                                         r"GiB is free: ask for 11 frames or fewer", err), err
    assert not list(tmp_path.iterdir())
    assert _run(cli_generate, ["-o", str(out), "--frames", "11"]) == 0


def test_the_memory_estimate_covers_the_arrays_a_frame_holds(tmp_path, capsys):
    """The estimate behind the refusal (cli_generate.BYTES_PER_PIXEL) against numpy's own
    allocations, traced: what one more frame costs is under it, and not a quarter of it (the
    refusal would then turn away clips that fit)."""
    import tracemalloc

    peaks = []
    for frames in (2, 6, 18):  # the first loads what every run shares (the picture, caches)
        tracemalloc.start()
        _run(cli_generate, ["-o", str(tmp_path / f"g{frames}.mkv"), "--truth",
                            str(tmp_path / f"t{frames}.mkv"), "--size", "320x180", "--frames",
                            str(frames)])
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    per_pixel = (peaks[2] - peaks[1]) / 12 / (320 * 180)
    print(f"{per_pixel:.1f} B a pixel per frame")
    assert cli_generate.BYTES_PER_PIXEL / 4 < per_pixel < cli_generate.BYTES_PER_PIXEL


def test_a_terminal_is_shown_a_bar_of_the_frames_written(tmp_path, capsys, monkeypatch):
    """240 frames at 640x360 took 48 s with no word; on a terminal a bar now counts the frames
    written (the clip's, then the truth's), and the files are the same as without it."""
    argv = ["--truth", None, "--scene", "pan", "--size", "64x48", "--frames", "5", "--seed", "1"]
    truths = []
    for tty in (False, True):
        argv[1] = str(tmp_path / f"t{tty}.mkv")
        monkeypatch.setattr(sys.stderr, "isatty", lambda tty=tty: tty)
        assert _run(cli_generate, ["-o", str(tmp_path / f"g{tty}.mkv")] + argv) == 0
        err = capsys.readouterr().err
        assert ("generate: rendering" in err and "generate: writing" in err
                and "/10 [" in err) == tty, err
        truths.append(read_video(argv[1])[0])
    assert np.array_equal(*truths)
