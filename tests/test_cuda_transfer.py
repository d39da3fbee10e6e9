"""Frames up to a GPU and down again (framemend.cuda.transfer), checked on the CPU against a fake
GPU (tests/fake_cuda.py) that runs a non-blocking copy only once an event after it is waited
for: pinned buffers from a pool reused only after their copy, every copy non-blocking on a copy
stream, the filters' stream waiting on an event (never the host), and the same pixels as the
CPU path, through the real clean_file."""
import numpy as np
import pytest
import torch

import fake_cuda
from framemend import generate
from framemend.cuda import device_path_on_cpu
from framemend.pipeline import clean_file
from framemend.video import read_video, write_video

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _raws(n: int, dtype=np.uint8) -> list[np.ndarray]:
    top = np.iinfo(dtype).max
    g = np.random.default_rng(0)
    return [g.integers(0, top, (6, 5, 3), endpoint=True).astype(dtype) for _ in range(n)]


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_uploads_reuse_one_pinned_buffer_only_after_its_copy(monkeypatch, dtype):
    """Five frames uploaded before the filters read any (the decode thread ahead): each reads
    back its own pixels, though one pinned buffer served them all (each upload waits for the
    copy before it, which on the fake has not run until then); every copy non-blocking on the
    upload stream; reading them, the filters' stream waits on the copies' events and the host
    waits for none."""
    cuda, copies = fake_cuda.install(monkeypatch)
    raws = _raws(5, dtype)
    uploads = [copies.upload(raw.copy()) for raw in raws]
    assert copies.uploads.made == 1
    assert cuda.entries("copy") == [("copy", "copy0", True, "MainThread")] * 5
    cuda.log.clear()
    for raw, up in zip(raws, uploads):
        image = up.tensor()
        assert image.dtype == (torch.uint8 if dtype == np.uint8 else torch.float32)
        assert (image.numpy() == raw).all()
    assert not cuda.entries("synchronize")
    assert cuda.entries("wait_event") == [("wait_event", "compute", "MainThread")] * 5
    assert cuda.entries("hold") == [("hold", "compute")] * 5


def test_downloads_are_waited_for_only_when_read_and_reuse_their_buffers(monkeypatch):
    """Three output frames downloaded before the writer reads any: the download stream waits
    on the filters' stream's event, the host waits for nothing until the writer reads a frame,
    which then holds its pixels; a buffer given back serves the next frames (three made for
    nine frames)."""
    cuda, copies = fake_cuda.install(monkeypatch)
    frames = [torch.from_numpy(raw) for raw in _raws(9)]
    for start in (0, 3, 6):
        downloads = [copies.download(f) for f in frames[start:start + 3]]
        assert len(cuda.entries("synchronize")) == start
        for f, down in zip(frames[start:start + 3], downloads):
            with down as pixels:
                assert (pixels == f.numpy()).all()
    assert copies.downloads.made == 3
    assert cuda.entries("copy") == [("copy", "copy1", True, "MainThread")] * 9
    assert cuda.entries("wait_event") == [("wait_event", "copy1", "MainThread")] * 9
    assert len(cuda.entries("synchronize")) == 9


def _clean(src: str, dst: str) -> np.ndarray:
    with device_path_on_cpu():  # denoise then reads tensors (what it does on a GPU)
        clean_file(src, dst, "denoise", device="cpu", lossless=True, overwrite=True)
    return read_video(dst)[0]


@pytest.mark.parametrize("frames", [6, 14])
def test_clean_file_through_the_fake_gpu_gives_the_cpu_pixels(tmp_path, monkeypatch, frames):
    """clean_file (decode, denoise's device path, lossless encode) on the fake GPU gives the
    same pixels as on the CPU; each frame crosses once each way, non-blocking on a copy stream
    (uploads on one, started by the decode thread; downloads on the other, by the filter
    thread); the filters' stream waits on the uploads' events in the filters' threads, which
    never wait on the host; one
    upload buffer and at most 4 download buffers (the engine's two queues, the frame being
    encoded and the one being made) whatever the clip's length."""
    clip = generate.degrade(generate.scene("subject", 48, 32, frames=frames, seed=1),
                            "noise=20", seed=1).frames
    src = str(tmp_path / "in.mkv")
    write_video(src, clip, lossless=True)
    cpu = _clean(src, str(tmp_path / "cpu.mkv"))
    cuda, copies = fake_cuda.install(monkeypatch)
    gpu = _clean(src, str(tmp_path / "gpu.mkv"))
    assert gpu.shape == cpu.shape and (gpu == cpu).all()
    assert sorted(cuda.entries("copy")) == ([("copy", "copy0", True, "framemend-decode")] * frames
                                            + [("copy", "copy1", True, "MainThread")] * frames)
    assert {thread for _, thread in cuda.entries("synchronize")} <= {"framemend-decode",
                                                                      "framemend-encode"}
    waits = cuda.entries("wait_event")  # (denoise reads its frames in a thread of its own)
    assert {stream for _, stream, _ in waits} == {"compute", "copy1"}
    assert not {thread for _, _, thread in waits} & {"framemend-decode", "framemend-encode"}
    assert copies.uploads.made == 1 and copies.downloads.made <= 4
