"""Blind temporal consistency along the motion, one recursive step per frame: the torch
reference (and the CUDA path) of the ``deboil`` filter; :mod:`._cpu` is the same in numba.

Generated video re-draws fine texture every frame (boiling) and lets local tone wobble; both
are changes that the motion does not explain. Each frame ``z`` is compared with the previous
*output* warped onto it (``pred``) along the flow from ``z`` to the previous *input* frame
(the input's own motion, which the output should follow; flow to the previous output gave a
0.10 higher flicker ratio on the tuning clips; where the tone band holds texture, with
Catmull-Rom's cubic, :mod:`.resample`), and split into bands:

* first the warped output is taken through the whole frame's change of exposure since the last
  frame, ``pred <- g pred`` with ``g`` per channel the median ratio of the frame to the
  previous output along the flow, as far as the frame's samples agree on it
  (:func:`exposure_gain`): a fade or an exposure change moves every pixel by one gain and is
  real, and compared before it, a fade's smooth residual was pulled away frame after frame (a
  clean pan fading to 15 % came out 6 levels off, 34.0 dB; 43.3 with the gain; BENCHMARKS.md,
  "Deboil follows a fade"); a lamp lighting a room unevenly spreads the ratios and is left to
  the confidences below;
* the residual ``r = pred - z``, its low band ``d = box_R(box_R(r))`` (tone, exposure), its
  local energy ``m = box_2(|r|²)`` (misaligned structure, new content) and the roughness of
  the tone residual ``ρ = box_{4R}(d̄²) - box_{4R}(d̄)²`` (``d̄`` the mean of ``d`` over
  the channels: its local variance over a box of :data:`ROUGHNESS_SPAN` low radii);
* per-pixel confidences, of tone ``c_l = exp(-(|d|²/τ_tone² + ρ/τ_rough²)/k²)`` and of
  texture ``c = c_l exp(-m/τ_detail²)`` (means over channels; ``k = max(ℓ/BRIGHT, 1)``,
  ``ℓ`` the brighter of the frame's tone and the prediction's: a generator's wobble is a gain,
  so on bright content the tolerances grow with the light, :func:`tone_confidence`): where the
  warped output disagrees with the frame (an object the flow missed, a disocclusion, new content, a real change of light
  beyond the tolerance) they fall to 0 and the frame is kept as it is; pixels whose source
  left the frame get 0. The tone is gated on the *shape* of its residual, not on the fine
  residual's energy: a tone difference that is smooth over a few low radii is flicker or
  exposure wobble and is pulled even where the texture boils (generated video boils and
  wobbles on the same moving subjects), while one with structure at the tone band's own scale
  (an object the flow missed: its tone against the background's) is kept. Gated on ``m``
  (``τ_structure = 0.1``, before) the default chain left 0.657 of the input's flicker in the
  median of the six generated clips; gated on ``ρ`` 0.583 (BENCHMARKS.md, "Deboil's tone gated
  on the roughness of its residual"), with the tolerances growing with the light and a tone
  weight of up to 0.99, 0.567 (BENCHMARKS.md, "Deboil's tone tolerances grow with the light");
* the weights ``w_l = min(strength · c_l, MAX_TONE_WEIGHT)``, ``w = min(strength · c,
  MAX_WEIGHT)``; tone: ``z_low + w_l d`` (the frame's low band pulled toward the
  motion-compensated running output); texture: ``b = z_high + w (r - d)``, the frame's fine
  band blended toward the warped output's fine band;
* averaging two unrelated textures lowers their contrast (``√((1-w)² + w²)`` for
  uncorrelated ones): ``b`` is scaled back up to the local energy (7x7) of the frame's own fine
  band, by at most that factor and never down, so texture stays as crisp as the input's while
  its pattern persists along the motion. Where the tone band holds texture (below) the factor
  is ``1/√((1-w)² + w² k)``, ``k`` the share of the frame's fine energy that the warped
  output's fine band holds (``clamp(e_pred/e_z, KEPT_FLOOR, 1)``, boxes of 7x7): there the warp
  along a wandering flow resamples the running output's fine band away, and the blend of two
  unrelated textures of energies ``e_z`` and ``k e_z`` keeps ``(1-w)² + w² k`` of ``e_z``
  (capped as if ``k`` were 1, the tiny diffusion model's grass, brick and gravel clips kept
  0.88-0.93 of their detail in deboil alone, 0.91-0.95 so: BENCHMARKS.md, "Deboil's fine band
  restored with the share the warp kept; its output warped with Catmull-Rom's cubic");
* so does the texture that the tone band holds on small frames: at 128 px the low radius is
  2 px, and a generator's texture of 4-16 px is tone to the split; blended with ``w_l`` up to
  0.99 frame after frame, independent drawings of it would keep ``√((1-w_l)/(1+w_l))`` of
  their contrast (0.07). Where the band holds it (:func:`holds_texture`), that texture is the
  band's deviation from its local mean ``μ`` (a box of :data:`COARSE_RADIUS`): ``low - μ``,
  ``low = z_low + w_l d``, is scaled back up, by at most ``1/√((1-w_l)² + w_l² k)`` and never
  down, to a contrast carried along the motion as the pattern is. Where the flow follows the
  pattern that is ``(1-w_l) a_z + w_l a_p``, the blend of ``a_z`` and ``a_p``, the RMS
  deviations (box of :data:`TEXTURE_ENERGY_RADIUS`) of the frame's ``z_low`` and of the
  warped output's ``z_low + d``, and ``k = 1``. Where it does not (texture re-drawn every
  frame: :data:`FLOW_RADIUS`), the warp resamples the running output's texture away frame
  after frame and ``a_p`` follows it down, so the target is ``√((1-w) a_z² + w a_c²)``
  instead, ``a_c`` the last step's target warped along the flow (``a_p`` on a shot's first
  step) and ``w`` the texture's weight (at most :data:`MAX_WEIGHT`: it follows the frames' own
  contrast within about ten frames): a running mean of the frames' texture *energy*, since the
  mean of a re-drawn texture's fluctuating local contrast is below its RMS (averaged as
  contrasts, the target kept 0.87-0.94 of the frame's energy on the tiny diffusion model's
  grass, brick and gravel), and ``k`` the share of the carried energy that the warp kept,
  ``clamp(a_p²/a_c², KEPT_FLOOR, 1)``. Between the two by ``n``, the flow's local deviation
  from its smoothed field over :data:`FLOW_NOISE` (:func:`smooth_flow`), at most 1. (The
  frame's own contrast as the target, as for the fine band, cost the tiny VAE and flow models'
  clips 0.02-0.07 of deboil's warping error gain, against 0.005-0.015, and took their detail
  retention to 1.07-1.08, above their input's. ``a_p`` alone, before, left 0.64-0.72 of the
  detail of the tiny diffusion model's grass, brick and gravel clips: BENCHMARKS.md, "Deboil
  carries the texture's contrast along a smoothed flow".) Where the band holds texture the flow
  followed is first moved by ``n`` toward its smoothed field (:func:`smooth_flow`).
  Variance-preserving blending: Heitz and
  Neyret, "High-Performance By-Example Noise using a Histogram-Preserving Blending Operator",
  HPG 2018; Yu et al., "Lagrangian Texture Advection", I3D 2011. The output is
  ``μ + g_l (low - μ) + g b``;
* the output's mean colour is set back to the frame's per channel: tone changes of the whole
  frame are the deflicker pass's job, and this pass does not move colour;
* where the texture cannot be followed (confidence ``c`` low) and the motion is fast, the
  re-drawn texture would boil on: there the output is smeared along the motion as a camera's
  shutter open for :data:`SHUTTER` of the frame interval would have smeared it (a box of
  length ``ℓ = SHUTTER |f|`` along the flow, :data:`SMEAR_TAPS` bilinear samples), with the
  weight ``strength max(1 - 2c, 0) clamp(ℓ - 1 px, 0, 1)``: nothing under 4 px of motion
  per frame, nor where the texture is followed (``c >= 1/2``, as :func:`auto_strength`
  counts it; ``1 - c`` instead smeared a third of CogVideoX's slow clip a little, at 8 ms a
  frame more on the CPU), nor on content that has just come into the frame (new, not
  boiling: a clean 12 px/frame pan lost 2 dB there). Generators draw fast motion sharp,
  without the blur a shutter leaves; ffmpeg's ``nlmeans`` removes such texture everywhere
  instead (on CogVideoX's follow-cam clip, 80 % of the warping error the default chain left
  was on the 23 % of the pixels with ``c < 1/2``, and a third of the pixels move 10 px a
  frame or more). Only the output frame is smeared: the recursion goes on from the sharp one.

This is the recursive, streaming form of blind video temporal consistency (Bonneel et al.,
"Blind Video Temporal Consistency", SIGGRAPH Asia 2015: the output's gradients follow the
frame, its tone the warped previous output; Lai et al., "Learning Blind Video Temporal
Consistency", ECCV 2018, for the confidence from the warp residual), with a band split instead
of a gradient-domain solve, so each frame costs a few passes over its pixels.

Palette input (GIF): the dither is removed first (:func:`framemend.chain.palette.dedither`),
since it is quantisation error re-drawn every frame.
"""
from __future__ import annotations

