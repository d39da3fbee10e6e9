"""Tiny built-in video generators of the four families: ``sample(model, kind, image, seed)``.

:mod:`.families` holds the models (VAE, autoregressive, diffusion, flow matching; each with the
weakness its family is known for), :mod:`.conditioning` what they are conditioned on (a
procedural scene at 32x32 pixels), :mod:`.store` the shipped half-precision weights
(``weights/*.pt``, written by ``python -m framemend.generate.train``), :mod:`.sampling` the clip.
"""
from .conditioning import MOTIONS
from .families import FAMILIES
from .sampling import sample
from .store import load, record

MODELS = tuple(FAMILIES)

__all__ = ["sample", "load", "record", "MODELS", "MOTIONS"]
