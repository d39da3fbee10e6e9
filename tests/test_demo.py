"""``framemend demo`` (``make demo``, a newcomer's first command): it writes its four videos and
the clean clip scores better than the glitchy one, by margins, on the truth it generated."""
import re

from framemend.demo import run_demo
from framemend.video.arrays import probe_video


def test_demo_writes_its_videos_and_the_cleaned_clip_scores_better(tmp_path, capsys):
    out = tmp_path / "demo"
    assert run_demo(str(out), width=320, height=180, frames=24) == 0  # the CLI's, smaller
    printed = capsys.readouterr().out
    scores = {name: (float(b), float(a)) for name, b, a in re.findall(
        r"^(PSNR|warping error|flicker index)\b.*?\)\s+(\S+)\s+(\S+)$", printed, re.M)}
    assert set(scores) == {"PSNR", "warping error", "flicker index"}, printed
    psnr, warp, flicker = scores["PSNR"], scores["warping error"], scores["flicker index"]
    assert psnr[1] > psnr[0] + 3, printed
    assert warp[1] < 0.3 * warp[0] and flicker[1] < 0.5 * flicker[0], printed
    for name in ("glitchy.mp4", "truth.mkv", "cleaned.mp4", "side_by_side.mp4"):
        info = probe_video(str(out / name))
        assert info.frames == 24, (name, info)


def test_demo_usage_errors_come_before_any_work(tmp_path, capsys):
    """An unknown preset (was a KeyError traceback after generating the clip) and ``-o`` naming
    a file (was a FileExistsError traceback) are usage errors, exit 2, nothing written."""
    from framemend.cli import main

    assert main(["demo", "-o", str(tmp_path / "d"), "--preset", "bogus"]) == 2
    assert "unknown preset 'bogus'" in capsys.readouterr().err
    (tmp_path / "f").write_text("a file")
    assert main(["demo", "-o", str(tmp_path / "f")]) == 2
    assert "this is a file" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f"]


def test_demo_with_a_preset_that_raises_the_rate_scores_the_input_times(tmp_path, capsys):
    """``framemend demo --preset smooth`` (interpolate=factor=2) cleaned the clip, then ended in
    a traceback: PSNR of 96 frames against the truth's 48. The cleaned frames at the input's
    times are scored; the side-by-side plays at the cleaned clip's rate."""
    out = tmp_path / "demo"
    assert run_demo(str(out), preset="smooth", width=160, height=96, frames=12) == 0
    printed = capsys.readouterr().out
    assert "the cleaned clip has 24 frames: the 12 at the input's times are scored" in printed
    scores = {name: (float(b), float(a)) for name, b, a in re.findall(
        r"^(PSNR|warping error|flicker index)\b.*?\)\s+(\S+)\s+(\S+)$", printed, re.M)}
    assert scores["PSNR"][1] > scores["PSNR"][0] + 3, printed
    for name, frames, fps in (("cleaned.mp4", 24, 48), ("side_by_side.mp4", 24, 48),
                              ("glitchy.mp4", 12, 24)):
        info = probe_video(str(out / name))
        assert (info.frames, float(info.fps)) == (frames, fps), (name, info)
