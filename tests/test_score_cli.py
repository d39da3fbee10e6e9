"""`framemend score` without truth: a clip alone, a filtered clip against its input, and along
another video's motion, on tiny generated clips written losslessly."""
import argparse
import json
import warnings

import numpy as np
import pytest

from framemend import cli_score
from framemend.generate import artifacts, scene
from framemend.metrics import noref
from framemend.video import write_video

W, H, T = 128, 80, 8


def _run(argv):
    parser = argparse.ArgumentParser()
    cli_score.add_arguments(parser)
    return cli_score.main(parser.parse_args(argv))


def _json(capsys, argv):
    assert _run(argv + ["--json"]) == 0
    return json.loads(capsys.readouterr().out)


def _to_u8(frames):
    return (np.clip(frames, 0, 1) * 255 + 0.5).astype(np.uint8)


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """Lossless files: a clean static shot, the same with boiling texture, and the boiled one
    averaged over three frames (a temporal blur)."""
    folder = tmp_path_factory.mktemp("score")
    clean = scene("static", W, H, T, seed=2).frames
    boiled = artifacts.boiling(clean, 10 / 255, seed=2)
    padded = np.concatenate([boiled[:1], boiled, boiled[-1:]])
    blurred = (padded[:-2] + padded[1:-1] + padded[2:]) / 3
    paths = {}
    for name, frames in (("clean", clean), ("boiled", boiled), ("blurred", blurred)):
        paths[name] = str(folder / f"{name}.mkv")
        write_video(paths[name], frames, 24.0, lossless=True)
    return paths


def test_a_clip_alone_reads_its_boiling(clips, capsys):
    clean = _json(capsys, [clips["clean"]])
    boiled = _json(capsys, [clips["boiled"]])
    assert boiled["scores"]["boiling"] > 10 * clean["scores"]["boiling"]
    assert boiled["scores"]["warping_error"] > 10 * clean["scores"]["warping_error"]
    assert len(boiled["per_frame"]["boiling"]) == T - 1
    assert len(boiled["per_frame"]["detail_energy"]) == T
    assert "warp_ratio" not in boiled["scores"] and boiled["compared_to"] is None


def test_a_filtered_clip_reads_as_ratios_to_its_input(clips, capsys, tmp_path):
    same = _json(capsys, [clips["boiled"], "--input", clips["boiled"]])["scores"]
    assert same["warp_ratio"] == same["boiling_ratio"] == same["flicker_ratio"] == 1.0
    assert same["detail_retention"] == 1.0 and same["colour_shift"] == 0.0
    plot = tmp_path / "scores.png"
    out = _json(capsys, [clips["blurred"], "--input", clips["boiled"], "--plot", str(plot)])
    s = out["scores"]
    assert s["warp_ratio"] < 0.5 and s["boiling_ratio"] < 0.5
    assert s["warping_error_input"] == pytest.approx(same["warping_error"], rel=1e-6)
    assert s["fidelity"] > 0.98 and s["colour_shift"] < 0.3
    assert len(out["per_frame"]["fidelity"]) == T and len(out["per_frame"]["warping_error_input"]) == T - 1
    assert plot.stat().st_size > 10_000
    assert _run([clips["blurred"], "--input", clips["boiled"]]) == 0
    text = capsys.readouterr().out
    assert "warp_ratio" in text and "detail_retention" in text and "(input " in text


def test_flow_from_scores_along_another_videos_motion(clips, capsys):
    """A per-frame-processed clip scored along the original's motion, as Lai et al. do."""
    out = _json(capsys, [clips["boiled"], "--flow-from", clips["clean"]])
    assert out["flow_from"] == clips["clean"]
    from framemend.video import read_video
    clean, boiled = read_video(clips["clean"])[0], read_video(clips["boiled"])[0]
    expected, _ = noref.score(boiled, noref.clip_motion(clean))
    assert out["scores"]["boiling"] == pytest.approx(expected["boiling"], rel=1e-6)


def test_a_clip_that_does_not_match_its_input_is_a_usage_error(clips, capsys, tmp_path):
    short = str(tmp_path / "short.mkv")
    write_video(short, _to_u8(scene("static", W, H, T - 2).frames), 24.0, lossless=True)
    assert _run([clips["boiled"], "--input", short]) == 2
    err = capsys.readouterr().err
    assert err.startswith("framemend: error: --input") and err.count("\n") == 1
    assert _run([clips["boiled"], "--flow-from", short]) == 2


