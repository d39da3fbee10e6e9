"""Camera-path stabilization.

``stabilize(frames, mode="smooth")`` / chain ``stabilize=mode=lock``: see :mod:`.stabilize`.
"""
from .stabilize import Stabilize, stabilize

__all__ = ["Stabilize", "stabilize"]
