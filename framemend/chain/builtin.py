"""Trivial built-in filters that prove the engine end to end."""
from __future__ import annotations

from ..options.identity import IdentityOptions
from .filter import Filter
from .registry import register


@register
class Identity(Filter):
    """Pass frames through unchanged (for round-trip checks and re-encoding)."""

    name = "identity"
    reads_pixels = False

    Options = IdentityOptions

    def push(self, frame):
        return [frame]
