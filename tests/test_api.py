"""The Python API on each kind of input, returning the same kind."""
import os
import re
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

import framemend
from media import make_rotated_video, make_video, moving_frames, stream_summary


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
    with pytest.warns(UserWarning, match="the input has one frame: interpolate works"):
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
    # floats of another scale were clipped to [0, 1]: 0-255 came back white, [-1, 1] lost its
    # darker half, without a word
    (np.linspace(0, 255, 2 * 32 * 48 * 3, dtype=np.float32).reshape(2, 32, 48, 3), ValueError,
     r"float frames are read in \[0, 1\], these span \[0, 255\]: for 0-255 values, give video / 255"),
    (torch.linspace(-1, 1, 2 * 3 * 32 * 48).reshape(2, 3, 32, 48), ValueError,
     r"span \[-1, 1\]: for a model's \[-1, 1\] output, give \(video \+ 1\) / 2"),
    (np.full((2, 32, 48, 3), 4000.0), ValueError, r"for 0-65535 values, give video / 65535"),
    # was numpy's "all input arrays must have the same shape"
    ([np.zeros((32, 48, 3), np.uint8)] * 2 + [np.zeros((16, 48, 3), np.uint8)], ValueError,
     r"the frames differ in size: frame 0 is \(32, 48, 3\), frame 2 \(16, 48, 3\)"),
    # was stacked as float64, then refused as 0-255 floats
    ([np.zeros((32, 48, 3), np.uint8), np.zeros((32, 48, 3), np.float32)], ValueError,
     "the frames differ in type: frame 0 is uint8, frame 1 float32"),
])
def test_input_that_cannot_be_pixels_is_refused_plainly(video, error, words):
    with pytest.raises(error, match=words):
        framemend.clean(video, chain="identity")


@pytest.mark.parametrize("empty, what", [
    ([], "the list is empty"), (np.zeros((0, 32, 48, 3), np.uint8), r"the ndarray has shape"),
    (torch.zeros((0, 3, 32, 48)), "the Tensor has shape"), (iter([]), "the iterator is empty")])
def test_no_frames_is_said_for_what_was_called(empty, what, tmp_path):
    """write() and the filter functions said "no frames to clean" of an empty clip; each says
    what it was asked to do, and write leaves no file."""
    with pytest.raises(ValueError, match=f"^no frames to write: {what}"):
        framemend.write(str(tmp_path / "e.mkv"), empty)
    assert list(tmp_path.iterdir()) == []
    empty = iter([]) if isinstance(empty, type(iter([]))) else empty
    with pytest.raises(ValueError, match=f"^no frames to denoise: {what}"):
        framemend.denoise(empty)


def test_floats_a_little_past_0_and_1_are_taken_and_clipped(frames):
    """A model's overshoot is taken (clipped as the writer clips it); only another scale is
    refused (above)."""
    x = frames.astype(np.float32) / 255 * 1.4 - 0.2
    out = framemend.clean(x, chain="identity")
    assert np.array_equal(out, np.clip(x, 0, 1))


@pytest.mark.parametrize("device", ["cpux", "automatic", "auto:1", "cpu:0", "cuda:0x"])
def test_a_device_name_that_is_none_of_the_forms_is_refused_plainly(frames, device):
    """The pattern took any name starting with auto or cpu: 'cpux' was torch's RuntimeError
    traceback, 'cpu:0' "no CUDA device is available to torch" (the CLI's --device too)."""
    from framemend.video.errors import SettingsError

    with pytest.raises(SettingsError, match=f"--device {device}: use auto, cpu, cuda or cuda:N"):
        framemend.clean(frames[:2], chain="identity", device=device)


def test_a_tensor_on_the_meta_device_is_refused_plainly():
    """torch's "Tensor.item() cannot be called on meta tensors" came out of a filter."""
    meta = torch.zeros(2, 3, 24, 40, device="meta")
    for call in (lambda: framemend.clean(meta, chain="denoise"), lambda: framemend.denoise(meta),
                 lambda: list(framemend.clean(iter(meta), chain="denoise", device="cpu"))):
        with pytest.raises(ValueError, match="the tensor is on the 'meta' device: framemend "
                           r"reads tensors on the CPU or a CUDA device \(a meta tensor"):
            call()


@pytest.mark.parametrize("fps", [0, -24, float("nan"), float("inf")])
def test_a_frame_rate_that_is_none_is_refused_plainly(fps, tmp_path):
    frames = moving_frames(2, width=48, height=32)
    with pytest.raises(ValueError, match="input_fps must be a frame rate above 0"):
        framemend.interpolate(frames, input_fps=fps)
    with pytest.raises(ValueError, match="fps must be a frame rate above 0"):
        framemend.write(str(tmp_path / "out.mp4"), frames, fps=fps)