from framemend._torch import torch
from framemend.chain.palette import dedither
from framemend.flow import backward_warp, outside_mask
from framemend.flow.estimate import motion_flow
from framemend.kernels.blur import box_mean

from .resample import catmull_rom_warp

# tuned on CogVideo__1, AnimateDiff__model_08_01 and VideoCrafter__woman and on generated test
# scenes: looser tone confidences (τ_tone 0.3) took the noref flicker ratio of deboil,deflicker
# from 0.81 to 0.55 in the median on the clips, but lost 1.2 dB on the moving face of the
# "subject" scene and 0.1 dB on a zoom; these lose nothing there (do no harm)
TONE_TOLERANCE = 0.125  # τ_tone, [0, 1] units: low-band disagreement that counts as real
DETAIL_TOLERANCE = 0.08  # τ_detail: RMS residual (5x5) that counts as real for texture
# τ_rough: RMS variation of the tone residual over ROUGHNESS_SPAN low radii that counts as real
# structure (tuned on CogVideo__2, VideoCrafter__woman, AnimateDiff__model_08_01 and the
# subject scene, seeds 24, 40, 41: with τ_tone 0.15, span 4 and 0.07 kept the moving face
# 0.2-0.3 dB better than the structure gate did; 0.09 or a span of 3 gained 0.01-0.02 of
# flicker for 0.1-0.3 dB there). τ_tone 0.125 (was 0.15): without the structure term a lamp's
# smooth light is gated by its size alone, and 0.15 kept +1.53 dB of the lamp scene's wobble
# (test bar +1.7), 0.125 +1.96 for 0.01-0.03 more flicker on the tuning clips
ROUGHNESS_TOLERANCE = 0.07
ROUGHNESS_SPAN = 4  # the box of the roughness, in low radii
# the brightness (mean of the channels, [0, 1]) above which both tone tolerances grow with the
# light (:func:`tone_confidence`): a generator's wobble is a gain, its residual in proportion to
# the light. Tuned on CogVideo__2, VideoCrafter__woman, AnimateDiff__model_08_01 with the
# subject scene's face and the lamp tests: 0.5 lost the face (-0.75 dB, bar -0.6) and the lamp
# under a wobble (+1.67 dB, bar +1.7); 0.7 steadied less (model_08 0.573 against 0.561 of the
# input's flicker, woman 0.581 against 0.573)
BRIGHT = 0.6
MAX_WEIGHT = 0.9  # the frame always keeps a tenth of its own texture
# and a hundredth of its own tone (0.95 before: the twentieth left on CogVideo__1, whose input
# flickers by half a level, 0.560 of its flicker in the default chain, 0.546 at 0.99)
MAX_TONE_WEIGHT = 0.99
LIMITS = (TONE_TOLERANCE, DETAIL_TOLERANCE, ROUGHNESS_TOLERANCE, MAX_WEIGHT, MAX_TONE_WEIGHT,
          BRIGHT)
