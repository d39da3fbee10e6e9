"""torch where it is used, and nowhere else: ``import torch`` takes 1.0-1.2 s, as long as the
default chain's CPU work on a 49-frame 720x480 clip.

* :data:`torch` and :data:`F` (``torch.nn.functional``) stand for the modules and import them
  on first attribute access: a module whose torch code runs on the device path (or on tensors
  a user passed) imports them from here, so its CPU path, its constants and its names cost no
  torch import. An attribute read through them costs about 1 µs more than from the module
  (under load); the default chain's device path reads 80 a frame through them.
* :func:`is_tensor` asks ``isinstance(x, torch.Tensor)`` without importing torch: where torch
  is not imported, nothing is a tensor.
* A device is a :class:`torch.device` or its name: the CPU is ``"cpu"`` unless torch was
  imported to find CUDA (:func:`framemend.pipeline.resolve_device`); torch takes a name
  wherever it takes a device, and :func:`device_type` reads either.
"""
from __future__ import annotations

import importlib
import sys


class _Module:
    """A module imported on its first attribute access."""

    __slots__ = ("_name", "_module")

    def __init__(self, name: str):
        self._name, self._module = name, None

    def __getattr__(self, attr: str):
        module = self._module
        if module is None:
            # import_module, not sys.modules: it waits while another thread imports the module
            module = self._module = importlib.import_module(self._name)
        return getattr(module, attr)

    def __repr__(self) -> str:
        return f"<module {self._name!r}, imported on first use>"


torch = _Module("torch")
F = _Module("torch.nn.functional")


def is_tensor(x) -> bool:
    """``isinstance(x, torch.Tensor)``, False without importing torch when it is not imported."""
    return "torch" in sys.modules and isinstance(x, torch.Tensor)


def device_type(device) -> str:
    """``"cpu"`` or ``"cuda"`` of a :class:`torch.device` or its name (``"cuda:1"``)."""
    return str(device).split(":")[0]
