"""Metrics rank constructed cases correctly and recover known quantities."""
import numpy as np
import pytest
from skimage.metrics import structural_similarity

from framemend import metrics as m
from framemend.generate import artifacts, degrade, scene
from framemend.metrics.camera import path_acceleration

W, H = 160, 90


@pytest.fixture(scope="module")
def pan():
    return scene("pan", W, H, 10)


def test_psnr_and_ssim_rank_noise_and_match_the_references(pan):
    light = artifacts.gaussian_noise(pan.frames, 5 / 255, seed=0)
    heavy = artifacts.gaussian_noise(pan.frames, 20 / 255, seed=0)
    assert m.psnr(pan.frames, pan.frames) == 100.0 and m.ssim(pan.frames, pan.frames) == 1.0
    assert m.psnr(light, pan.frames) > m.psnr(heavy, pan.frames) + 8
    assert m.ssim(light, pan.frames) > m.ssim(heavy, pan.frames) + 0.1
    mse = ((heavy - pan.frames) ** 2).mean()
    assert m.psnr(heavy, pan.frames) == pytest.approx(10 * np.log10(1 / mse), abs=0.3)
    ref = structural_similarity(heavy[0], pan.frames[0], channel_axis=2, data_range=1.0,
                                gaussian_weights=True, sigma=1.5, use_sample_covariance=False)
    assert m.ssim_per_frame(heavy, pan.frames)[0] == pytest.approx(ref, abs=1e-4)
    u8 = (pan.frames * 255 + 0.5).astype(np.uint8)
    assert m.psnr(u8, pan.frames) > 50  # uint8 clips are read as [0, 1]


def test_warping_error_is_zero_for_a_static_clip_and_ranks_flicker_and_noise(pan):
    static = scene("static", W, H, 6)
    assert m.warping_error(static.frames) < 1e-7
    clean = m.warping_error(pan.frames)
    # at 160x90 bilinear resampling of fine texture alone costs ~7e-4 (true flow as well)
    assert clean < 1.5 * m.warping_error(pan.frames, flow=pan.flow_fwd) < 1.5e-3
    flicker = artifacts.global_flicker(pan.frames, seed=1)
    noisy = artifacts.gaussian_noise(pan.frames, 20 / 255, seed=1)
    assert m.warping_error(flicker, flow_from=pan.frames) > 5 * clean
    assert m.warping_error(noisy, flow_from=pan.frames) > 5 * clean


def test_warping_error_leaves_out_occlusions():
    clip = scene("subject", W, H, 8)
    blind = m.warping_error(clip.frames, flow=clip.flow_fwd)
    masked = m.warping_error(clip.frames, flow=clip.flow_fwd, occluded=clip.occluded)
    assert masked < 0.2 * blind  # what the face uncovers cannot be predicted
    flow, occluded = m.estimate_motion(clip.frames)
    assert m.warping_error(clip.frames, flow=flow, occluded=occluded) < 0.5 * blind
    assert occluded[clip.occluded].mean() > 0.5  # the estimate finds most true occlusions


def test_warping_error_leaves_out_the_cut():
    clip = scene("cut", W, H, 8)
    per_pair = m.warping_error_per_frame(clip.frames, cuts=clip.cuts)
    assert np.isnan(per_pair[3]) and np.isfinite(np.delete(per_pair, 3)).all()
    assert m.warping_error(clip.frames, cuts=clip.cuts) < 1e-3


def test_flicker_index_ranks_flicker_and_ignores_noise(pan):
    clean = m.flicker_index(pan.frames)
    flicker = degrade(pan, "flicker=0.08").frames
    strong = degrade(pan, "flicker=0.2").frames
    noisy = degrade(pan, "noise=10").frames
    assert m.flicker_index(flicker) > 10 * clean
    assert m.flicker_index(strong) > 2 * m.flicker_index(flicker)
    assert m.flicker_index(noisy) < 0.25 * m.flicker_index(flicker)  # grain averages out


@pytest.mark.parametrize("kind", ["static", "pan", "subject"])
def test_jitter_recovers_a_known_shake_within_10_percent(kind):
    clip = scene(kind, 192, 108, 24)
    shaken = degrade(clip, "jitter=3", seed=2)
    centre = np.array([(192 - 1) / 2, (108 - 1) / 2, 1.0])
    # the true path of the shaken frame's centre, in reference coordinates
    true = np.array([(lambda p: p[:2] / p[2])(c.astype(np.float64) @ centre)
                     for c in shaken.camera])
    expected = np.sqrt(np.mean(path_acceleration(true) ** 2))
    assert expected > 3.0
    assert m.jitter(shaken.frames) == pytest.approx(expected, rel=0.10)
    assert m.jitter(clip.frames) < 0.05 * expected  # steady or constant-speed camera


def test_motion_smoothness_ranks_shake_and_low_frame_rate(pan):
    smooth = m.motion_smoothness(pan.frames)
    shaken = degrade(pan, "jitter=2").frames
    assert m.motion_smoothness(shaken) > 3 * smooth
    freeze = pan.frames.copy()
    freeze[4] = freeze[3]  # a stutter: one frame held
    assert m.motion_smoothness(freeze) > 3 * smooth