def test_what_a_file_leaves_out_is_said_to_a_python_user(tmp_path):
    """read(), clean(path) and write() said nothing where ``framemend clean`` warns: an alpha
    channel read without it, 16-bit frames written at 10 bits."""
    from test_video_reader import _alpha_clip

    src = str(tmp_path / "a.mov")
    _alpha_clip(src, "png", "rgba", moving_frames(3, 48, 32))
    with pytest.warns(UserWarning, match=r"has an alpha channel \(rgba\)"):
        framemend.read(src)
    with pytest.warns(UserWarning, match=r"has an alpha channel \(rgba\)"):
        framemend.clean(src, chain="identity", output=str(tmp_path / "o.mkv"))
    deep = moving_frames(2, 48, 32).astype(np.uint16) * 257
    with pytest.warns(UserWarning, match="the 16-bit source is written at 10 bits"):
        framemend.write(str(tmp_path / "deep.mp4"), deep)


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


def test_a_tensor_that_requires_grad_is_cleaned_without_its_graph(frames):
    """A float tensor with requires_grad (a model's output) failed deep in a filter with
    "Can't call numpy() on Tensor that requires grad"."""
    t = (torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 255).requires_grad_()
    out = framemend.clean(t, chain="identity", device="cpu")
    assert out.shape == t.shape and out.dtype == t.dtype and not out.requires_grad
    assert torch.allclose(out, t.detach())
    assert framemend.denoise(t, device="cpu").shape == t.shape


def test_grey_frames_come_back_grey(frames):
    """Grey numpy (T, H, W, 1) was refused (torch's C = 1 was taken) and grey PIL images came
    back RGB; (T, H, W) is refused with the way to give it."""
    grey = frames[..., 1:2].copy()
    out = framemend.clean(grey, chain="identity", device="cpu")
    assert out.shape == grey.shape and out.dtype == np.uint8 and np.array_equal(out, grey)
    f = grey.astype(np.float32) / 255
    out = framemend.identity(f, device="cpu")
    assert out.shape == f.shape and out.dtype == np.float32 and np.allclose(out, f)
    images = [Image.fromarray(g[..., 0]) for g in grey]
    out = framemend.clean(images, chain="identity", device="cpu")
    assert [im.mode for im in out] == ["L"] * len(images)
    assert np.array_equal(np.stack([np.asarray(im) for im in out]), grey[..., 0])
    with pytest.raises(ValueError, match=r"grey frames \(T, H, W\), give video\[\.\.\., None\]"):
        framemend.clean(grey[..., 0], chain="identity")


def test_16_bit_grey_pil_images_keep_their_16_bits(frames):
    """16-bit grey images (``I;16``, as a 16-bit PNG opens) went through PIL's RGB conversion,
    which clips at 255: a mid-grey clip came back white, 8-bit RGB. Now back as ``I;16`` with
    their values; the denoised ones keep values between the 8-bit levels."""
    grey = frames[..., 1].astype(np.uint16) * 257 + 100
    images = [Image.fromarray(g) for g in grey]
    assert images[0].mode == "I;16"
    out = framemend.clean(images, chain="identity", device="cpu")
    assert [im.mode for im in out] == ["I;16"] * len(images)
    assert np.array_equal(np.stack([np.asarray(im) for im in out]), grey)
    out = framemend.clean(iter(images), chain="denoise", device="cpu")
    values = np.stack([np.asarray(im) for im in out])
    assert abs(values.mean() - grey.mean()) < 257 and (values % 257 != 0).mean() > 0.5


@pytest.mark.parametrize("images, words", [
    # PIL's RGB conversion clipped them: F in [0, 1] came back black
    (lambda f: [Image.fromarray(x[..., 0] / np.float32(255)) for x in f],
     "images of mode 'F' have no fixed scale: PIL's RGB conversion clips them; give the frames "
     r"as a numpy array, uint16 or floats in \[0, 1\]"),
    (lambda f: [Image.fromarray(x[..., 0].astype(np.int32) * 257) for x in f], "mode 'I'"),
    (lambda f: [Image.fromarray(x[..., 0]) for x in f[:2]]
     + [Image.fromarray(x[..., 0].astype(np.uint16)) for x in f[2:]],
     r"16-bit images \(I;16\) among 8-bit ones"),
    # numpy's "all input arrays must have the same shape"
    (lambda f: [Image.fromarray(x) for x in f[:3]] + [Image.fromarray(x[:20]) for x in f[3:]],
     "the frames differ in size: image 0 is 40x24, image 3 40x20"),
    # "'Image' object has no attribute 'shape'"
    (lambda f: [f[0], Image.fromarray(f[1])], "the frames differ in kind: frame 0 is a numpy "
     "array, frame 1 a PIL image"),
])
def test_pil_images_that_cannot_be_read_as_they_are_are_refused(frames, images, words):
    with pytest.raises(ValueError, match=words):
        framemend.clean(images(frames), chain="identity")


