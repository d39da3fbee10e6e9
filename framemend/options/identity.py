"""The ``identity`` filter's options; the filter itself is :mod:`framemend.chain.builtin`."""
from dataclasses import dataclass


@dataclass
class IdentityOptions:
    """Pass frames through unchanged (for round-trip checks and re-encoding)."""