MID_RADIUS, ENERGY_RADIUS = 2, 3
# the tone band's texture (module docstring), in pixels: a generator's texture is drawn at a
# few pixels whatever the frame size, and on large frames the tone band holds none (its reach,
# two of them more rows in the CPU path's bands, stays small there); tuned on the tiny
# diffusion model's clips at 128 px (where they are 4 and 2 low radii)
COARSE_RADIUS = 8  # the box of the tone band's local mean
# the box of its texture's local energy (and of the flow's deviation, smooth_flow): as wide as
# the local mean's, so that it spans a period of the coarsest texture the deviation holds (17 px
# and more); over 4 px the energies followed the pattern's phase, and the gains clamped from
# them (never down, capped) kept less: the tiny diffusion model's grass, brick and gravel clips
# 0.835-0.885 of their detail in deboil alone against 0.869-0.915 (the contrast carried as
# contrast; BENCHMARKS.md, "Deboil's tone-band texture: energies over its own scale")
TEXTURE_ENERGY_RADIUS = COARSE_RADIUS
# where the tone band holds texture, the flow followed is moved toward its field box-filtered
# (twice) over this radius, as far as it deviates from it (FLOW_NOISE, smooth_flow): on such
# frames DIS solves at full or half size (FINEST_SIDE), and on texture re-drawn every frame its
# field is noisy at its patches' scale; warped along it, a frame lost 16-19 % of its detail
# energy on the tiny diffusion model's grass, brick and gravel clips (3-5 % along the field
# smoothed by a Gaussian of 8 px, 0-2 % along its affine fit), the running output as much each
# frame. Tuned on the tiny diffusion model's clips handheld/texture/101, zoom/texture/102,
# zoom/brick/130, handheld/gravel/131, rotate/grass/132, pan/brick/133 (deboil alone, the CPU
# path, an intermediate commit that followed the smoothed field everywhere and always the
# carried contrast): radius 2 / 4 / 6, warp gain median 0.581 / 0.617 / 0.624, retention median
# 0.930 / 0.926 / 0.917; unsmoothed 0.500 and 0.906 (main before: 0.605 and 0.815)
FLOW_RADIUS = 4
# the least fraction of the carried contrast that the warp is taken to keep (the restoring
# gain's cap, :func:`_restoring_gain`): at most twice the contrast
KEPT_FLOOR = 0.25
# the flow's deviation from its smoothed field (px, local mean) from which it is taken not to
# follow the pattern (module docstring): medians 0.9 px on the tiny diffusion model's grass,
# brick and gravel, 0.6-0.7 on its other clips, 0.1 on a photograph's zoom (test_deboil's
# wobble scenes), where the carried contrast, let through the wider cap, cost 0.3 dB
FLOW_NOISE = 1.0
SHUTTER = 0.25  # the smear's length as a fraction of the frame's motion (a 90° shutter)
SMEAR_TAPS = 7  # samples along the smear
# the whole frame's change of exposure (exposure_gain) is read on a grid of this many samples
# along the short side, from the pixels of the previous output at least EXPOSURE_FLOOR bright
# (darker ones give ratios of rounding)
EXPOSURE_SAMPLES = 64
EXPOSURE_FLOOR = 0.1
# a sample agrees with the median gain within this fraction of it: on the clean fade scene
# (256x144) 0.76-0.82 of the samples did with nearest sampling, on the lamp lighting a room
# unevenly 0.16, a clean pan's ratios (no change) 0.65-0.72
EXPOSURE_TOLERANCE = 0.05
FOLLOWED_FULL = 0.5  # auto: full strength once half the frame is followed (auto_strength)
# the flow followed (and published for the passes after this one): DIS's finest level keeps at
# least this many pixels on the shorter side (framemend.flow.estimate.motion_luma_flow), so
# frames under 640 rows are solved an octave or two finer than the motion preset's quarter size.
# The tone band carries structure at a few times its low radius, moved along this flow: at a
# quarter size (a 120-row grid at 720x480) it follows the input's motion too coarsely for the
# tone to stay put (BENCHMARKS.md, "Deflicker's floor")
FINEST_SIDE = 160