@pytest.mark.parametrize("pictures, words", [
    # OpenCV's "I0.sameSize(I1) in function 'calc'" from every pass that compares frames
    (lambda f: [f[0], f[1], f[2][:20]],
     "the frames differ in size: frame 0 is 40x24, frame 2 40x20"),
    # each frame came back as the first's kind: RGB after grey came back grey
    (lambda f: [Image.fromarray(f[0]).convert("L"), Image.fromarray(f[1])],
     "the frames differ in kind: frame 0 is an 8-bit PIL image \\(grey\\), frame 1 an 8-bit PIL "
     "image; give them all as one kind"),
    (lambda f: [f[0], f[1] / 255.0], "frame 0 is a uint8 array, frame 1 a float64 array"),
])
@pytest.mark.parametrize("chain", ["identity", "denoise", "stabilize"])
def test_an_iterator_whose_frames_change_is_refused(frames, pictures, words, chain):
    with pytest.raises(ValueError, match=words):
        list(framemend.clean(iter(pictures(frames)), chain=chain))


def test_write_refuses_an_iterator_whose_frames_change_size(frames, tmp_path):
    """A frame of another size was scaled to the first's size without a word."""
    out = tmp_path / "w.mp4"
    with pytest.raises(ValueError, match="the frames differ in size: frame 0 is 40x24, frame 2 "
                                         "40x20"):
        framemend.write(str(out), iter([frames[0], frames[1], frames[2][:20], frames[3]]))
    assert list(tmp_path.iterdir()) == []  # nothing left, as with any stopped write


def test_a_list_of_arrays_gives_a_list_back(frames):
    """A list of (H, W, 3) arrays (imageio's mimread) was refused as 'not list'."""
    out = framemend.clean(list(frames), chain="identity", device="cpu")
    assert isinstance(out, list) and len(out) == len(frames)
    assert np.array_equal(np.stack(out), frames)


def test_an_iterator_of_frames_is_streamed():
    """A generator of frames (a decoder's, a camera's) was refused ("not generator"); it gives
    a generator of the same frames as the whole array gives, pulling only the chain's window
    ahead of each output (memory flat in the clip's length: BENCHMARKS.md, sweep 6)."""
    import itertools

    frames = moving_frames(30, width=48, height=32, seed=5)
    frames = np.clip(frames + np.random.default_rng(5).normal(0, 6, frames.shape), 0, 255
                     ).astype(np.uint8)
    pulled = []

    def source():
        for i, f in enumerate(itertools.islice(itertools.cycle(frames), 3000)):
            pulled.append(i)
            yield f

    out = framemend.clean(source(), chain="deflicker,denoise", device="cpu")
    first = list(itertools.islice(out, 3))
    assert len(pulled) < 100 and first[0].shape == (32, 48, 3)  # measured 21 of the 3000
    whole = framemend.clean(frames, chain="deflicker,denoise", device="cpu")
    streamed = framemend.clean(iter(frames), chain="deflicker,denoise", device="cpu")
    assert np.array_equal(np.stack(list(streamed)), whole)
    images = framemend.identity((Image.fromarray(f) for f in frames[:3]), device="cpu")
    assert [im.mode for im in images] == ["RGB"] * 3
    with pytest.raises(ValueError, match="the iterator is empty"):
        framemend.clean(iter([]), chain="identity")


