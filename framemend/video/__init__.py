"""Streaming video I/O with PyAV: :class:`VideoReader`, :class:`VideoWriter`, whole-clip helpers.

Imported lazily, so that ``framemend.video.errors`` and ``framemend.video.writer`` can be used
(to check settings, say) without importing the reader and the engine behind it.
"""
import importlib

from .errors import SettingsError, VideoError

_WHERE = {"VideoReader": "reader", "VideoWriter": "writer", "VideoInfo": "probe",
          "read_video": "arrays", "write_video": "arrays"}

__all__ = ["VideoReader", "VideoWriter", "VideoInfo", "VideoError", "SettingsError",
           "read_video", "write_video"]


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module '{__name__}' has no attribute '{name}'")
