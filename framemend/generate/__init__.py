"""Built-in generators: procedural scenes with ground truth and artifact models.

``scene(kind, ...) -> Clip`` renders a clean clip with its exact flow, camera path and subject box;
:mod:`framemend.generate.artifacts` degrades frames the way generative video models do;
``degrade(clip, "flicker,noise=20", seed=0)`` applies a comma list of them;
``sample(model, kind, image, seed)`` makes a clip with a tiny built-in generative model
(:mod:`framemend.generate.models`: ``vae``, ``autoregressive``, ``diffusion``, ``flow``).
"""
from . import artifacts
from .clip import Clip
from .degrade import ARTIFACTS, degrade
from .images import IMAGES, load_image
from .scenes import SCENES, scene


def __getattr__(name: str):
    """``sample`` is imported on first use, so torch loads only when a model is asked for."""
    if name == "sample":
        from .models import sample

        return sample
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["scene", "sample", "Clip", "degrade", "artifacts", "SCENES", "ARTIFACTS", "IMAGES", "load_image"]
