"""framemend: repair AI-generated video (flicker, temporal noise, jitter, drift, low frame rate).

The public API is imported lazily so that ``framemend --help`` starts fast::

    import framemend
    out = framemend.clean(frames, chain="deflicker,denoise")   # numpy, torch, PIL list or path
    smooth = framemend.interpolate(frames, factor=2)           # one function per filter
"""
__version__ = "0.1.0"

from ._numba_cache import ensure_cache_dir as _ensure_cache_dir  # noqa: E402 - before any kernel

_ensure_cache_dir(__path__[0])

_API = {"clean", "apply", "read", "write", "clean_folder"}
_MODULES = {"generate", "metrics", "flow", "video", "chain"}
#: The errors a caller catches: an unreadable or unwritable video, a bad chain or option.
_ERRORS = {"VideoError": "framemend.video.errors", "OptionError": "framemend.chain.options"}


def __getattr__(name: str):
    import importlib

    if name in _API:
        return getattr(importlib.import_module("framemend.api"), name)
    if name in _MODULES:
        return importlib.import_module(f"framemend.{name}")
    if name in _ERRORS:
        return getattr(importlib.import_module(_ERRORS[name]), name)
    if name == "probe":
        from .video.arrays import probe_video

        return probe_video
    from .chain.registry import filter_names

    if name in filter_names():
        return _filter_function(name)
    raise AttributeError(f"module 'framemend' has no attribute '{name}'")


def _filter_function(name: str):
    """``framemend.NAME``: a built-in filter's package (callable: its API function), else (a
    plug-in or a filter without a package) :func:`framemend.api.apply` bound to the name."""
    import functools
    import importlib
    import importlib.util

    if importlib.util.find_spec(f"framemend.{name}") is not None:
        return importlib.import_module(f"framemend.{name}")
    from .api import apply
    from .chain.registry import get_filter

    fn = functools.partial(apply, name)
    fn.__doc__ = get_filter(name).__doc__
    return fn


def __dir__():
    from .chain.registry import filter_names

    return sorted(_API | _MODULES | set(_ERRORS) | set(filter_names()) | {"probe", "__version__"})