def test_identity_drift_grows_with_the_drift_applied():
    clip = scene("static", W, H, 8)
    box = (40, 20, 120, 75)
    scores = [m.identity_drift(degrade(clip, f"drift={a}").frames, box=box)
              for a in (0.0, 0.15, 0.5)]
    assert scores[0] < 1e-6
    assert scores[2] > 3 * scores[1] > 0.01
    subject = scene("subject", W, H, 12)
    drifted = degrade(subject, "drift=0.6")
    # the face turns and passes behind a post, yet drift stands out
    assert m.identity_drift(drifted.frames, subject.subject_box) > \
        1.5 * m.identity_drift(subject.frames, subject.subject_box)


def test_side_by_side_puts_both_clips_in_step():
    before = np.zeros((4, 36, 64, 3), np.uint8)
    after = np.full((8, 36, 64, 3), 200, np.uint8)
    out = m.side_by_side(before, after, ("in", "out"))
    assert out.shape == (8, 36, 128, 3) and out.dtype == np.uint8
    # away from the labels the halves are the inputs, the shorter clip held in time
    assert (out[:, 20:, :64] == 0).all() and (out[:, 20:, 64:] == 200).all()
    labelled = out[:, :20]
    assert (labelled == 255).any()


def test_clips_the_metrics_cannot_score_are_refused_in_one_line(pan):
    """A torch-style (T, C, H, W) clip was scored as if its rows were its channels, without a
    word; one frame gave NaN with numpy's 'Mean of empty slice'; a (T, H, W) clip met a
    torch permute error; grey SSIM an AxisError and SSIM of frames under 11 px NaN."""
    clip = pan.frames[:4]
    with pytest.raises(ValueError, match=r"got \(4, 3, 90, 160\): move the channels last"):
        m.flicker_index(clip.transpose(0, 3, 1, 2))
    with pytest.raises(ValueError, match="it needs 2 or more, got 1"):
        m.warping_error(clip[:1])
    with pytest.raises(ValueError, match=r"for grey frames \(T, H, W\), give frames\[..., None\]"):
        m.jitter(clip[..., 0])
    grey = clip[..., :1]
    assert m.ssim(grey, grey) == pytest.approx(1.0)
    assert m.ssim(grey, grey[::-1]) < 0.99
    with pytest.raises(ValueError, match="ssim needs frames of 11 pixels a side or more"):
        m.ssim(clip[:, :10], clip[:, :10])


def test_a_plot_stopped_midway_leaves_nothing(tmp_path, monkeypatch):
    """Ctrl-C while the picture was written left half of it under the name given."""
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    series = {"flicker": {"in": np.array([1.0, 2.0, 1.5]), "out": np.array([0.5, 0.4, 0.6])}}
    m.plot_per_frame(series, str(tmp_path / "a.PNG"))
    assert (tmp_path / "a.PNG").read_bytes()[:4] == b"\x89PNG"

    def cut_short(self, fname, **kwargs):
        open(fname, "wb").write(b"\x89PNG half a picture")
        raise KeyboardInterrupt

    monkeypatch.setattr(Figure, "savefig", cut_short)
    with pytest.raises(KeyboardInterrupt):
        m.plot_per_frame(series, str(tmp_path / "b.png"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.PNG"]


@pytest.mark.parametrize("series", [{"flicker": [1.0, 2.0]}, [[1.0, 2.0]]])
def test_a_plot_of_another_layout_is_refused_in_one_line(tmp_path, series):
    """A flat dict ({metric: values}) raised "'list' object has no attribute 'items'"; the
    message names the layout plot_per_frame takes, and nothing is written."""
    with pytest.raises(TypeError, match=r"takes \{metric: \{clip label: values\}\}"):
        m.plot_per_frame(series, str(tmp_path / "a.png"))
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("top", [255.0, 65535.0])
def test_floats_on_another_scale_are_refused_as_the_filters_refuse_them(top):
    """Float frames on a 0-255 scale were scored as if in [0, 1] (a PSNR of about -40 dB, a
    flicker 255 times too large) where framemend.clean refuses them: the metrics give the
    same one-line error, with the remedy."""
    clip = scene("pan", 48, 32, 3, seed=0).frames
    with pytest.raises(ValueError, match=rf"read in \[0, 1\].*give video / {int(top)}$"):
        m.psnr(clip * top, clip * top)
    with pytest.raises(ValueError, match=r"read in \[0, 1\]"):
        m.noref.score(clip * top)
    assert m.psnr(clip, np.clip(clip + 0.01, 0, 1)) > 35  # [0, 1] is read as before


def test_psnr_of_empty_clips_is_refused_in_one_line(pan):
    """Two empty clips (a filter's output of no frames, a slice past the end) met numpy's
    "cannot reshape array of size 0 into shape (0,newaxis)"; ssim already said "no frames"."""
    empty = pan.frames[:0]
    for score in (m.psnr, m.psnr_per_frame):
        with pytest.raises(ValueError, match=r"no frames to score: the clips have shape "
                                             r"\(0, 90, 160, 3\)"):
            score(empty, empty)
