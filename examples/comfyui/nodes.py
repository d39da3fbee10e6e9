"""ComfyUI nodes running framemend on an IMAGE batch (the frames of one video).

ComfyUI's IMAGE is a float tensor ``(B, H, W, C)`` in [0, 1], B frames of one clip in order;
framemend takes ``(T, C, H, W)``, so each node permutes, runs :func:`framemend.clean` (scene cuts
detected) and permutes back: same shape, float32, on the batch's device. The classes follow
ComfyUI's conventions (``INPUT_TYPES``, ``RETURN_TYPES``, ``FUNCTION``, ``CATEGORY``) and import
nothing from ComfyUI, so they are tested without it.
"""
from __future__ import annotations

import torch

import framemend

CATEGORY = "video/framemend"


def run_chain(images: torch.Tensor, chain: str, fps: float) -> torch.Tensor:
    """``images`` ``(B, H, W, C)`` float in [0, 1] -> the chain's output, ``(B', H, W, C)``
    float32 (``B'`` differs only for rate-changing filters)."""
    frames = images.permute(0, 3, 1, 2).float()
    out = framemend.clean(frames, chain=chain, input_fps=fps, device=str(images.device))
    return out.permute(0, 2, 3, 1).contiguous()


class FramemendClean:
    """Run any framemend chain (``deflicker,denoise``, ``stabilize,interpolate=2``, ...)."""

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "images": ("IMAGE",),
            "chain": ("STRING", {"default": "deflicker,denoise", "multiline": False}),
            "fps": ("FLOAT", {"default": 8.0, "min": 1.0, "max": 240.0, "step": 0.5}),
        }}

    RETURN_TYPES = ("IMAGE",)
    RETURN_NAMES = ("images",)
    FUNCTION = "clean"
    CATEGORY = CATEGORY

    def clean(self, images, chain, fps):
        return (run_chain(images, chain, fps),)


class FramemendDeflicker:
    """Remove brightness flicker from a batch of frames."""

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "images": ("IMAGE",),
            "strength": ("FLOAT", {"default": 1.0, "min": 0.0, "max": 1.0, "step": 0.05}),
        }}

    RETURN_TYPES = ("IMAGE",)
    RETURN_NAMES = ("images",)
    FUNCTION = "deflicker"
    CATEGORY = CATEGORY

    def deflicker(self, images, strength):
        return (run_chain(images, f"deflicker=strength={strength:g}", 24.0),)


class FramemendInterpolate:
    """Raise the frame rate: ``factor`` frames out per frame in (motion-compensated)."""

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "images": ("IMAGE",),
            "factor": ("INT", {"default": 2, "min": 2, "max": 8}),
        }}

    RETURN_TYPES = ("IMAGE",)
    RETURN_NAMES = ("images",)
    FUNCTION = "interpolate"
    CATEGORY = CATEGORY

    def interpolate(self, images, factor):
        return (run_chain(images, f"interpolate=factor={factor}", 24.0),)


NODE_CLASS_MAPPINGS = {"FramemendClean": FramemendClean,
                       "FramemendDeflicker": FramemendDeflicker,
                       "FramemendInterpolate": FramemendInterpolate}
NODE_DISPLAY_NAME_MAPPINGS = {"FramemendClean": "framemend: clean (chain)",
                              "FramemendDeflicker": "framemend: deflicker",
                              "FramemendInterpolate": "framemend: interpolate"}
