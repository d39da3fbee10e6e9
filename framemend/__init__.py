"""framemend: repair AI-generated video (flicker, temporal noise, jitter, drift, low frame rate).

The public API is imported lazily so that ``framemend --help`` starts fast::

    import framemend
    out = framemend.clean(frames, chain="deflicker,denoise")   # numpy, torch, PIL list or path
    smooth = framemend.interpolate(frames, factor=2)           # one function per filter
"""
__version__ = "0.1.0"

from ._numba_cache import ensure_cache_dir as _ensure_cache_dir  # noqa: E402 - before any kernel

_ensure_cache_dir(__path__[0])

_API = {"clean", "apply", "read", "write"}
_MODULES = {"generate", "metrics", "flow", "video", "chain"}


def __getattr__(name: str):
    import importlib

    if name in _API:
        return getattr(importlib.import_module("framemend.api"), name)
    if name in _MODULES:
        return importlib.import_module(f"framemend.{name}")
    if name == "probe":
        from .video.arrays import probe_video

        return probe_video
    from .chain.registry import all_filters

    if name in all_filters():
        if name in globals():  # a filter package, imported (and made callable) by the registry
            return globals()[name]
        import functools

        from .api import apply

        fn = functools.partial(apply, name)
        fn.__doc__ = all_filters()[name].__doc__
        return fn
    raise AttributeError(f"module 'framemend' has no attribute '{name}'")


def __dir__():
    from .chain.registry import all_filters

    return sorted(_API | _MODULES | set(all_filters()) | {"probe", "__version__"})
