"""One face per filter: a filter package called is its API function, found by module path."""
import numpy as np

import framemend
import framemend.stabilize.stabilize
from media import moving_frames


def test_package_call_is_the_module_function(monkeypatch):
    frames = moving_frames(6, width=48, height=32)
    for package, path in ((framemend.denoise, "framemend.denoise.denoise"),
                          (framemend.deflicker, "framemend.deflicker.deflicker"),
                          (framemend.interpolate, "framemend.interpolate.interpolate"),
                          (framemend.stabilize, "framemend.stabilize.stabilize.stabilize")):
        seen = []
        monkeypatch.setattr(path, lambda video, **options: seen.append(options) or video)
        assert package(frames, strength=1) is frames  # patching by module path takes effect
        assert seen == [{"strength": 1}]


def test_package_function_takes_any_kind_and_detects_cuts():
    """``framemend.denoise(x)`` is ``framemend.denoise.denoise(x)``: numpy in, numpy out, and a
    cut found in the frames stops the temporal average (as ``cuts=`` given by hand does)."""
    a = np.full((6, 32, 48, 3), 40, np.uint8)
    b = np.full((6, 32, 48, 3), 200, np.uint8)
    rng = np.random.default_rng(0)
    clip = np.clip(np.concatenate([a, b]) + rng.normal(0, 8, (12, 32, 48, 3)), 0, 255)
    clip = clip.astype(np.uint8)
    detected = framemend.denoise(clip, sigma=8)
    given = framemend.denoise.denoise(clip, sigma=8, cuts=[6])
    assert detected.dtype == np.uint8 and detected.shape == clip.shape
    assert np.array_equal(detected, given)
    assert abs(float(detected[5].mean()) - 40) < 2 and abs(float(detected[6].mean()) - 200) < 2