def low_radius(height: int, width: int) -> int:
    """Radius of the low band's box (applied twice): 1/60 of the short side, at least 2."""
    return max(2, round(min(height, width) / 60))


def holds_texture(height: int, width: int) -> bool:
    """Whether the tone band holds texture at the scale of :data:`COARSE_RADIUS`, whose contrast
    is restored (module docstring): where its low radius is under it (frames under about 450
    px on the short side). On larger frames the restoration moved the output of a 1920x1080
    clip by 0.006 levels on average (at most 1) for 50-65 ms of CPU time a frame more (+25 %)."""
    return low_radius(height, width) < COARSE_RADIUS


def _box(x: torch.Tensor, radius: int) -> torch.Tensor:
    """``(N, C, H, W)`` mean over ``(2r+1)²``, mirrored at the borders as ``cv2.blur`` (the CPU
    path's) does."""
    return box_mean(x, radius, "reflect")


def auto_strength(followed: float) -> float:
    """The strength for a shot from the fraction of its second frame that the first follows
    along the motion (confidence above 1/2): full where the motion explains at least
    :data:`FOLLOWED_FULL` of the frame, less where it explains less (frames that change
    wholesale, flow that fails), since the few pixels that match there are less trustworthy."""
    return min(followed / FOLLOWED_FULL, 1.0)


