"""The four tiny video generators, one per family, each with the weakness its family is known for.

Every model is trained on single frames or frame pairs of procedural clips (:mod:`.conditioning`)
and exposes ``loss(batch, generator)`` for training and ``generate(cond, seed)`` returning
``(T, 3, S, S)`` in [-1, 1]. A ``batch`` holds ``frame``, ``guide``, ``previous`` ``(B, 3, S, S)``
and ``step`` ``(B, 3, 3)`` (frame t, its layout guide, frame t-1, camera step t -> t-1).

- :class:`VAE` (Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014): a conditional
  VAE with a spatial latent (4 channels at a quarter of the frame side, one cell per 4x4
  pixels) kept in use by the KL's free bits (Kingma et al., NeurIPS 2016), the decoder reading
  the layout guide and the latent. A clip is a latent video decoded frame by frame, as latent
  video models decode theirs: each frame's latent is drawn from the posterior of the truth's
  frame (a latent that follows the scene, standing in for a latent generator that got the scene
  right), with its own sampling noise. What shows is the VAE's own failure: blur and mushy
  detail, because the MSE decoder averages what under half a nat a latent cell cannot say, and a
  per-frame flicker of the decoded detail, from the sampling noise (decoded from the posterior
  mean, a clip's warping error is 0.3-2.6x its truth's, median 0.9x; with the noise 1.2-12x).
  BENCHMARKS.md, "The VAE with a spatial latent".
- :class:`Autoregressive`: next-frame prediction, a Gaussian around the last generated frame
  moved by the camera step and corrected by a U-Net, which also predicts its scale; trained with
  teacher forcing (true previous frame, noised) by the negative log-likelihood, sampled on its
  own output, each next frame drawn at temperature 1 (as next-frame token models sample,
  VideoGPT, Yan et al. 2021), so the error of every step, drawn afresh, is fed to the next: drift
  that compounds (exposure bias), with a per-frame draw of about 6 levels (8-bit) over it.
- :class:`Diffusion` (Ho et al., DDPM, NeurIPS 2020; v-prediction and the cosine schedule of
  Salimans & Ho, ICLR 2022): a per-frame image model conditioned on the guide, sampled with 6
  ancestral DDIM steps (eta = 1, Song et al., ICLR 2021) from independent noise per frame: each
  frame's detail is drawn afresh, so texture boils and flickers.
- :class:`Flow` (rectified flow / flow matching, Liu et al. and Lipman et al., ICLR 2023): the
  same per-frame model trained to carry noise to frames on straight paths, sampled with 8 Euler
  steps of the ODE from noise that follows the camera (the integral noise of Chang et al., ICLR
  2024, :mod:`.noise`): the drawn detail moves with the scene, but the camera's sub-pixel steps
  renew part of each pixel's noise every frame and the per-frame model redraws its detail from
  it (texture boiling, a third of what independent noise per frame gives).
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from .conditioning import Condition, warp
from .nets import TinyUNet, time_embedding
from .noise import integral_noise

LATENT_CHANNELS = 4
TIME_DIM = 32


class VAE(nn.Module):
    """Conditional VAE with a spatial latent: ``encode(frame, guide) -> (mu, logvar)``, each
    ``(B, LATENT_CHANNELS, S/4, S/4)``; ``decode(guide, z) -> frame`` ``(B, 3, S, S)``.

    The encoder reads the frame beside its layout guide; the decoder a U-Net over the guide
    and the latent enlarged to the frame (bilinear), so each latent cell says what detail goes
    in its 4x4 pixels. The KL of each latent channel (mean over batch and cells) is charged
    above ``free_bits`` nats only (Kingma et al., NeurIPS 2016), at ``beta`` against the
    per-pixel MSE: the posterior keeps up to about ``free_bits`` nats a cell (0.37-0.40 on a
    held-out clip's frames), and the MSE decoder averages what that cannot say.
    """

    #: Weight of the KL (nats per latent cell, summed over channels) against the per-pixel MSE.
    beta = 0.01
    #: Nats per latent cell and channel that the KL does not charge.
    free_bits = 0.5

    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(6, 32, 3, stride=2, padding=1), nn.SiLU(),
            nn.Conv2d(32, 32, 3, padding=1), nn.SiLU(),
            nn.Conv2d(32, 32, 3, stride=2, padding=1), nn.SiLU(),
            nn.Conv2d(32, 2 * LATENT_CHANNELS, 3, padding=1))
        self.decoder = TinyUNet(3 + LATENT_CHANNELS, 3)

    def encode(self, frame, guide):
        mu, logvar = self.encoder(torch.cat([frame, guide], 1)).chunk(2, 1)
        return mu, logvar.clamp(-8, 8)

    def decode(self, guide, z):
        up = F.interpolate(z, size=guide.shape[-2:], mode="bilinear", align_corners=False)
        return guide + self.decoder(torch.cat([guide, up], 1))

    def loss(self, batch, generator):
        mu, logvar = self.encode(batch["frame"], batch["guide"])
        eps = torch.randn(mu.shape, generator=generator)
        rec = self.decode(batch["guide"], mu + (0.5 * logvar).exp() * eps)
        kl = 0.5 * (mu.square() + logvar.exp() - 1 - logvar).mean((0, 2, 3))  # (C,) nats a cell
        return F.mse_loss(rec, batch["frame"]) + self.beta * kl.clamp(min=self.free_bits).sum()

    @torch.no_grad()
    def generate(self, cond: Condition, seed: int) -> torch.Tensor:
        """``(T, 3, S, S)``: each truth frame's posterior sampled (noise drawn per frame from
        ``seed``) and decoded on its own."""
        g = torch.Generator().manual_seed(seed)
        mu, logvar = self.encode(cond.truth, cond.guide)
        z = mu + (0.5 * logvar).exp() * torch.randn(mu.shape, generator=g)
        return self.decode(cond.guide, z)


class Autoregressive(nn.Module):
    """Next frame drawn from a Gaussian the U-Net predicts from the last frame moved by the camera.

    ``predict(previous, step) -> (mean, log_scale)``, each ``(B, 3, S, S)``: the mean is the
    previous frame moved by the camera step plus the U-Net's correction, the scale its per-pixel
    uncertainty; trained by the Gaussian negative log-likelihood with teacher forcing (the true
    previous frame), that context noised (noise augmentation of the context, as diffusion
    forcing, Chen et al., NeurIPS 2024, and GameNGen, Valevski et al. 2024, train on noised past
    frames). A clip is sampled step by step on its own output, each next frame drawn
    ``mean + scale * noise`` at temperature 1 (as VideoGPT, Yan et al. 2021, samples each next
    frame's tokens from the model's own distribution), so every step's sampled error is fed to the
    next (exposure bias): drift that compounds, with a fresh draw every frame.
    """

    #: Bounds of the predicted log-scale (scale 0.0009 to 1 on pixels in [-1, 1]): the
    #: likelihood stays finite while training starts; the shipped model's scales lie inside.
    log_scale_range = (-7.0, 0.0)
    #: Largest standard deviation of the training context's noise (pixels in [-1, 1]); each pair
    #: draws ``u * context_noise``, ``u ~ U(0, 1)``: up to twice the draw of about 4 levels
    #: (0.03) that the model meets in its own frames when trained without it.
    context_noise = 0.06

    def __init__(self):
        super().__init__()
        self.net = TinyUNet(4, 6)

    def predict(self, previous, step):
        moved, inside = warp(previous, step)
        correction, log_scale = self.net(torch.cat([moved, inside], 1)).chunk(2, 1)
        return moved + correction, log_scale.clamp(*self.log_scale_range)

    def loss(self, batch, generator):
        previous = batch["previous"]
        level = self.context_noise * torch.rand(len(previous), 1, 1, 1, generator=generator)
        previous = previous + level * torch.randn(previous.shape, generator=generator)
        mean, log_scale = self.predict(previous, batch["step"])
        z = (batch["frame"] - mean) * torch.exp(-log_scale)
        return (0.5 * z.square() + log_scale).mean()  # Gaussian NLL, without its constant

    @torch.no_grad()
    def generate(self, cond: Condition, seed: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(seed)
        frames = [cond.truth[:1]]
        for step in cond.steps:
            mean, log_scale = self.predict(frames[-1], step[None])
            noise = torch.randn(mean.shape, generator=g)
            frames.append((mean + log_scale.exp() * noise).clamp(-1, 1))
        return torch.cat(frames)


class _PerFrame(nn.Module):
    """A U-Net reading ``(x_t, guide)`` and the time ``t``: the denoiser of both noise models."""

    def __init__(self):
        super().__init__()
        self.net = TinyUNet(6, 3, emb=TIME_DIM)

    def predict(self, x, guide, t):
        return self.net(torch.cat([x, guide], 1), time_embedding(t, TIME_DIM))

    def path(self, x, noise, t):
        """``(x_t, target)``: the noisy frames at times ``t`` ``(B, 1, 1, 1)`` and what the
        network is trained to predict from them."""
        raise NotImplementedError

    def loss(self, batch, generator):
        x = batch["frame"]
        t = torch.rand(len(x), generator=generator)
        noise = torch.randn(x.shape, generator=generator)
        xt, target = self.path(x, noise, t[:, None, None, None])
        return F.mse_loss(self.predict(xt, batch["guide"], t), target)


class Diffusion(_PerFrame):
    """v-prediction diffusion on ``x_t = cos(pi t / 2) x + sin(pi t / 2) eps``."""

    steps = 6

    def path(self, x, noise, t):
        a, s = (t * math.pi / 2).cos(), (t * math.pi / 2).sin()
        return a * x + s * noise, a * noise - s * x

    @torch.no_grad()
    def generate(self, cond: Condition, seed: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(seed)
        guide = cond.guide
        x = torch.randn(guide.shape, generator=g)  # independent noise for every frame
        times = torch.linspace(1.0, 0.0, self.steps + 1)
        for t, s in zip(times[:-1], times[1:]):
            at, st = math.cos(t * math.pi / 2), math.sin(t * math.pi / 2)
            as_, ss = math.cos(s * math.pi / 2), math.sin(s * math.pi / 2)
            v = self.predict(x, guide, t.expand(len(x)))
            x0, eps = at * x - st * v, st * x + at * v
            if s <= 0:
                x = x0
                break
            # ancestral DDIM (eta = 1): the variance of the DDPM posterior is drawn afresh
            c = (ss / st) * math.sqrt(max(1 - (at / as_) ** 2, 0.0))
            x = as_ * x0 + math.sqrt(max(ss ** 2 - c ** 2, 0.0)) * eps + c * torch.randn(x.shape, generator=g)
        return x


class Flow(_PerFrame):
    """Flow matching on ``x_t = (1 - t) noise + t x``, velocity ``x - noise``.

    Trained per frame on independent noise; a clip is sampled frame by frame with 8 Euler steps
    from :func:`.noise.integral_noise` carried by the camera steps ``cond.steps`` (Chang et al.,
    "How I Warped Your Noise", ICLR 2024): every frame's noise is white unit Gaussian, as in
    training, and moves with the scene. One noise image shared by every frame instead ties the
    detail to the screen while the camera moves (texture sticking); warping one noise image
    bilinearly loses its variance (blur), nearest sampling repeats it (frozen, then jumping
    detail). Failure mode: at 32 pixels the camera moves under a pixel per frame, each step
    renews part of a pixel's fine noise cells (40 % on a pan of 0.32 x 0.1 px per frame), and
    the model, which sees one frame at a time, redraws its detail from the changed noise: detail
    that follows the scene but boils, 4.5x the truth's boiling (median of 15 unseen clips; 0.34x
    independent noise's; BENCHMARKS.md, "The flow model's noise follows the camera").
    """

    steps = 8

    def path(self, x, noise, t):
        return (1 - t) * noise + t * x, x - noise

    @torch.no_grad()
    def generate(self, cond: Condition, seed: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(seed)
        guide = cond.guide
        x = integral_noise(tuple(guide.shape), cond.steps, g)
        for k in range(self.steps):
            t = torch.full((len(x),), k / self.steps)
            x = x + self.predict(x, guide, t) / self.steps
        return x


FAMILIES = {"vae": VAE, "autoregressive": Autoregressive, "diffusion": Diffusion, "flow": Flow}