def test_a_two_frame_clip_scores_without_warnings_and_gives_valid_json(tmp_path, capsys):
    """Jitter and motion smoothness need three frames: on two they are null in the JSON
    (strict JSON, no NaN) and '-' in the text, with no numpy warning."""
    path = str(tmp_path / "two.mkv")
    write_video(path, _to_u8(scene("pan", W, H, 2, 24, 0).frames), 24, lossless=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _run([path, "--json"]) == 0
        out = json.loads(capsys.readouterr().out,
                         parse_constant=lambda c: pytest.fail(f"{c} in the JSON"))
        assert out["scores"]["jitter"] is None and out["scores"]["motion_smoothness"] is None
        assert out["scores"]["flicker"] >= 0
        assert _run([path]) == 0
    text = capsys.readouterr().out
    assert "nan" not in text and "needs more frames" in text


@pytest.mark.parametrize("side", [3, 4, 8])
def test_a_clip_of_a_few_pixels_scores(tmp_path, capsys, side):
    """On frames under 9 px the camera metrics' grid held one point and OpenCV's RANSAC fit
    raised "At least 2 points for partial affine transformation estimation" (a traceback)."""
    path = str(tmp_path / "tiny.mkv")
    pan = scene("pan", 32, 32, 4, 24, 0).frames[:, 10:10 + side, 10:10 + side]
    write_video(path, _to_u8(pan), 24, lossless=True)
    out = _json(capsys, [path])
    assert np.isfinite(out["scores"]["jitter"]) and out["scores"]["jitter"] >= 0


def test_box_and_output_paths_are_checked_before_the_work(tmp_path, capsys):
    """An empty ``--box`` (was scored: identity drift of nothing), one of words (numpy's
    message), one outside the frames, and ``--plot`` in a missing folder (a traceback after the scoring) are refused
    first, each in one line."""
    path = str(tmp_path / "c.mkv")
    write_video(path, _to_u8(scene("pan", W, H, 3, 24, 0).frames), 24, lossless=True)
    assert _run([path, "--box", "10,10,5,5"]) == 2
    assert "needs x1 > x0 and y1 > y0" in capsys.readouterr().err
    assert _run([path, "--box", "a,b,c,d"]) == 2
    assert "--box 'a,b,c,d' needs four numbers" in capsys.readouterr().err
    for outside in (f"{W},0,{W + 50},40", "-60,-60,-10,-10", f"0,{H}.5,20,{H + 9}"):
        assert _run([path, f"--box={outside}"]) == 2  # was a drift of 0, the corner pixels
        assert f"--box '{outside}' lies outside the {W}x{H} frames" in capsys.readouterr().err
    # a box as the filters take it (realign, stabilize: x0+y0+x1+y1) was "needs four numbers"
    assert _run([path, "--box", "4+4+40+30", "--json"]) == 0
    plus = json.loads(capsys.readouterr().out)["scores"]["identity_drift"]
    assert _run([path, "--box", "4,4,40,30", "--json"]) == 0
    assert isinstance(plus, float) and plus == json.loads(capsys.readouterr().out)["scores"]["identity_drift"]
    from framemend.video import VideoError

    with pytest.raises(VideoError, match="does not exist"):
        _run([path, "--plot", str(tmp_path / "no" / "p.png")])


def test_a_plot_of_a_kind_matplotlib_does_not_write_is_refused_first(tmp_path, capsys):
    """``--plot scores.txt`` scored the clip, then ended in matplotlib's ValueError traceback
    (exit 1); an extension in another case is taken."""
    path = str(tmp_path / "c.mkv")
    write_video(path, _to_u8(scene("pan", W, H, 3, 24, 0).frames), 24, lossless=True)
    assert _run([path, "--plot", str(tmp_path / "scores.txt")]) == 2
    err = capsys.readouterr().err
    assert "--plot" in err and "a plot is written as .png, .svg or .pdf" in err and \
        err.strip().endswith("not .txt"), err
    assert not (tmp_path / "scores.txt").exists()
    assert _run([path, "--plot", str(tmp_path / "scores.PNG")]) == 0
    assert (tmp_path / "scores.PNG").stat().st_size > 1000


def test_one_frame_scores_against_a_reference(tmp_path, capsys):
    """One frame was refused ("needs two or more") even with --ref: PSNR and SSIM need none
    of the frames around it. Without --ref, or with a figure over time asked for, it is still
    a usage error."""
    clean = scene("pan", W, H, 2, 24, 0).frames[:1]
    ref, path = str(tmp_path / "ref.mkv"), str(tmp_path / "one.mkv")
    write_video(ref, _to_u8(clean), 24, lossless=True)
    write_video(path, _to_u8(np.clip(clean + 0.05, 0, 1)), 24, lossless=True)
    out = _json(capsys, [path, "--ref", ref])
    assert out["frames"] == 1 and sorted(out["scores"]) == ["psnr", "ssim"]
    assert 20 < out["scores"]["psnr"] < 40 and 0.5 < out["scores"]["ssim"] < 1
    assert _run([path, "--ref", ref]) == 0
    assert f"{path}: 1 frame at 24 fps" in capsys.readouterr().out
    for extra in ([], ["--ref", ref, "--input", ref]):
        assert _run([path, *extra]) == 2
        assert "scoring needs two or more (one frame gives PSNR and SSIM against --ref only)" \
            in capsys.readouterr().err


def test_a_rotated_videos_box_is_read_as_shown(tmp_path, capsys):
    """--box on a portrait video stored on its side with a display rotation (as phones write
    it) is read in the pixels a player shows, as the filters' box= is: it was read in the
    stored picture's, so a box read off a player measured another place, or was refused as
    outside the frames. The scores are those of the same clip stored upright."""
    from media import make_rotated_video

    clip = scene("subject", W, H, frames=6, seed=3)
    frames = _to_u8(clip.frames)
    x0, y0, x1, y1 = clip.subject_box[0]
    box = f"{x0:.0f},{y0:.0f},{x1:.0f},{y1:.0f}"
    drifts = []
    for rotation in (0, 90):
        path = str(tmp_path / f"{rotation}.mp4")
        make_rotated_video(path, np.ascontiguousarray(np.rot90(frames, -rotation // 90,
                                                               axes=(1, 2))), rotation)
        drifts.append(_json(capsys, [path, "--box", box])["per_frame"]["identity_drift"])
    assert max(drifts[0][1:]) > 0.05  # the subject does change: there is drift to measure
    assert np.allclose(drifts[0], drifts[1], atol=1e-3)


def test_a_one_pixel_clip_scores_its_flicker(tmp_path, capsys):
    """A 1x1 clip ended in a traceback in noref.clip_motion ("could not broadcast (4,1) into
    (1,1)": OpenCV read the 1x1 luma beside a number as a Scalar); a steady pixel now reads no
    flicker and one that alternates by 0.2 reads it."""
    scores = {}
    for name, values in (("steady", [0.5] * 6), ("flicker", [0.4, 0.6] * 3)):
        path = str(tmp_path / f"{name}.mkv")
        frames = np.repeat(np.array(values, np.float32)[:, None, None, None], 3, axis=3)
        write_video(path, _to_u8(frames), 24, lossless=True)
        scores[name] = _json(capsys, [path])["scores"]
    assert scores["steady"]["flicker"] < 0.5
    assert scores["flicker"]["flicker"] > 10 * max(scores["steady"]["flicker"], 1)


def test_a_terminal_is_shown_each_step_of_the_work(clips, capsys, monkeypatch):
    """240 frames of 320x180 took 29 s without a word (an HD clip, many minutes); on a terminal
    a bar now names each step as it begins (the motion, the scores along it, smoothness,
    jitter, then --box's and --ref's), counts them, and is gone before the figures, which are
    those printed without it."""
    import sys

    argv = [clips["boiled"], "--ref", clips["clean"], "--box", "10,10,60,50"]
    outs = []
    for tty in (False, True):
        monkeypatch.setattr(sys.stderr, "isatty", lambda tty=tty: tty)
        assert _run(argv) == 0
        captured = capsys.readouterr()
        outs.append(captured.out)
        steps = ["motion", "temporal scores", "motion smoothness", "jitter", "identity drift",
                 "PSNR, SSIM"]
        shown = [f"score: {name}: {k}/6 steps done" in captured.err for k, name in enumerate(steps)]
        assert shown == [tty] * 6, captured.err
    assert outs[0] == outs[1] and "psnr" in outs[0]
