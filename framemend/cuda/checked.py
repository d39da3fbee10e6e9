"""A fused kernel behind its torch reference, checked on each device before it is trusted.

:class:`CheckedKernel` is called like its reference. On a device it may run on (CUDA), the
first call runs the fused kernel and the reference once on a small sample input made for that
device; if they disagree beyond the kernel's tolerance, or the fused kernel fails to compile or
launch, that device keeps the reference for the rest of the process and one warning says why.
A broken kernel may cost speed, never output. ``FRAMEMEND_KERNELS=reference`` (see
:mod:`.policy`) skips the fused kernels altogether.

Both implementations are named as ``"module:function"`` and imported on first use, so that
importing a pass does not import numba's CUDA target, and the references may live in the
passes that own them without an import cycle.
"""
from __future__ import annotations

import importlib
import threading
import warnings
from typing import Callable

from framemend._torch import torch

from .policy import fused_kernels_allowed


def _load(target: str | Callable) -> Callable:
    if callable(target):
        return target
    module, name = target.split(":")
    return getattr(importlib.import_module(module), name)


def _tensors(value) -> list[torch.Tensor]:
    """The tensors of a result: a tensor or a tuple of them."""
    return [value] if isinstance(value, torch.Tensor) else list(value)


class CheckedKernel:
    """``fused`` where it agrees with ``reference`` on the device, else ``reference``.

    Args:
        name: what the warning calls the kernel.
        reference: the torch function (``"module:function"`` or the function itself).
        fused: the fused kernel with the same signature and results.
        sample: ``sample(device, seed=19) -> (args, kwargs)``, a small input on ``device``
            (other seeds give other inputs, for tests).
        tolerance: the largest absolute difference allowed between the two results.
        devices: device types the fused kernel runs on.
    """

    def __init__(self, name: str, reference: str | Callable, fused: str | Callable,
                 sample: Callable[[torch.device], tuple[tuple, dict]], tolerance: float,
                 devices: tuple[str, ...] = ("cuda",)):
        self.name, self.tolerance, self.devices = name, tolerance, devices
        self._reference, self._fused, self.sample = reference, fused, sample
        self._trusted: dict[torch.device, bool] = {}
        self._lock = threading.Lock()

    @property
    def reference(self) -> Callable:
        return _load(self._reference)

    @property
    def fused(self) -> Callable:
        return _load(self._fused)

    def __call__(self, *args, **kwargs):
        device = next(a.device for a in args if isinstance(a, torch.Tensor))
        if self.trusted(device):
            return self.fused(*args, **kwargs)
        return self.reference(*args, **kwargs)

    def trusted(self, device: torch.device) -> bool:
        """Whether the fused kernel runs on ``device``: allowed there and self-checked once."""
        if device.type not in self.devices or not fused_kernels_allowed():
            return False
        with self._lock:
            if device not in self._trusted:
                self._trusted[device] = self._check(device)
        return self._trusted[device]

    def _check(self, device: torch.device) -> bool:
        """Run both implementations on the sample; warn and return False if they disagree."""
        args, kwargs = self.sample(device)
        try:
            got = _tensors(self.fused(*args, **kwargs))
        except Exception as e:  # noqa: BLE001 - any failure of the kernel means: do not use it
            problem = f"failed ({type(e).__name__}: {e})"
        else:
            want = _tensors(self.reference(*args, **kwargs))
            worst = max(((g.float() - w.float()).abs().max() for g, w in zip(got, want)
                         if g.shape == w.shape), default=None)
            if len(got) != len(want) or worst is None or any(
                    g.shape != w.shape for g, w in zip(got, want)):
                problem = "returned results of the wrong shape"
            elif not worst <= self.tolerance:  # NaN fails too
                problem = f"differs from its reference by {float(worst):.3g} (> {self.tolerance:g})"
            else:
                return True
        warnings.warn(f"framemend: the fused {self.name} kernel {problem} on {device}; "
                      "using the torch reference instead", RuntimeWarning, stacklevel=4)
        return False