def test_keywords_clean_does_not_take_are_refused(frames, tmp_path):
    """clean(frames, fps=30) ran at 24 fps, and crf=/output= with frames were dropped without
    a word (nothing written); with a path, a misspelt keyword named clean_file."""
    with pytest.raises(TypeError, match="'fps'; did you mean 'input_fps'"):
        framemend.clean(frames, chain="identity", fps=30)
    with pytest.raises(TypeError, match=r"writes no file for frames in memory \(output, crf"):
        framemend.clean(frames, chain="identity", output=str(tmp_path / "o.mp4"), crf=18)
    src = str(tmp_path / "a.mkv")
    framemend.write(src, frames, fps=12)
    with pytest.raises(TypeError, match="clean\\(\\) got an unexpected keyword argument 'crff'; "
                                        "did you mean 'crf'"):
        framemend.clean(src, chain="identity", crff=18)
    # was dropped without a word: the file's own rate was used
    with pytest.raises(TypeError, match="takes input_fps for frames in memory only"):
        framemend.clean(src, chain="identity", input_fps=30)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mkv"]


def test_frame_rates_of_any_number_type_and_a_torch_device(frames):
    """np.float32 rates were refused by Fraction (TypeError), a string or None failed on a
    comparison, and torch.device('cpu') on a regular expression."""
    out = framemend.interpolate(frames[:4], input_fps=np.float32(12), fps=24, device="cpu")
    assert out.shape[0] == 8
    with pytest.raises(TypeError, match="input_fps must be a number of frames per second, got '24'"):
        framemend.clean(frames, chain="identity", input_fps="24")
    out = framemend.clean(frames, chain=["identity", "identity"], device=torch.device("cpu"))
    assert np.array_equal(out, frames)
    with pytest.raises(ValueError, match=r"channels last, give video.permute\(0, 3, 1, 2\)"):
        framemend.clean(torch.from_numpy(frames), chain="identity")


@pytest.mark.parametrize("name", ["denoise", "deflicker", "deboil", "stabilize", "realign"])
def test_each_filter_function_takes_input_fps_as_clean_does(frames, name):
    """``framemend.denoise(frames, input_fps=12)`` (the name ``clean``, ``interpolate`` and the
    README use for the frames' rate) was "apply_filter() got multiple values for keyword
    argument 'input_fps'"; it is the functions' own ``fps``."""
    function = getattr(framemend, name)
    video = moving_frames(4)  # 96x64: OpenCV's DIS on frames of 32 rows (the fixture's 24,
    # grown to 32) gives flows that differ with the calls made before, so two runs differ
    assert np.array_equal(function(video, input_fps=12), function(video, fps=12))


def test_a_presets_name_is_a_chain(frames):
    """chain="default" (the CLI's ``--preset default``) was "unknown filter 'default'"."""
    from framemend.presets import PRESETS

    noisy = np.clip(frames + np.random.default_rng(0).normal(0, 6, frames.shape), 0, 255
                    ).astype(np.uint8)
    by_name = framemend.clean(noisy, chain="default", device="cpu")
    assert np.array_equal(by_name, framemend.clean(noisy, chain=PRESETS["default"], device="cpu"))
    assert np.array_equal(by_name, framemend.clean(noisy, device="cpu"))