def roughness(d: torch.Tensor, radius: int) -> torch.Tensor:
    """``(H, W)`` the local variance of the tone residual ``d`` ``(3, H, W)`` (its mean over
    the channels) over a box of :data:`ROUGHNESS_SPAN` times the low ``radius``: small where
    the tone difference is smooth (flicker, exposure wobble), large where it has structure at
    the tone band's scale (an object the flow missed)."""
    span = ROUGHNESS_SPAN * radius
    mean = d.mean(0)[None, None]
    return (_box(mean ** 2, span) - _box(mean, span) ** 2)[0, 0]


def tone_confidence(d: torch.Tensor, low: torch.Tensor, radius: int) -> torch.Tensor:
    """``(H, W)`` the tone's confidence ``c_l`` (module docstring) from the tone residual ``d``
    and the frame's low band ``low`` (both ``(3, H, W)``): ``exp(-(|d|²/τ_tone² + ρ/τ_rough²)
    / k²)``, ``k = max(ℓ / BRIGHT, 1)`` with ``ℓ`` the brighter of the frame's and the
    prediction's tone (``low + d``; means over the channels). A local exposure wobble is a gain:
    its residual grows with the light, and on bright content (over :data:`BRIGHT`) the
    tolerances grow with it; on darker content they are absolute, as before."""
    light = (low.mean(0) + d.mean(0).clamp(min=0)).clamp(min=BRIGHT)
    return torch.exp(-((d ** 2).mean(0) / TONE_TOLERANCE ** 2
                       + roughness(d, radius) / ROUGHNESS_TOLERANCE ** 2) * (BRIGHT / light) ** 2)


