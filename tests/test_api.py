"""The Python API on each kind of input, returning the same kind."""
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

import framemend
from media import make_video, moving_frames, stream_summary


@pytest.fixture
def frames():
    return moving_frames(6, width=40, height=24)


def test_numpy_uint8_and_float(frames):
    out = framemend.clean(frames, chain="identity")
    assert out.dtype == np.uint8 and np.array_equal(out, frames)
    f = frames.astype(np.float32) / 255
    out = framemend.identity(f)
    assert out.dtype == np.float32 and np.allclose(out, f)


def test_torch_keeps_dtype_and_layout(frames):
    t = torch.from_numpy(frames).permute(0, 3, 1, 2).contiguous()
    out = framemend.clean(t, chain="identity")
    assert out.dtype == torch.uint8 and out.shape == t.shape and torch.equal(out, t)
    gray = t[:, :1].float() / 255
    assert framemend.clean(gray, chain="identity").shape == gray.shape


def test_pil_list(frames):
    images = [Image.fromarray(f) for f in frames]
    out = framemend.clean(images, chain="identity")
    assert isinstance(out, list) and len(out) == 6
    assert np.array_equal(np.asarray(out[3]), frames[3])


def test_path_in_path_out(frames, tmp_path):
    src = str(tmp_path / "a.mkv")
    framemend.write(src, frames, fps=12, lossless=True)
    out = framemend.clean(src, chain="identity", lossless=True)
    assert out.endswith("a.clean.mkv")
    assert np.array_equal(framemend.read(out), frames)
    assert stream_summary(out)["fps"] == 12
    assert framemend.probe(out).frames == 6  # Matroska declares no count: it is decoded


def test_bad_kind_and_shape_are_clear():
    with pytest.raises(TypeError, match="numpy array"):
        framemend.clean(42, chain="identity")
    with pytest.raises(ValueError, match=r"\(T, H, W, 3\)"):
        framemend.clean(np.zeros((4, 4, 3), np.uint8), chain="identity")


def test_interpolate_fps_option_is_the_output_rate():
    frames = moving_frames(8, width=48, height=32)
    out = framemend.interpolate(frames, input_fps=8, fps=24)
    assert out.shape[0] == 24  # 1 s of video at 24 fps, not a doubling
    assert framemend.interpolate(frames[:1], input_fps=8, fps=24).shape[0] == 3


def test_in_memory_frames_take_the_file_pipelines_path(tmp_path):
    """numpy, PIL and uint8 torch input give what `framemend clean` gives on the same frames
    (a lossless round trip): the API reads raw pixels as the file pipeline does."""
    frames = moving_frames(10, width=64, height=48, seed=3)
    frames = np.clip(frames + np.random.default_rng(3).normal(0, 6, frames.shape), 0, 255
                     ).astype(np.uint8)  # noise for denoise to act on
    src = str(tmp_path / "in.mkv")
    framemend.write(src, frames, fps=24, lossless=True)
    for chain in ("deflicker,denoise", "denoise"):
        from_file = framemend.read(framemend.clean(src, chain=chain, lossless=True,
                                                   overwrite=True))
        in_memory = framemend.clean(frames, chain=chain, input_fps=24)
        assert in_memory.dtype == np.uint8
        assert np.abs(from_file.astype(int) - in_memory).max() == 0, chain
        pil = framemend.clean([Image.fromarray(f) for f in frames], chain=chain)
        assert np.array_equal(np.stack([np.asarray(p) for p in pil]), in_memory)
        t = torch.from_numpy(frames).permute(0, 3, 1, 2)
        assert torch.equal(framemend.clean(t, chain=chain).permute(0, 2, 3, 1),
                           torch.from_numpy(in_memory))


def test_thin_frames_are_cleaned_and_too_small_ones_refused():
    """A 1024x24 strip (OpenCV's DIS crashed on deflicker's analysis of such frames before
    flow.estimate grew them) loses most of its flicker through the default chain; 2x2 frames,
    too small for the 3x3 noise measures, get a one-line ValueError, as the CLI gives."""
    from framemend.generate import artifacts, scene
    from framemend.metrics import psnr

    clean_clip = scene("pan", 1024, 24, frames=16, seed=2).frames
    flickering = artifacts.global_flicker(clean_clip, seed=2).astype(np.float32)
    out = framemend.clean(flickering, device="cpu")
    assert psnr(out, clean_clip) > psnr(flickering, clean_clip) + 3.0  # measured +4.5 dB
    with pytest.raises(ValueError, match="2x2: 'denoise' takes frames of 3 to 4096"):
        framemend.denoise(np.zeros((4, 2, 2, 3), np.uint8))


@pytest.mark.parametrize("video, error, words", [
    (np.zeros((0, 32, 48, 3), np.uint8), ValueError, "no frames to clean"),
    ([], ValueError, "no frames to clean: the list is empty"),
    # integers other than uint8/uint16 were read as floats in [0, 1]: all but 0 came back as 1
    (np.full((2, 32, 48, 3), 200, np.int32), TypeError, "int32 cannot be read as pixels"),
    (torch.full((2, 3, 32, 48), 200, dtype=torch.int32), TypeError, "torch.int32 cannot be read"),
    (np.full((2, 32, 48, 3), np.nan, np.float32), ValueError, "NaN or infinite"),
    (torch.full((2, 3, 32, 48), float("inf")), ValueError, "NaN or infinite"),
    (np.zeros((2, 32, 48, 4), np.uint8), ValueError, "pass the first 3 channels, without the alpha"),
])
def test_input_that_cannot_be_pixels_is_refused_plainly(video, error, words):
    with pytest.raises(error, match=words):
        framemend.clean(video, chain="identity")


@pytest.mark.parametrize("fps", [0, -24, float("nan"), float("inf")])
def test_a_frame_rate_that_is_none_is_refused_plainly(fps, tmp_path):
    frames = moving_frames(2, width=48, height=32)
    with pytest.raises(ValueError, match="input_fps must be a frame rate above 0"):
        framemend.interpolate(frames, input_fps=fps)
    with pytest.raises(ValueError, match="fps must be a frame rate above 0"):
        framemend.write(str(tmp_path / "out.mp4"), frames, fps=fps)


def test_pil_alpha_is_said_to_be_dropped():
    frames = moving_frames(2, width=48, height=32)
    rgba = [Image.fromarray(np.dstack([f, np.full(f.shape[:2], 128, np.uint8)])) for f in frames]
    with pytest.warns(UserWarning, match="alpha channel"):
        out = framemend.clean(rgba, chain="identity")
    assert [im.mode for im in out] == ["RGB", "RGB"]
    assert np.array_equal(np.stack([np.asarray(im) for im in out]), frames)
    opaque = [Image.fromarray(np.dstack([f, np.full(f.shape[:2], 255, np.uint8)])) for f in frames]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing is lost: nothing is said
        framemend.clean(opaque, chain="identity")


def test_path_in_a_container_framemend_does_not_write_gets_matroska(tmp_path):
    """An FLV input's default output was '<name>.clean.flv', refused as an unknown extension."""
    src = str(tmp_path / "in.flv")
    make_video(src, moving_frames(3, 48, 32), fps=12)
    out = framemend.clean(src, chain="identity")
    assert out == str(tmp_path / "in.clean.mkv")
    assert stream_summary(out)["frames"] == 3