def test_read_only_float_frames_are_read_not_written(frames, tmp_path):
    """Float frames from ``np.load(mmap_mode="r")`` crashed the process (SIGSEGV: the
    scaling wrote in place into the read-only mapping); read-only memory also drew torch's
    "not writable ... undefined behavior" warning."""
    import subprocess
    import sys

    f = frames.astype(np.float32) / 255
    np.save(tmp_path / "f.npy", f)
    code = ("import numpy as np, framemend; "
            f"m = np.load({str(tmp_path / 'f.npy')!r}, mmap_mode='r'); "
            "assert np.array_equal(framemend.clean(m, chain='identity', device='cpu'), m)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-500:]
    f.flags.writeable = False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.array_equal(framemend.identity(f, device="cpu"), f)


def test_an_iterator_of_frames_is_written_as_it_comes(tmp_path):
    """``write(path, clean(frames_iterator))`` streams a clip from end to end (write refused
    iterators, so the stream had to be held whole to be written)."""
    frames = moving_frames(60, width=48, height=32, seed=6)
    pulled = []

    def source():
        for f in frames:
            pulled.append(len(pulled))
            if len(pulled) == 50:  # the writer is at work before the source ends
                assert any(p.name.startswith(".s.mkv.") for p in tmp_path.iterdir())
            yield f

    def encoded():  # what write takes from clean's generator, counted as it is taken
        for i, f in enumerate(framemend.clean(source(), chain="denoise", device="cpu")):
            assert len(pulled) < i + 30  # the chain's window ahead, not the 60 frames
            yield f

    framemend.write(str(tmp_path / "s.mkv"), encoded(), fps=12, lossless=True)
    whole = framemend.clean(frames, chain="denoise", device="cpu")
    assert np.array_equal(framemend.read(str(tmp_path / "s.mkv")), whole)
    with pytest.raises(ValueError, match="the iterator is empty"):
        framemend.write(str(tmp_path / "e.mkv"), iter([]))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.mkv"]


def test_read_gives_a_phones_portrait_video_upright(tmp_path):
    """A portrait video stored on its side with a display rotation (as phones write it) was
    read on its side, and ``write(path, clean(read(src)))`` wrote it so, with no rotation: a
    sideways clip. It is read as a player shows it, and written back upright."""
    src, out = str(tmp_path / "phone.mp4"), str(tmp_path / "o.mkv")
    shown = moving_frames(3, 32, 48)
    make_rotated_video(src, np.ascontiguousarray(np.rot90(shown, -1, axes=(1, 2))), 90)
    frames = framemend.read(src)
    assert frames.shape == shown.shape and np.abs(frames.astype(int) - shown).max() <= 2
    framemend.write(out, frames, fps=12, lossless=True)
    assert np.array_equal(framemend.read(out), frames)


def test_an_existing_output_tells_a_python_user_how_to_replace_it(tmp_path):
    """The refusal named only the CLI's --overwrite to a Python user of clean(path)."""
    from framemend.video import VideoError

    src, out = str(tmp_path / "in.mp4"), tmp_path / "out.mp4"
    make_video(src, moving_frames(2, 32, 24))
    out.write_bytes(b"mine")
    with pytest.raises(VideoError, match=r"overwrite=True in Python"):
        framemend.clean(src, chain="identity", output=str(out))
    assert out.read_bytes() == b"mine"


@pytest.mark.parametrize("call", ["clean_device", "write_crf", "write_extension"])
def test_settings_that_cannot_work_are_value_errors_to_python(tmp_path, call):
    """``device="gpu"`` and ``crf=99`` raised a RuntimeError (the CLI's settings error), which
    ``except ValueError``, where the README sends a bad option, did not catch; they are both
    ``framemend.VideoError`` and ``ValueError`` now."""
    frames = moving_frames(3, 48, 32)
    with pytest.raises(ValueError) as caught:
        if call == "clean_device":
            framemend.clean(frames, device="gpu")
        elif call == "write_crf":
            framemend.write(str(tmp_path / "o.mp4"), frames, crf=99)
        else:
            framemend.write(str(tmp_path / "o.xyz"), frames)
    assert isinstance(caught.value, framemend.VideoError)
    assert not list(tmp_path.iterdir())


def test_write_refuses_an_existing_file_as_clean_does(tmp_path):
    """write() replaced an existing file without a word, where clean(path) and ``framemend
    clean`` without -y refuse; it refuses before taking a frame, and overwrite=True replaces."""
    from framemend.video import VideoError

    out, frames = tmp_path / "out.mkv", moving_frames(2, 32, 24)
    out.write_bytes(b"mine")
    taken = []
    for video in (frames, (taken.append(f) or f for f in frames)):
        with pytest.raises(VideoError, match=r"output '.*out.mkv' exists \(use -y/--overwrite, "
                                             r"or overwrite=True in Python"):
            framemend.write(str(out), video)
    assert out.read_bytes() == b"mine" and taken == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mkv"]
    framemend.write(out, frames, lossless=True, overwrite=True)
    assert np.array_equal(framemend.read(str(out)), frames)


def test_write_given_the_frames_first_says_the_order(tmp_path):
    """``framemend.write(frames, path)`` (the order of ``clean(frames, ...)``) raised
    os.fspath's "expected str, bytes or os.PathLike object, not ndarray"."""
    frames = moving_frames(2, 32, 24)
    with pytest.raises(TypeError, match=r"^write\(path, video\): path must be a file name "
                                        r"\(str or os.PathLike\), got ndarray \(the frames "
                                        r"came first\)$"):
        framemend.write(frames, str(tmp_path / "o.mkv"))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name, fps, top", [("o.mkv", 5000, 1000), ("o.webm", 1001, 1000),
                                            ("o.ts", 100000, 90000), ("o.gif", 1000, 100),
                                            ("o.avi", 1000, 999)])
