"""Identity re-alignment: colour and tone pulled back to keyframes, carried along the motion.

``realign(frames, keyframes=(0,))`` / chain ``realign``: see :mod:`.realign`.
"""
from .realign import Realign, realign

__all__ = ["Realign", "realign"]
