"""Shipped weights: ``weights/NAME.pt`` holds the half-precision state and the training record."""
from __future__ import annotations

import functools
import os

import torch

from .families import FAMILIES

WEIGHTS = os.path.join(os.path.dirname(__file__), "weights")


def weights_path(name: str) -> str:
    return os.path.join(WEIGHTS, f"{name}.pt")


def save(model: torch.nn.Module, name: str, record: dict, path: str | None = None) -> str:
    """Write ``model``'s state in float16 with ``record``, atomically; returns the path."""
    path = path or weights_path(name)
    state = {k: v.half() for k, v in model.state_dict().items()}
    tmp = path + ".tmp"
    torch.save({"family": name, "state": state, "record": record}, tmp)
    os.replace(tmp, path)
    return path


@functools.lru_cache(maxsize=None)
def load(name: str) -> torch.nn.Module:
    """The shipped model of family ``name`` (one of ``vae``, ``autoregressive``, ``diffusion``,
    ``flow``), in float32 and eval mode; loaded once per process."""
    if name not in FAMILIES:
        raise ValueError(f"unknown model '{name}'; choose from {', '.join(FAMILIES)}")
    saved = torch.load(weights_path(name), map_location="cpu", weights_only=True)
    model = FAMILIES[name]()
    model.load_state_dict({k: v.float() for k, v in saved["state"].items()})
    return model.eval()


def record(name: str) -> dict:
    """The training record stored with the shipped weights of ``name``."""
    return torch.load(weights_path(name), map_location="cpu", weights_only=True)["record"]
