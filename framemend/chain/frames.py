"""Frames as the engine moves them.

A :class:`Frame` is one picture: an RGB float32 tensor ``(C, H, W)`` with values in [0, 1] on the
run's device, its presentation time in seconds and a scene-cut flag (``cut`` is True on the first
frame of a new shot). ``aux`` carries per-frame results that later filters may reuse while the
geometry of the frame is unchanged (for example optical flow to the previous frame).
"""
from __future__ import annotations

from typing import Callable

import cv2
import numpy as np

from framemend._torch import F, device_type, is_tensor, torch
from framemend.cuda import transfer
from framemend.kernels.buffers import frame_array


class Frame:
    """One frame: ``image`` is ``(C, H, W)`` float32 RGB in [0, 1].

    A decoded frame may instead hold its ``raw`` pixels, an ``(H, W, 3)`` uint8/uint16 array,
    and becomes a tensor on ``device`` the first time a filter reads ``image`` (on a GPU from
    an upload :meth:`stage` started ahead, which keeps ``raw`` meanwhile). It may also hold
    the decoder's own ``picture`` (e.g. a YUV ``av.VideoFrame``) with ``to_raw(picture, size)``,
    the conversion that makes ``raw`` from it on first use (``size=(w, h)`` resizes on the
    way): a frame no filter reads (identity chains) keeps its ``picture``, and the writer
    encodes that without any colour conversion. ``yuv_matrix`` names the YCbCr matrix of a
    picture whose planes a filter may read and write itself (planar YUV, 4:2:0, 4:2:2 or
    4:4:4, :func:`framemend.video.planes.subsampling`), as swscale does (``itu601``,
    ``itu709``, ``bt2020``); None for any other.
    """

    __slots__ = ("_image", "_raw", "_upload", "picture", "_to_raw", "yuv_matrix", "raw_scale",
                 "device", "time", "cut", "aux")

    def __init__(self, image: torch.Tensor | None = None, time: float = 0.0, cut: bool = False,
                 aux: dict | None = None, raw: np.ndarray | None = None,
                 raw_scale: float = 255.0, device: torch.device | str = "cpu",
                 picture=None, to_raw: Callable[..., np.ndarray] | None = None,
                 yuv_matrix: str | None = None):
        if image is None and raw is None and picture is None:
            raise ValueError("a Frame needs an image, raw pixels or a decoded picture")
        if picture is not None and raw is None and to_raw is None:
            raise ValueError("a Frame holding only a decoded picture needs its to_raw conversion")
        self._image = image
        self._raw = raw if image is None else None
        self._upload = None  # a GPU's copy of raw, started (stage)
        self.picture = picture if image is None else None
        self._to_raw = to_raw
        self.yuv_matrix = yuv_matrix
        self.raw_scale = raw_scale
        self.device = device
        self.time = time
        self.cut = cut
        self.aux = {} if aux is None else aux

    @property
    def raw(self) -> np.ndarray | None:
        """``(H, W, 3)`` uint8/uint16 pixels while the frame is not a tensor yet, else None.
        Made from the decoded picture on first use; the picture is then let go, so a frame
        holds one copy of its pixels."""
        if self._raw is None and self._image is None:
            self._raw = self._to_raw(self.picture)
            self.picture = None
        return self._raw

    @property
    def yuv(self):
        """The decoded picture while the frame still is one whose planes a filter may read
        (``yuv_matrix`` set), else None."""
        return self.picture if self.yuv_matrix is not None else None

    @property
    def image(self) -> torch.Tensor:
        """The ``(C, H, W)`` float tensor; a raw frame becomes (and stays) one on first use."""
        if self._image is None:
            self._image = self.float_image()
            # a filter may now change the tensor in place: the picture no longer stands for it
            self._raw = self._upload = self.picture = None
        return self._image

    def stage(self) -> None:
        """Ready the frame for a filter that reads tensors, ahead of it (the engine's decode
        thread): on the CPU it becomes its tensor; on a GPU its pixels' upload starts
        (:mod:`framemend.cuda.transfer`), and the first read waits for that copy on the device,
        not on the host."""
        copies = transfer.for_device(self.device)
        if copies is None or self._image is not None:
            self.image  # noqa: B018 - the property converts raw pixels to a tensor
        elif self._upload is None:
            self._upload = copies.upload(self.raw)

    def float_image(self, rows: slice = slice(None)) -> torch.Tensor:
        """The ``(C, H, W)`` float32 image on ``device`` without converting the frame itself: a
        raw frame stays raw (a window of raw frames takes a quarter of the memory of floats,
        see :mod:`framemend.deflicker.filter`). ``rows``: only that band ``(C, h, W)``. Do not
        change the result in place when the frame already is a tensor."""
        if self._image is not None:
            return self._image[:, rows]
        copies = transfer.for_device(self.device)
        if copies is not None:  # a GPU: the whole frame uploaded once (stage), read in bands
            if self._upload is None:
                self._upload = copies.upload(self.raw)
            chw = self._upload.tensor()[rows].permute(2, 0, 1)
            image = chw.to(torch.float32, memory_format=torch.contiguous_format, copy=True)
            return image.div_(self.raw_scale)
        raw = self.raw[rows]
        hwc = torch.from_numpy(raw.astype(np.float32) if raw.dtype == np.uint16 else raw)
        chw = hwc.to(self.device).permute(2, 0, 1)
        if device_type(self.device) == "cpu" and rows == slice(None):
            # a whole frame from the pool (kernels.buffers: no heap holes of 25 MB at 1920x1080)
            image = torch.from_numpy(frame_array(tuple(chw.shape))).copy_(chw)
        else:
            image = chw.to(torch.float32, memory_format=torch.contiguous_format)
        return image.div_(self.raw_scale)

    @image.setter
    def image(self, value: torch.Tensor) -> None:
        self._image, self._raw, self._upload, self.picture = value, None, None, None

    def release_pixels(self) -> None:
        """Let the pixels go while the frame is still kept for its time, cut flag or ``aux``
        (a temporal filter's past frames whose pixels it no longer reads); reading them
        afterwards raises."""
        self._image = self._raw = self._upload = self.picture = None
        self._to_raw = _released

    def thumbnail(self, width: int, height: int) -> np.ndarray:
        """A ``(3, height, width)`` float32 area-average of the frame (a numpy array), made from
        whatever form the frame is in without converting it whole."""
        if self._image is not None:
            small = F.interpolate(self._image[None], size=(height, width), mode="area")[0]
            return small.cpu().numpy()
        if self._raw is not None:
            small = cv2.resize(self._raw, (width, height), interpolation=cv2.INTER_AREA)
        else:
            small = self._to_raw(self.picture, (width, height))
        return (small.astype(np.float32) / self.raw_scale).transpose(2, 0, 1)

    def replace(self, image, keep_aux: bool = True) -> "Frame":
        """The same frame (time, cut flag) with new pixels: a tensor, raw ``(H, W, 3)`` integer
        pixels on this frame's ``raw_scale``, or a picture of the kind :attr:`yuv` is (read
        and converted as this frame's); ``aux`` survives only if asked."""
        aux = dict(self.aux) if keep_aux else {}
        if isinstance(image, np.ndarray):
            return Frame(raw=image, raw_scale=self.raw_scale, device=self.device, time=self.time,
                         cut=self.cut, aux=aux)
        if is_tensor(image):
            return Frame(image, self.time, self.cut, aux)
        return Frame(picture=image, to_raw=self._to_raw, yuv_matrix=self.yuv_matrix,
                     raw_scale=self.raw_scale, device=self.device, time=self.time, cut=self.cut,
                     aux=aux)

    def __repr__(self) -> str:
        if self._image is not None:
            shape = tuple(self._image.shape)
        elif self._raw is not None:
            shape = self._raw.shape
        elif self.picture is not None:
            shape = (self.picture.height, self.picture.width)
        else:
            shape = "released"
        return f"Frame(time={self.time:.4f}, cut={self.cut}, shape={shape})"


def _released(picture, size=None):
    raise RuntimeError("the frame's pixels were released (Frame.release_pixels)")
