"""Camera-path stabilization and identity re-alignment to keyframes.

``stabilize(frames, mode="smooth")`` / chain ``stabilize=mode=lock``: see :mod:`.stabilize`.
``realign(frames, keyframes=(0,))`` / chain ``realign``: see :mod:`.realign`.
"""
from .realign import Realign, realign
from .stabilize import Stabilize, stabilize

__all__ = ["Stabilize", "stabilize", "Realign", "realign"]
