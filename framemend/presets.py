"""Named chains for ``framemend clean --preset NAME``."""

PRESETS = {
    "default": "deflicker,denoise",
    "smooth": "deflicker,denoise,interpolate=factor=2",
    "steady": "stabilize,deflicker,denoise",
    "identity": "identity",
}
DEFAULT_PRESET = "default"
