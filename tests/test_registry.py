"""One face per filter: a filter package called is its API function, found by module path."""
import numpy as np

import framemend
import framemend.stabilize.stabilize
from framemend.generate import scene
from media import moving_frames


def test_package_call_is_the_module_function(monkeypatch):
    frames = moving_frames(6, width=48, height=32)
    for package, path in ((framemend.denoise, "framemend.denoise.denoise"),
                          (framemend.deflicker, "framemend.deflicker.deflicker"),
                          (framemend.interpolate, "framemend.interpolate.interpolate"),
                          (framemend.stabilize, "framemend.stabilize.stabilize.stabilize"),
                          (framemend.realign, "framemend.realign.realign"),
                          (framemend.deboil, "framemend.deboil.deboil")):
        seen = []
        monkeypatch.setattr(path, lambda video, **options: seen.append(options) or video)
        assert package(frames, strength=1) is frames  # patching by module path takes effect
        assert seen == [{"strength": 1}]


def test_package_function_takes_any_kind_and_detects_cuts():
    """``framemend.denoise(x)`` is ``framemend.denoise.denoise(x)``: numpy in, numpy out, and
    the cut it finds in the frames is the one ``cuts=`` gives by hand."""
    shots = [scene("pan", width=96, height=64, frames=6, image=image).frames
             for image in ("coins", "rocket")]
    noise = np.random.default_rng(5).normal(0, 6, (12, 64, 96, 3))
    frames = np.clip(np.concatenate(shots) * 255 + noise, 0, 255).astype(np.uint8)
    detected = framemend.denoise(frames, sigma=8)
    assert detected.dtype == np.uint8 and detected.shape == frames.shape
    assert np.array_equal(detected, framemend.denoise.denoise(frames, sigma=8, cuts=[6]))
    assert not np.array_equal(detected, framemend.denoise.denoise(frames, sigma=8, cuts=[]))


def test_every_options_extremes_keep_the_frame_size():
    """Every filter with each numeric option at its least and its most allowed value, and each
    of its choices, on a small moving clip through the API: every value its ``--help`` allows
    runs (denoise's ``lookahead=0`` raised KeyError on the second frame) and gives finite
    frames of the input's size, as many as it was given unless the filter makes frames."""
    from framemend.chain.options import option_specs
    from framemend.chain.registry import all_filters

    frames = np.round(scene("subject", 96, 64, frames=8, seed=1).frames * 255).astype(np.uint8)
    failed = []
    for name, cls in all_filters().items():
        for spec in option_specs(cls.Options):
            values = list(spec["choices"] or ())
            if not values and spec["type"] in ("int", "float"):
                values = [v for v in (spec["min"], spec["max"]) if v is not None]
            for value in values:
                chain = f"{name}={spec['name']}={value}"
                try:
                    out = framemend.clean(frames, chain=chain, input_fps=8, device="cpu")
                except Exception as error:  # noqa: BLE001 - every failure is listed
                    failed.append(f"{chain}: {type(error).__name__} {error}")
                    continue
                if out.shape[1:] != frames.shape[1:] or not np.isfinite(out).all() or (
                        name != "interpolate" and len(out) != len(frames)):
                    failed.append(f"{chain}: {out.shape}")
    assert not failed