def test_write_refuses_a_rate_its_container_cannot_keep(tmp_path, name, fps, top):
    """write(fps=...) had no limit: at 5000 fps an .mkv held frames at one time, said only when
    read; a .ts at 100000 fps and an .avi at 1001 failed with "Invalid argument ... returned
    22", a .gif at 1000 "came out wrong" after the encode. Refused before a frame is taken;
    the container's top rate still writes, each frame at a time of its own."""
    from framemend.video import SettingsError

    frames, taken = moving_frames(6, 32, 24), []
    for video in (frames, (taken.append(f) or f for f in frames)):
        with pytest.raises(SettingsError, match=rf"cannot write '.*{name}' at {fps} fps: .* "
                                                rf"keeps frames apart up to {top} fps$"):
            framemend.write(str(tmp_path / name), video, fps=fps)
    assert taken == [] and list(tmp_path.iterdir()) == []
    framemend.write(str(tmp_path / name), frames, fps=top)
    times = stream_summary(str(tmp_path / name))["times"]
    assert len(times) == 6 and len(set(times)) == 6, times


@pytest.mark.parametrize("chain, n, said", [
    ("realign=keyframes=50", 6, r"realign: keyframes=50 past the clip's 6 frames \(0 to 5\): "
     "nothing was corrected"),
    ("realign=keyframes=0+50", 6, "realign: keyframes=50 past the clip's 6 frames .*not used"),
    ("realign=region=face", 6, "realign: region=face found no face: nothing was corrected; "
     "name the subject with box="),
    ("deflicker,denoise,stabilize", 1, "the input has one frame: deflicker, stabilize work from "
     "what changes between frames"),
    ("deflicker=mode=local", 2, r"deflicker: mode=local works from 3 frames or more, the input "
     "has 2: nothing was corrected"),
    ("denoise,stabilize", 2, r"stabilize: mode=smooth works from 3 frames or more"),
    ("stabilize=max_zoom=1", 6, r"stabilize: max_zoom=1 allows no crop, and no frame is given a "
     "black border: nothing was corrected"),
    ("interpolate=factor=1", 6, r"interpolate: factor=1 keeps the input's rate \(24 fps\): no "
     "frame was made"),
    ("interpolate=fps=24", 6, r"interpolate: fps=24 keeps the input's rate"),
])
def test_what_a_filter_did_not_do_is_said(frames, chain, n, said):
    """A keyframe past the clip's end, no face found, one frame for filters that compare
    frames (sweep 10's lead) and two for the modes that fit a line through a frame's neighbours
    (sweep 11's) changed nothing without a word; an iterator is told too."""
    for video in (frames[:n], iter(frames[:n])):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = framemend.clean(video, chain=chain)
            if not isinstance(out, np.ndarray):
                out = list(out)
        mine = [w for w in caught if re.search(said, str(w.message))]
        assert mine, [str(w.message) for w in caught]
        assert all(w.filename == __file__ for w in mine), [w.filename for w in mine]  # the caller's line
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # what did its work says nothing
        framemend.clean(frames, chain="realign=keyframes=0+5")
        framemend.clean(frames[:1], chain="denoise")
        framemend.clean(frames[:2], chain="deflicker=mode=offset,stabilize=mode=lock")
        framemend.clean(frames[:3], chain="deflicker,stabilize=max_zoom=1.01")
        framemend.clean(frames, chain="interpolate=fps=12")  # a lower rate: frames left out


def _through(chain, frames, cuts):
    """``frames`` through ``chain`` at 24 fps, the frames ``cuts`` starting a shot."""
    from framemend.api import _run_in_memory, _source
    from framemend.chain.parser import build_chain
    filters = [cls(options, "cpu") for cls, options in build_chain(chain)]
    return list(_run_in_memory(_source(frames, "cpu")[0], filters, 24, cuts))


