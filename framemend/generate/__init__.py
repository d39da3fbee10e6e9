"""Built-in generators: procedural scenes with ground truth and artifact models.

``scene(kind, ...) -> Clip`` renders a clean clip with its exact flow, camera path and subject box;
:mod:`framemend.generate.artifacts` degrades frames the way generative video models do;
``degrade(clip, "flicker,noise=20", seed=0)`` applies a comma list of them.
"""
from . import artifacts
from .clip import Clip
from .degrade import ARTIFACTS, degrade
from .images import IMAGES, load_image
from .scenes import SCENES, scene

__all__ = ["scene", "Clip", "degrade", "artifacts", "SCENES", "ARTIFACTS", "IMAGES", "load_image"]
