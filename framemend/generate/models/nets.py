"""The one network the four tiny generators share: a two-level U-Net for 32x32 frames.

``TinyUNet(c_in, c_out, emb)`` maps ``(B, c_in, H, W)`` to ``(B, c_out, H, W)`` (``H, W``
divisible by 4): two 3x3 convolutions per level at ``width``, ``2 width`` and ``2 width``
channels, stride-2 convolutions down, nearest upsampling and skip concatenation up (Ronneberger
et al., "U-Net", MICCAI 2015). A vector ``(B, emb)`` (the diffusion time's sinusoidal embedding,
or a VAE latent) is added as a per-channel bias at every level, as in Ho et al., "Denoising
Diffusion Probabilistic Models" (NeurIPS 2020).
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


def time_embedding(t: torch.Tensor, dim: int = 32) -> torch.Tensor:
    """Sinusoidal embedding ``(B, dim)`` of times ``t`` ``(B,)`` in [0, 1] (Vaswani et al. 2017)."""
    half = dim // 2
    freqs = torch.exp(-math.log(1000.0) * torch.arange(half, dtype=torch.float32) / half)
    angles = 1000.0 * t[:, None].float() * freqs[None]
    return torch.cat([angles.sin(), angles.cos()], 1)


class _Block(nn.Module):
    """Two 3x3 convolutions with SiLU, the embedding added between them."""

    def __init__(self, c_in: int, c_out: int, emb: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.bias = nn.Linear(emb, c_out) if emb else None

    def forward(self, x: torch.Tensor, e: torch.Tensor | None) -> torch.Tensor:
        h = F.silu(self.conv1(x))
        if self.bias is not None:
            h = h + self.bias(e)[:, :, None, None]
        return F.silu(self.conv2(h))


class TinyUNet(nn.Module):
    """Two-level U-Net; ``forward(x, e=None)`` with ``x`` ``(B, c_in, H, W)``, ``e`` ``(B, emb)``."""

    def __init__(self, c_in: int, c_out: int, emb: int = 0, width: int = 16):
        super().__init__()
        w1, w2 = width, 2 * width
        self.emb = nn.Sequential(nn.Linear(emb, 2 * w2), nn.SiLU(), nn.Linear(2 * w2, w2)) if emb else None
        e = w2 if emb else 0
        self.enc1 = _Block(c_in, w1, e)
        self.down1 = nn.Conv2d(w1, w2, 3, stride=2, padding=1)
        self.enc2 = _Block(w2, w2, e)
        self.down2 = nn.Conv2d(w2, w2, 3, stride=2, padding=1)
        self.mid = _Block(w2, w2, e)
        self.dec2 = _Block(2 * w2, w2, e)
        self.dec1 = _Block(w2 + w1, w1, e)
        self.out = nn.Conv2d(w1, c_out, 3, padding=1)

    def forward(self, x: torch.Tensor, e: torch.Tensor | None = None) -> torch.Tensor:
        e = self.emb(e) if self.emb is not None else None
        h1 = self.enc1(x, e)
        h2 = self.enc2(F.silu(self.down1(h1)), e)
        m = self.mid(F.silu(self.down2(h2)), e)
        u2 = self.dec2(torch.cat([F.interpolate(m, scale_factor=2.0), h2], 1), e)
        u1 = self.dec1(torch.cat([F.interpolate(u2, scale_factor=2.0), h1], 1), e)
        return self.out(u1)
