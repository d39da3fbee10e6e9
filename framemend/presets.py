"""Named chains for ``framemend clean --preset NAME``.

``deboil`` comes first: it recognises palette (GIF) input by its colours, which the passes
after it change, and removes the dither before anything compares frames; ``deflicker`` then
evens out what tone changes remain between frames (``mode=offset`` on a 48-row grid: an offset
field that leaves the detail's contrast, less the fine changes a redrawn texture explains), and
``denoise`` takes what noise is left.
On the six clips of ``shared/data/generated`` (noref scores, BENCHMARKS.md) this order gave a
warping-error ratio of 0.51 in the median against 0.94 for ``deflicker,denoise``.
"""

_DEFLICKER = "deflicker=mode=offset:rows=48"
PRESETS = {
    "default": f"deboil,{_DEFLICKER},denoise",
    "smooth": f"deboil,{_DEFLICKER},denoise,interpolate=factor=2",
    "steady": f"deboil,stabilize,{_DEFLICKER},denoise",
    "identity": "identity",
}
DEFAULT_PRESET = "default"


def chain_of(chain: str | list[str] | tuple[str, ...] | None) -> str:
    """The chain the API (:func:`framemend.clean`, :func:`framemend.clean_folder`) runs for
    ``chain``: None -> the default preset's; a preset's name (``"smooth"``, as the CLI's
    ``--preset``) -> its chain; a list of filters -> joined by commas; any other string as it
    is (an empty one, or an empty list, is refused by the parser as ``-f ""`` is).
    TypeError for anything else (an int met "'int' object has no attribute 'split'", a dict
    "unhashable type")."""
    if isinstance(chain, (list, tuple)):
        odd = next((c for c in chain if not isinstance(c, str)), None)
        if odd is not None:
            raise TypeError(f"chain: each filter of the list is a string such as "
                            f"'denoise=sigma=10', not {type(odd).__name__} {odd!r}")
        chain = ",".join(chain)
    elif chain is not None and not isinstance(chain, str):
        raise TypeError("chain must be a string ('deflicker,denoise'), a list of filters or a "
                        f"preset's name, not {type(chain).__name__}")
    return PRESETS[DEFAULT_PRESET] if chain is None else PRESETS.get(chain, chain)