def exposure_step(height: int, width: int) -> int:
    """The spacing ``s`` of the grid on which :func:`exposure_gain` reads the frames (every
    ``s``-th row and column from ``s // 2``): the short side over :data:`EXPOSURE_SAMPLES`, at
    least 1."""
    return max(1, min(height, width) // EXPOSURE_SAMPLES)


def exposure_gain(previous: torch.Tensor, frame: torch.Tensor, flow: torch.Tensor
                  ) -> torch.Tensor:
    """``(3,)`` the change of the whole frame's exposure from ``previous`` to ``frame`` (both
    ``(3, H, W)``; ``flow`` ``(2, H, W)`` from ``frame`` to ``previous``), per channel: the
    (lower) median ``g`` of the ratios of the samples of ``frame`` on
    :func:`exposure_step`'s grid to ``previous`` where they came from (bilinear; inside the
    frame and at least :data:`EXPOSURE_FLOOR` bright), taken as far as the samples agree on it:
    ``1 + a (g - 1)``, ``a`` rising from 0 to 1 as the share of the ratios within
    :data:`EXPOSURE_TOLERANCE` of ``g`` rises from 1/4 to 3/4; 1 where no sample counts. A fade
    or a change of exposure moves every pixel by one gain and is real: the warped output is
    taken through it before it is compared with the frame (module docstring). A change of part
    of the frame (a lamp lighting the room unevenly, a moving object) spreads the ratios and is
    left to the confidences."""
    h, w = frame.shape[-2:]
    step = exposure_step(h, w)
    ys = torch.arange(step // 2, h, step, device=frame.device)
    xs = torch.arange(step // 2, w, step, device=frame.device)
    f = flow[:, ys][:, :, xs]
    px, py = xs.to(flow.dtype)[None] + f[0], ys.to(flow.dtype)[:, None] + f[1]
    inside = (px >= 0) & (px <= w - 1) & (py >= 0) & (py <= h - 1)
    grid = torch.stack([px * (2.0 / max(w - 1, 1)) - 1, py * (2.0 / max(h - 1, 1)) - 1], -1)
    source = torch.nn.functional.grid_sample(previous[None], grid[None], mode="bilinear",
                                             padding_mode="border", align_corners=True)[0]
    counted = inside & (source >= EXPOSURE_FLOOR)
    ratio = torch.where(counted, frame[:, ys][:, :, xs] / source.clamp(min=EXPOSURE_FLOOR),
                        torch.full_like(source, float("nan"))).flatten(1)
    gain = torch.nan_to_num(ratio.nanmedian(dim=1).values, nan=1.0)
    agree = ((ratio / gain[:, None] - 1).abs() < EXPOSURE_TOLERANCE).sum(1)
    share = agree / counted.flatten(1).sum(1).clamp(min=1)
    return 1 + (2 * share - 0.5).clamp(0, 1) * (gain - 1)


def _bands(previous, frame, flow, gain):
    """The residual and its low band, the confidences of tone and texture and the frame's fine
    band (module docstring), ``(3, H, W)`` but the confidences ``(H, W)``; ``previous``,
    ``frame`` ``(3, H, W)``, ``flow`` ``(2, H, W)`` from ``frame`` to ``previous``, ``gain``
    ``(3,)`` the whole frame's change of exposure (:func:`exposure_gain`)."""
    radius = low_radius(*frame.shape[-2:])
    if holds_texture(*frame.shape[-2:]):  # (.resample; on larger frames OpenCV's cubic)
        pred = catmull_rom_warp(previous, flow)
    else:
        pred = backward_warp(previous[None], flow[None], mode="bicubic")[0]
    r = pred * gain[:, None, None] - frame
    d = _box(_box(r[None], radius), radius)[0]
    m = _box((r ** 2).mean(0)[None, None], MID_RADIUS)[0, 0]
    zl = _box(_box(frame[None], radius), radius)[0]
    tone = tone_confidence(d, zl, radius)
    tone = torch.where(outside_mask(flow[None])[0, 0], torch.zeros_like(tone), tone)
    zh = frame - zl
    return r, d, tone, tone * torch.exp(-m / DETAIL_TOLERANCE ** 2), zh


def _energy(x: torch.Tensor, radius: int) -> torch.Tensor:
    """``(H, W)`` local energy of ``x`` ``(3, H, W)``: ``|x|²`` summed over the channels, box
    mean of ``radius``."""
    return _box((x ** 2).sum(0)[None, None], radius)[0, 0]


def _deviation(x: torch.Tensor) -> torch.Tensor:
    """``(3, H, W)`` ``x`` less its local mean (box of :data:`COARSE_RADIUS`)."""
    return x - _box(x[None], COARSE_RADIUS)[0]


def _restoring_gain(target: torch.Tensor, blended: torch.Tensor, weight: torch.Tensor,
                    kept: torch.Tensor | float = 1.0) -> torch.Tensor:
    """``(H, W)`` the gain that takes a band blended with ``weight``, of local energy
    ``blended``, back to the energy ``target`` (all ``(H, W)``): between 1 (never down) and
    the contrast that blending uncorrelated bands loses, ``1/√((1-w)² + w² k)``, ``k`` the
    fraction ``kept`` of the prediction's energy that the warp kept (1, or ``(H, W)``)."""
    most = torch.rsqrt((1 - weight) ** 2 + weight ** 2 * kept)
    ratio = torch.sqrt(target.clamp(min=0) / blended.clamp(min=1e-12))
    return torch.minimum(ratio, most).clamp(min=1.0)


def smooth_flow(flow: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """How far ``flow`` ``(2, H, W)`` fails to follow the pattern, ``n`` ``(H, W)`` (module
    docstring): the local mean (box of :data:`TEXTURE_ENERGY_RADIUS`) of its distance from its
    smoothed field (box-filtered twice over :data:`FLOW_RADIUS`, mirrored borders) over
    :data:`FLOW_NOISE`, at most 1; and the flow moved toward that field by ``n``
    ``(2, H, W)``."""
    smoothed = _box(_box(flow[None], FLOW_RADIUS), FLOW_RADIUS)[0]
    difference = flow - smoothed
    noise = (_box(difference.norm(dim=0)[None, None], TEXTURE_ENERGY_RADIUS)[0, 0]
             / FLOW_NOISE).clamp(max=1)
    return flow - noise * difference, noise


def consistency_step_reference(previous: torch.Tensor, frame: torch.Tensor, flow: torch.Tensor,
                               strength: float, contrast: torch.Tensor | None = None
                               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor,
                                          torch.Tensor | None]:
    """One step of the recursion (module docstring).

    Args:
        previous: ``(3, H, W)`` the previous output, RGB in [0, 1].
        frame: ``(3, H, W)`` the current frame (dither already removed).
        flow: ``(2, H, W)`` from ``frame`` to the previous frame (and so to ``previous``):
            ``frame(p) ≈ previous(p + f(p))``.
        strength: 0 (output = frame) .. 1.
        contrast: ``(H, W)`` the contrast carried with ``previous`` (the last step's fourth
            result), or None (the shot's first step: the warped output's own).
    Returns:
        ``(3, H, W)`` the output, RGB clamped to [0, 1] (the recursion's state); the same
        smeared where the motion is fast and not followed (what is shown); the fraction of
        pixels whose texture confidence exceeds 1/2 (for :func:`auto_strength`), a 0-d
        tensor on the frames' device (read once a shot: reading it every frame would wait for
        the device every frame); the contrast carried to the next step ``(H, W)`` (None where
        the tone band holds no texture).
    """
    texture = holds_texture(*frame.shape[-2:])
    if texture:
        flow, noise = smooth_flow(flow)
    gain = exposure_gain(previous, frame, flow)
    r, d, tone, conf, zh = _bands(previous, frame, flow, gain)
    w = (strength * conf).clamp(max=MAX_WEIGHT)
    w_tone = (strength * tone).clamp(max=MAX_TONE_WEIGHT)
    b = zh + w * (r - d)
    e_z = _energy(zh, ENERGY_RADIUS)
    kept = 1.0
    if texture:  # the share of the frame's fine energy that the warped output's holds
        kept = (_energy(zh + r - d, ENERGY_RADIUS) / e_z.clamp(min=1e-12)).clamp(KEPT_FLOOR, 1)
    g = _restoring_gain(e_z, _energy(b, ENERGY_RADIUS), w, kept)
    zl = frame - zh
    low = zl + w_tone * d
    out = low + g * b
    if texture:
        deviation = _deviation(low)
        a_z = _energy(_deviation(zl), TEXTURE_ENERGY_RADIUS).clamp(min=0).sqrt()
        e_p = _energy(_deviation(zl + d), TEXTURE_ENERGY_RADIUS).clamp(min=0)
        if contrast is None:
            carried = e_p.sqrt()
        else:
            carried = (backward_warp(contrast[None, None], flow[None])[0, 0]
                       * (gain ** 2).mean().sqrt())
        blended = (1 - w_tone) * a_z + w_tone * e_p.sqrt()  # where the flow follows
        memory = ((1 - w) * a_z ** 2 + w * carried ** 2).sqrt()  # energies averaged
        contrast = blended + noise * (memory - blended)
        kept = 1 - noise * (1 - (e_p / (carried ** 2).clamp(min=1e-12)).clamp(KEPT_FLOOR, 1))
        gl = _restoring_gain(contrast ** 2, _energy(deviation, TEXTURE_ENERGY_RADIUS), w_tone,
                             kept)
        out = out + (gl - 1) * deviation
    else:
        contrast = None
    shift = (out - frame).mean((1, 2), keepdim=True)
    unfollowed = (1 - 2 * conf).clamp(min=0).masked_fill(outside_mask(flow[None])[0, 0], 0)
    smear = strength * unfollowed * (SHUTTER * flow.norm(dim=0) - 1).clamp(0, 1)
    shown = out + smear * (motion_smear(out, flow) - out)
    return ((out - shift).clamp(0, 1), (shown - shift).clamp(0, 1),
            (conf > 0.5).float().mean(), contrast)


def motion_smear(image: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """``(3, H, W)`` ``image`` averaged along ``flow`` ``(2, H, W)``: the mean of
    :data:`SMEAR_TAPS` bilinear samples at ``p + a f(p)``, ``a`` evenly from ``-SHUTTER/2`` to
    ``SHUTTER/2`` (edges repeated)."""
    taps = torch.linspace(-SHUTTER / 2, SHUTTER / 2, SMEAR_TAPS, dtype=flow.dtype,
                          device=flow.device)
    samples = backward_warp(image[None].expand(SMEAR_TAPS, -1, -1, -1),
                            taps[:, None, None, None] * flow[None])
    return samples.mean(0)



class TorchState:
    """The recursion's state on any device: the previous output and input frame, both
    ``(3, H, W)``, and the contrast carried with the output ``(H, W)`` (None on a shot's first
    frame, or where the tone band holds no texture); the reference for
    :class:`._cpu.CpuState`, with the same methods."""

    def __init__(self, output: torch.Tensor, frame: torch.Tensor,
                 contrast: torch.Tensor | None = None):
        self.output, self.input, self.contrast = output, frame, contrast

    @classmethod
    def frame(cls, image: torch.Tensor, dither: bool) -> TorchState:
        """A frame ``(3, H, W)`` (dither removed if asked) as a state (the first frame of a
        shot is its own output)."""
        image = dedither(image) if dither else image
        return cls(image, image)

    def pixels(self) -> torch.Tensor:
        return self.output.clamp(0, 1)

    def motion(self, frame: TorchState) -> torch.Tensor:
        """The flow ``(2, H, W)`` from ``frame``'s input to this state's (the motion followed:
        :func:`framemend.flow.estimate.motion_flow` with :data:`FINEST_SIDE`, the torch flow
        on the device path)."""
        return motion_flow(frame.input, self.input, FINEST_SIDE)

    def step(self, frame: TorchState, flow: torch.Tensor, strength: float
             ) -> tuple[TorchState, torch.Tensor, torch.Tensor]:
        """The next output from ``frame`` along ``flow`` (:meth:`motion`): the new state, its
        image and the fraction of the frame that the previous output follows (0-d tensor)."""
        out, shown, followed, contrast = consistency_step_reference(
            self.output, frame.input, flow, strength, self.contrast)
        return TorchState(out, frame.input, contrast), shown, followed
