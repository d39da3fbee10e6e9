"""`framemend generate` and `framemend score` end to end on a tiny clip."""
import argparse
import json

import numpy as np

from framemend import cli_generate, cli_score
from framemend.generate import scene
from framemend.video import read_video


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
