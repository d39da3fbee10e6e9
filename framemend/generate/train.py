"""Train a tiny generator on procedural clips: ``python -m framemend.generate.train --model vae``.

The data are :func:`framemend.generate.scene` clips at 32x32 pixels and 16 frames, every camera
motion of :data:`~framemend.generate.models.conditioning.MOTIONS` over every picture of
:data:`~framemend.generate.models.conditioning.PICTURES`, scene seeds ``0 .. clip_seeds-1``.
A batch is ``batch`` random frames (with the frame before each and the camera step between them).
Adam, learning rate decayed linearly to zero; one thread; deterministic by ``--seed``.
The weights are written in half precision with the run's record (steps, final loss, CPU and
wall seconds): ``framemend/generate/models/weights/NAME.pt`` by default.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from .models import conditioning as cond
from .models.families import FAMILIES
from .models.store import save


def training_clips(motions=cond.MOTIONS, pictures=cond.PICTURES, clip_seeds: int = 3) -> dict:
    """Every (motion, picture, seed) clip: ``truth``, ``guide`` ``(N, T, 3, S, S)``; ``steps``
    ``(N, T-1, 3, 3)``."""
    cs = [cond.condition(m, p, s) for m in motions for p in pictures for s in range(clip_seeds)]
    return {"truth": torch.stack([c.truth for c in cs]), "guide": torch.stack([c.guide for c in cs]),
            "steps": torch.stack([c.steps for c in cs])}


def _batch(clips: dict, rng: np.random.Generator, size: int) -> dict:
    n, t = clips["truth"].shape[:2]
    i, k = rng.integers(0, n, size), rng.integers(1, t, size)
    return {"frame": clips["truth"][i, k], "guide": clips["guide"][i, k],
            "previous": clips["truth"][i, k - 1], "step": clips["steps"][i, k - 1]}


def train(name: str, clips: dict, steps: int, batch: int = 16, lr: float = 2e-3, seed: int = 0,
          log_every: int = 0) -> tuple[torch.nn.Module, dict]:
    """Train family ``name`` for ``steps`` Adam steps; returns ``(model, record)``.

    ``record``: ``steps``, ``batch``, ``loss`` (mean of the last 10 % of steps), ``first_loss``,
    ``cpu_s`` and ``wall_s``.
    """
    torch.manual_seed(seed)
    model = FAMILIES[name]()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: 1.0 - k / steps)
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    losses = []
    cpu, wall = time.process_time(), time.perf_counter()
    for k in range(steps):
        loss = model.loss(_batch(clips, rng, batch), gen)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
        if log_every and (k + 1) % log_every == 0:
            print(f"{name} step {k + 1}/{steps} loss {np.mean(losses[-log_every:]):.5f} "
                  f"({time.perf_counter() - wall:.0f} s)", flush=True)
    tail = losses[-max(1, steps // 10):]
    return model.eval(), {"steps": steps, "batch": batch, "loss": float(np.mean(tail)),
                          "first_loss": losses[0], "cpu_s": time.process_time() - cpu,
                          "wall_s": time.perf_counter() - wall, "seed": seed}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m framemend.generate.train", description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True, choices=sorted(FAMILIES))
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--clip-seeds", type=int, default=3, help="scene seeds per motion and picture")
    p.add_argument("-o", "--output", help="weights file (default: the packaged one)")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    clips = training_clips(clip_seeds=args.clip_seeds)
    model, record = train(args.model, clips, args.steps, args.batch, args.lr, args.seed,
                          log_every=max(1, args.steps // 10))
    record["clips"] = len(clips["truth"])
    path = save(model, args.model, record, args.output)
    print(f"{path}: {record}  ({os.path.getsize(path) / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