@pytest.mark.parametrize("call, said", [
    (lambda f: framemend.deflicker(f, cuts=[4]), r"deflicker: mode=auto works from 3 frames of "
     r"a shot or more: frames 4-5, a shot of their own between scene cuts, were left as they are"),
    (lambda f: framemend.deflicker(f, mode="global", cuts=[1, 3, 5]), r"deflicker: mode=global "
     r".*: frame 0, frames 1-2, frames 3-4 and 1 more, shots of their own .*were left"),
    (lambda f: framemend.stabilize(f, cuts=[4]), r"stabilize: mode=smooth works from 3 frames "
     r"of a shot or more: frames 4-5, a shot"),
    (lambda f: framemend.deboil(f, cuts=[2, 3]), r"deboil: works from 2 frames of a shot or "
     r"more: frame 2, a shot of its own between scene cuts, was left as it is"),
    (lambda f: _through("interpolate=2,deflicker=mode=local", f, cuts=[5]),
     r"deflicker: mode=local .*: the 2 frames from 0.208 s, a shot of their own"),
])
def test_a_shot_too_short_for_a_filter_is_said(frames, call, said):
    """A 2-frame shot after a scene cut is left as it is by the modes that fit a line through
    three frames, as a 2-frame clip is, but the note counted the whole clip's frames and said
    nothing (sweep 12's lead); a frame number counts the input's frames, a time is given where
    an earlier filter changed the rate."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call(frames)
    assert [w for w in caught if re.search(said, str(w.message))], [str(w.message) for w in caught]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # shots long enough for the mode say nothing
        framemend.deflicker(frames, cuts=[3])
        framemend.deflicker(frames, mode="offset", cuts=[4])
        framemend.stabilize(frames, mode="lock", cuts=[4])


@pytest.mark.parametrize("chain", ["", "  ", [], ()])
def test_an_empty_chain_is_refused_as_the_cli_refuses_it(frames, tmp_path, chain):
    """``chain=""`` or ``[]`` (a program's list of filters that came out empty) ran the default
    preset without a word, where ``-f ""`` is refused; leaving the chain out runs the default."""
    with pytest.raises(framemend.OptionError, match="the chain is empty: name its filters"):
        framemend.clean(frames, chain=chain)
    with pytest.raises(framemend.OptionError, match="the chain is empty"):
        framemend.clean_folder(tmp_path, tmp_path / "out", chain=chain)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("chain", ["realign=region=face:box=500+500+600+600",
                                   "stabilize=mode=subject:box=-90+0+-40+20"])
def test_a_box_outside_the_frames_is_refused_plainly(frames, chain):
    """A subject box wholly outside the frames changed nothing without a word."""
    name = chain.split("=")[0]
    box = chain.split("box=")[1]
    with pytest.raises(ValueError, match=re.escape(f"frames of 40x24: {name}'s box={box} lies "
                                                   "outside the frame")):
        framemend.clean(frames, chain=chain)
    framemend.clean(frames, chain=chain.replace(box, "30+20+90+90"))  # partly inside: taken


@pytest.mark.parametrize("call, says", [
    (lambda f: framemend.realign(f, keyframes=(-1,)),
     r"realign: option 'keyframes' must be in \[0, inf\], got \(-1,\)"),
    (lambda f: framemend.realign(f, keyframes=()),
     "realign: option 'keyframes' expects one or more values, got none"),
    (lambda f: framemend.denoise(f, cuts=[6]),
     r"cuts: 6 is not a frame number of these frames \(0 to 5\)"),
    (lambda f: framemend.denoise(f, cuts=[-1]), "cuts: -1 is not a frame number"),
    (lambda f: framemend.denoise(iter(f), cuts=[1.5]), r"cuts: 1.5 is not a frame number .*0 or more"),
])
def test_keyframes_and_cuts_that_are_no_frames_are_refused(frames, call, says):
    """A negative keyframe, none, or a cut past the end or below 0 marked nothing: the pass
    ran as if they were not given, without a word."""
    with pytest.raises(ValueError, match=says):
        call(frames)


@pytest.mark.parametrize("pictures, words", [
    # was "expected an array (T, H, W, 3) ... got (1, 6, 24, 40, 3)", a shape never made
    (lambda f: [f, f], r"arrays \(H, W, 3\), or \(H, W, 1\) for grey; frame 0 is \(6, 24, 40, "
     r"3\): for batches of frames, give itertools.chain.from_iterable\(batches\)"),
    # was "for channels first, give video.transpose(0, 2, 3, 1)", which fails on a frame
    (lambda f: list(f.transpose(0, 3, 1, 2)), r"frame 0 is \(3, 24, 40\): give each frame as "
     r"frame.transpose\(1, 2, 0\)"),
    (lambda f: [f[0], f[1, ..., 0]], r"frame 1 is \(24, 40\): for grey frames \(H, W\), give "
     r"each as frame\[..., None\]"),
    (lambda f: list(torch.from_numpy(f)), r"tensors \(3, H, W\), or \(1, H, W\) for grey; frame "
     r"0 is \(24, 40, 3\): give each frame as frame.permute\(2, 0, 1\)"),
])
def test_an_iterators_frame_of_another_shape_is_said_of_the_frame(frames, pictures, words,
                                                                   tmp_path):
    with pytest.raises(ValueError, match="^an iterator's frames must be .*" + words):
        list(framemend.clean(iter(pictures(frames)), chain="identity"))
    with pytest.raises(ValueError, match=words):
        framemend.write(str(tmp_path / "w.mkv"), iter(pictures(frames)))


def test_a_list_of_tensors_gives_a_list_back(frames):
    """A list of (C, H, W) tensors was refused as 'not list', as a list of arrays once was."""
    tensors = list(torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 255)
    out = framemend.clean(tensors, chain="identity", device="cpu")
    assert isinstance(out, list) and len(out) == len(frames)
    assert out[0].dtype == torch.float32 and torch.allclose(torch.stack(out), torch.stack(tensors))
    with pytest.raises(ValueError, match=r"frame 0 is \(3, 24, 40\), frame 1 \(3, 20, 40\)"):
        framemend.clean([tensors[0], tensors[1][:, :20]], chain="identity")


def test_a_keyword_write_does_not_take_is_refused_before_a_frame_is_taken(frames, tmp_path):
    """write(..., crff=18) raised write_video()'s TypeError once the iterator's first frame was
    taken; it names write() and what it takes, and takes nothing."""
    pictures = iter(frames)
    with pytest.raises(TypeError, match=r"^write\(\) got an unexpected keyword argument 'crff'; "
                                        "did you mean 'crf'"):
        framemend.write(str(tmp_path / "w.mp4"), pictures, crff=18)
    assert np.array_equal(next(pictures), frames[0]) and list(tmp_path.iterdir()) == []


def test_one_pil_image_is_told_to_come_in_a_list(frames):
    with pytest.raises(TypeError, match=r"not Image: for one picture, give \[image\]$"):
        framemend.clean(Image.fromarray(frames[0]), chain="identity")


@pytest.mark.parametrize("chain, words", [
    (3, "chain must be a string .* not int$"),  # was "'int' object has no attribute 'split'"
    ({"denoise": 1}, "not dict$"),  # was "unhashable type: 'dict'"
    (["identity", 3], "each filter of the list is a string .* not int 3$")])
def test_a_chain_of_another_type_is_refused_plainly(frames, chain, words):
    with pytest.raises(TypeError, match=words):
        framemend.clean(frames, chain=chain)


def test_an_output_that_is_a_folder_is_said_to_be_one(frames, tmp_path):
    """write(folder) and clean(path, output=folder) said "unknown extension '(none)'"."""
    with pytest.raises(framemend.VideoError, match="it is a folder; give a file name"):
        framemend.write(str(tmp_path), frames)
    src = framemend.write(str(tmp_path / "a.mkv"), frames)
    with pytest.raises(framemend.VideoError, match="it is a folder; give a file name"):
        framemend.clean(src, chain="identity", output=str(tmp_path) + "/")


def test_a_filter_function_given_a_path_and_an_output_says_to_use_clean(tmp_path):
    """``framemend.interpolate("in.mp4", factor=2, output="out.mp4")`` (clean's way with a file)
    said "interpolate: unknown option 'output'": the options were read before the path was seen,
    and the error named an option, not the way to clean a file."""
    with pytest.raises(TypeError, match=re.escape(
            "framemend.interpolate() works on frames; for files use "
            "framemend.clean(path, chain='interpolate')")):
        framemend.interpolate(str(tmp_path / "in.mp4"), factor=2, output=str(tmp_path / "o.mp4"))


@pytest.mark.parametrize("cuts", [3, "0,3"])
def test_cuts_that_are_no_list_are_refused_plainly(frames, cuts):
    """``framemend.interpolate(frames, 12, 3)`` (3 meant as the factor, taken as ``cuts``) met
    "'int' object is not iterable" from inside the cuts' check; a string was taken letter by
    letter ("cuts: '0' is not a frame number")."""
    with pytest.raises(TypeError, match=re.escape(
            f"cuts must be a list of the frames that start a new shot, not {cuts!r}")):
        framemend.interpolate(frames, 12, cuts)


def test_a_crf_that_is_no_number_is_refused_in_one_line(frames, tmp_path):
    """``crf="18"`` (a number read from a config file or a form) met "'<=' not supported
    between instances of 'int' and 'str'" from write, clean and clean_folder alike."""
    src = str(tmp_path / "in.mp4")
    framemend.write(src, frames)
    says = re.escape("crf must be a number (0 to 51 for libx264; lower is better), got '18'")
    with pytest.raises(TypeError, match=says):
        framemend.write(str(tmp_path / "w.mp4"), frames, crf="18")
    with pytest.raises(TypeError, match=says):
        framemend.clean(src, chain="identity", output=str(tmp_path / "c.mp4"), crf="18")
    with pytest.raises(TypeError, match=says):
        framemend.clean_folder(tmp_path, tmp_path / "out", chain="identity", crf="18")
    assert sorted(os.listdir(tmp_path)) == ["in.mp4"]
