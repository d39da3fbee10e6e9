"""Frames, the Filter contract, typed options, the registry, the chain parser and the engine.

Names are imported on first use: :mod:`.options`, :mod:`.registry` and :mod:`.parser`'s checks
import nothing heavy, so the command line validates a chain without importing torch.
"""
import importlib

_WHERE = {"Filter": "filter", "TemporalFilter": "filter", "Frame": "frames",
          "OptionError": "options", "option": "options",
          "register": "registry", "get_filter": "registry", "all_filters": "registry"}

__all__ = list(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module '{__name__}' has no attribute '{name}'")
