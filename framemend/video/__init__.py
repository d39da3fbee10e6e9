"""Streaming video I/O with PyAV: :class:`VideoReader`, :class:`VideoWriter`, whole-clip helpers."""
from .arrays import read_video, write_video
from .errors import VideoError
from .probe import VideoInfo
from .reader import VideoReader
from .writer import VideoWriter

__all__ = ["VideoReader", "VideoWriter", "VideoInfo", "VideoError", "read_video", "write_video"]
