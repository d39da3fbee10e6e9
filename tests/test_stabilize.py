"""stabilize: measured against the ground truth of generated clips (framemend.generate)."""
from __future__ import annotations

import contextlib

import cv2
import numpy as np
import pytest
import torch
from skimage import data

from framemend.chain.frames import Frame
from framemend.chain.options import make_options
from framemend.cuda import device_path_on_cpu
from framemend.generate import artifacts, degrade, scene
from framemend.generate.camera import apply_homography, pose_homographies
from framemend.generate.render import Sprite, render_layers
from framemend.metrics import psnr
from framemend.metrics.camera import camera_path, jitter
from framemend.stabilize.stabilize import Stabilize, stabilize
from framemend.stabilize.warp import warp_affine, warp_affine_torch

W, H = 320, 180


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _tensor(frames: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).contiguous()


def _array(frames: torch.Tensor) -> np.ndarray:
    return frames.permute(0, 2, 3, 1).numpy()


def _run(frames: np.ndarray, cuts=(), notes: list | None = None, **options) -> list[Frame]:
    """Stream ``frames`` through the filter, keeping each output frame's aux (warp, zoom);
    the filter's notes are added to ``notes`` where given."""
    flt = Stabilize(make_options("stabilize", Stabilize.Options, options))
    x = _tensor(frames)
    out = []
    for t in range(len(x)):
        out += flt.push(Frame(x[t], t / 24.0, t in cuts))
    out += flt.flush()
    if notes is not None:
        notes += flt.notes()
    return out


@pytest.fixture(scope="module")
def shaken_handheld():
    return degrade(scene("handheld", W, H, frames=48, seed=1), "jitter=3", seed=1)


def test_shake_removed_keeping_the_frame(shaken_handheld):
    clip = shaken_handheld
    out = _run(clip.frames)
    frames = np.stack([_array(f.image[None])[0] for f in out])
    before, after = jitter(clip.frames), jitter(frames)
    assert after <= 0.05 * before  # the bar is 10 %
    zooms = np.array([f.aux["stabilize_zoom"] for f in out])
    assert (1.0 / zooms ** 2).min() >= 0.85


MARK = np.array([1.0, 0.0, 1.0], np.float32)  # magenta: absent from the rendered scenes


def _marked(frames: np.ndarray) -> np.ndarray:
    """``(T,)`` fraction of each frame's pixels that are (nearly) :data:`MARK`."""
    near = (np.abs(frames - MARK) < 0.2).all(-1)
    return near.reshape(len(frames), -1).mean(1)


def test_no_black_edges():
    """No output pixel comes from outside the picture: pixels the shake brought in from
    beyond the rendered frame are painted magenta, and none may reach the output."""
    clip = scene("handheld", W, H, frames=48, seed=1)
    shaken, shake = artifacts.jitter(clip.frames, 3.0, 0.5, seed=1)
    inside = np.stack([cv2.warpPerspective(np.ones((H, W), np.float32), m, (W, H),
                                           borderMode=cv2.BORDER_CONSTANT) for m in shake])
    shaken[inside < 0.999] = MARK
    out = np.stack([_array(f.image[None])[0] for f in _run(shaken)])
    assert _marked(clip.frames).max() == 0 and _marked(shaken).min() > 0.005
    assert _marked(out).max() == 0  # measured 0; 0.044 of a frame with the warp left out


def test_static_clip_stays_still():
    clip = scene("static", W, H, frames=24, seed=2)
    out = _array(stabilize(_tensor(clip.frames)))
    path = camera_path(out)
    assert np.abs(path - path[0]).max() < 0.25
    assert psnr(out, clip.frames) > 35.0


def test_a_lamp_switching_on_is_no_motion():
    """A static shot where a lamp switches on half-way (up to 3.6x the light at the top left):
    Lucas-Kanade's brightness constancy read the change of light as a 0.4 px move, and the
    frames from the switch on came out shifted (29 dB against the input there, 39-44 before
    it); tracked on the local contrast, they stay (measured 66-71 dB)."""
    clip = scene("light-on", W, H, frames=48, seed=5)
    out = _array(stabilize(_tensor(clip.frames)))
    assert min(psnr(o, c) for o, c in zip(out[20:32], clip.frames[20:32])) > 45.0


def _subject_entering_over_boiling_ground(seed: int, w: int = 480, h: int = 270,
                                          frames: int = 36) -> np.ndarray:
    """``(T, h, w, 3)`` uint8, the camera still: a ground texture (gravel, grass or brick at
    half its contrast) that boils (:func:`artifacts.boiling` at its default strength) and a
    photograph 160x120 that slides in from the left edge in jerks (8-24 px, on half of the
    frames) and across it."""
    rng = np.random.default_rng(seed)
    texture = cv2.resize([data.gravel(), data.grass(), data.brick()][seed % 3], (w, h))
    texture = texture.astype(float)
    ground = (110 + 0.5 * (texture - texture.mean()))[..., None] * np.array([1.0, 0.95, 0.85])
    grounds = artifacts.boiling(np.repeat((ground / 255.0)[None].astype(np.float32), frames, 0),
                                seed=seed) * 255.0
    photo = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket()][seed % 4]
    patch = cv2.resize(photo, (160, 120), interpolation=cv2.INTER_AREA).astype(float)
    x, y, out = -160.0, 75.0, []
    for t in range(frames):
        if rng.random() < 0.5:
            x, y = x + rng.uniform(8, 24), y + rng.uniform(-4, 4)
        f = grounds[t].astype(float)
        xi, yi = int(round(x)), int(round(y))
        x0, x1 = max(xi, 0), min(xi + 160, w)
        if x1 > x0:
            f[yi:yi + 120, x0:x1] = patch[:, x0 - xi:x1 - xi]
        out.append(np.clip(f, 0, 255).astype(np.uint8))
    return np.stack(out)


@pytest.mark.parametrize("seed", [12, 14, 17, 20])
def test_a_subject_over_boiling_ground_is_no_camera(seed):
    """A generated clip's textured subject moving in jerks over ground that boils, the camera
    still (CogVideoX's toy ship on its carpet, made 3x shakier): the boiling ground loses its
    tracked corners fast, the subject's are found again at each new detection, and RANSAC's
    largest set took the subject's jerks for the camera's, so the output moved the ground by
    4.5-8.2 px RMS (up to 18). With the camera's layer carried by the features tracked before
    the latest detection, measured 0.05-0.24 px (seeds 0-8 looked at, these four held back of
    the seven in 24 where the parent failed)."""
    frames = _subject_entering_over_boiling_ground(seed)
    h, w = frames.shape[1:3]
    flt = Stabilize(make_options("stabilize", Stabilize.Options, {}))
    out = [flt.push(Frame(raw=f, time=t / 24.0)) for t, f in enumerate(frames)] + [flt.flush()]
    centre = np.array([w / 2.0, h / 2.0, 1.0])
    shift = [np.linalg.norm((f.aux["stabilize_warp"] @ centre)[:2] - centre[:2])
             for done in out for f in done]
    assert np.sqrt(np.mean(np.square(shift))) < 1.0


def _follow_cam(seed: int, w: int = 480, h: int = 270, frames: int = 60
                ) -> tuple[np.ndarray, np.ndarray]:
    """A camera following a subject, shaken: ``(T, h, w, 3)`` uint8 frames and ``(T, 3, 3)``
    maps from a reference point of the background to where the shaken frame shows it.

    A photograph at half its contrast (the background) still for 12 frames, then panning faster
    over 12 more to 6 px a frame, so that its corners leave the picture; a photograph 120x90 at
    full contrast (the subject) held at the frame's centre, bouncing on its own by 0.6 px RMS a
    frame (a car on its suspension); the whole frame shaken by 3 px RMS and 0.3 degrees
    (:func:`artifacts.jitter`)."""
    rng = np.random.default_rng(seed)
    speed = 6.0 * np.clip((np.arange(frames) - 12) / 12.0, 0.0, 1.0)
    pan = np.concatenate([[0.0], np.cumsum(speed[1:])])
    camera = pose_homographies(w, h, pan, 0.0, 0.0, 1.0)
    photos = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket(),
              data.immunohistochemistry()]
    ground = photos[seed % 5].astype(np.float32) / 255.0
    ground = ground.mean() + 0.5 * (ground - ground.mean())
    sw, sh = 120, 90
    subject = cv2.resize([data.chelsea(), data.astronaut(), data.rocket(), data.coffee()][seed % 4],
                         (sw, sh), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    rgba = np.concatenate([subject, np.ones((sh, sw, 1), np.float32)], -1)
    place = np.tile(np.eye(3), (frames, 1, 1))  # subject pixel -> frame pixel
    bounce = rng.standard_normal((frames, 2)) * 0.6 / np.sqrt(2.0)
    place[:, :2, 2] = [(w - sw) / 2.0, (h - sh) / 2.0] + bounce
    clean, *_ = render_layers(ground, camera, [Sprite(rgba, camera @ place, (0, 0, sw, sh))], w, h)
    shaken, shake = artifacts.jitter(clean, 3.0, 0.3, seed=seed + 1000)
    return (shaken * 255.0 + 0.5).astype(np.uint8), shake @ np.linalg.inv(camera)


@pytest.mark.parametrize("seed", [9, 13, 21, 23])
def test_a_followed_subject_is_no_camera(seed):
    """A follow-cam (CogVideoX's camera behind an SUV, shaken by 3 px and 0.3 degrees): the
    subject holds more corners than the background, its features join the tracked ones while
    all is still, the seniors keep it when the background starts to flow past, and the
    background's corners leave the picture while the subject's stay; the output carried the
    subject's bounce: a point of the background moved by 1.23-2.55 px/frame² RMS acceleration
    (seeds 9, 13, 21, 23; 0.23-0.59 where the camera stayed on the background). With a layer
    that three quarters of a dense flow follow taking the camera over, measured 0.33-0.48
    (seeds 0-7 looked at; these four held back of the eight in 24 where the parent failed)."""
    frames, seen = _follow_cam(seed)
    h, w = frames.shape[1:3]
    flt = Stabilize(make_options("stabilize", Stabilize.Options, {}))
    out = [flt.push(Frame(raw=f, time=t / 24.0)) for t, f in enumerate(frames)] + [flt.flush()]
    warps = [f.aux["stabilize_warp"] for done in out for f in done]
    point = np.array([w / 2.0, h / 2.0, 1.0])
    shown = np.stack([(np.linalg.inv(m) @ s @ point)[:2] for m, s in zip(warps, seen)])
    assert np.sqrt(np.mean(np.sum(np.diff(shown, 2, axis=0) ** 2, 1))) < 0.8


def _forward_follow_cam(seed: int, w: int = 480, h: int = 270, frames: int = 48
                        ) -> tuple[np.ndarray, np.ndarray]:
    """A camera driving forward behind a subject, shaken: ``(T, h, w, 3)`` uint8 frames and
    ``(T, 3, 3)`` maps from a point of the far backdrop in the first frame to where the shaken
    frame shows it.

    A ground plane (gravel, grass or brick in perspective, the camera 300 px of focal length
    moving 0.25 of its height a frame) below a horizon at 0.45 of the height; above it a
    photograph as the far backdrop, zooming 0.4 % a frame about the vanishing point; a
    photograph 120x90 held on the road at the vanishing point (the followed car), bouncing on
    its own by 0.6 px RMS; the frame shaken by 3 px RMS and 0.3 degrees
    (:func:`artifacts.jitter`). Rendered at twice the size and reduced (area)."""
    rng = np.random.default_rng(seed)
    ground = [data.gravel(), data.grass(), data.brick()][seed % 3].astype(np.float32)
    ground = ground[..., None] * np.array([1.0, 0.95, 0.88], np.float32)
    back = [data.coffee(), data.chelsea(), data.astronaut(), data.rocket(),
            data.immunohistochemistry()][seed % 5].astype(np.float32)
    sw, sh = 120, 90
    subject = cv2.resize([data.chelsea(), data.astronaut(), data.rocket(), data.coffee()][seed % 4],
                         (sw, sh), interpolation=cv2.INTER_AREA).astype(np.float32)
    rgba = np.concatenate([subject, np.full((sh, sw, 1), 255.0, np.float32)], -1)
    horizon, focal, zoom = 0.45 * h, 300.0, 1.004
    vanishing = np.array([(w - 1) / 2.0, horizon])
    bounce = rng.standard_normal((frames, 2)) * 0.6 / np.sqrt(2.0)
    ys, xs = np.mgrid[0:2 * h, 0:2 * w].astype(np.float32)
    xs, ys = (xs + 0.5) / 2 - 0.5, (ys + 0.5) / 2 - 0.5
    k = min(back.shape[1] / w, back.shape[0] / h) / 1.15  # backdrop pixels per frame pixel
    below = ys > horizon + 0.5
    depth = np.where(below, focal / np.maximum(ys - horizon, 1e-3), 0.0)  # camera heights
    th, tw = ground.shape[:2]
    u = np.mod((xs - vanishing[0]) * depth / focal * 60.0 + tw * 10, tw).astype(np.float32)
    out = []
    for t in range(frames):
        s = zoom ** t
        bx = ((xs - vanishing[0]) / s * k + back.shape[1] / 2.0).astype(np.float32)
        by = ((ys - vanishing[1]) / s * k + back.shape[0] / 2.0).astype(np.float32)
        frame = cv2.remap(back, bx, by, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)
        v = np.mod(-(depth + 0.25 * t) * 60.0, th).astype(np.float32)
        road = cv2.remap(ground, u, v, cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)
        frame[below] = road[below]
        frame = cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA)
        place = np.float32([[1, 0, (w - sw) / 2.0 + bounce[t, 0]],
                            [0, 1, horizon - sh / 3.0 + bounce[t, 1]]])
        layer = cv2.warpAffine(rgba, place, (w, h), flags=cv2.INTER_LINEAR)
        alpha = layer[..., 3:] / 255.0
        out.append((frame * (1 - alpha) + layer[..., :3] * alpha) / 255.0)
    shaken, shake = artifacts.jitter(np.clip(np.stack(out), 0, 1).astype(np.float32), 3.0, 0.3,
                                     seed=seed + 1000)
    about = np.array([[1.0, 0.0, -vanishing[0]], [0.0, 1.0, -vanishing[1]], [0.0, 0.0, 1.0]])
    zooms = [np.linalg.inv(about) @ np.diag([zoom ** t, zoom ** t, 1.0]) @ about
             for t in range(frames)]
    return (shaken * 255.0 + 0.5).astype(np.uint8), shake @ np.stack(zooms)


@pytest.mark.parametrize("seed", [10, 15, 16, 18])
def test_a_forward_follow_cam_is_read_from_its_backdrop(seed):
    """A forward follow-cam with parallax (the ground expanding below the horizon, a followed
    subject bouncing at the vanishing point, a far backdrop): the ground's gravel holds most of
    the strongest corners, so the 200 strongest made the camera a band of the ground (its
    expansion read as a similarity) or the subject, and a point of the backdrop moved by
    1.35-2.86 px/frame² RMS acceleration in the output (seeds 10, 15, 16, 18; 0.26-0.39 with
    corners on the backdrop alone). With the corners spread over the frame's quarters,
    measured 0.29-0.53 (seeds 0-7 looked at; these four held back of the nine in 8-23 where
    the parent failed)."""
    frames, seen = _forward_follow_cam(seed)
    h, w = frames.shape[1:3]
    flt = Stabilize(make_options("stabilize", Stabilize.Options, {}))
    out = [flt.push(Frame(raw=f, time=t / 24.0)) for t, f in enumerate(frames)] + [flt.flush()]
    warps = [f.aux["stabilize_warp"] for done in out for f in done]
    points = np.array([[(w - 1) / 2.0, 0.45 * h, 1.0], [w / 4, h / 4, 1.0], [3 * w / 4, h / 4, 1.0],
                       [w / 4, 0.45 * h - 5, 1.0], [3 * w / 4, 0.45 * h - 5, 1.0]])
    shown = np.stack([points @ (np.linalg.inv(m) @ s).T for m, s in zip(warps, seen)])[..., :2]
    assert np.sqrt(np.mean(np.sum(np.diff(shown, 2, axis=0) ** 2, -1))) < 0.8


def test_pan_kept_in_smooth_removed_in_lock():
    clip = degrade(scene("pan", W, H, frames=16, seed=3), "jitter=2", seed=3)
    travel = np.linalg.norm(np.diff(camera_path(clip.frames)[[0, -1]], axis=0))
    smooth = camera_path(_array(stabilize(_tensor(clip.frames), mode="smooth")))
    locked = camera_path(_array(stabilize(_tensor(clip.frames), mode="lock", max_zoom=1.8)))
    kept = np.linalg.norm(smooth[-1] - smooth[0])
    assert travel > 40 and abs(kept - travel) < 0.1 * travel
    assert np.abs(locked - locked[0]).max() < 1.0


def test_scene_cut_resets_the_path():
    clip = degrade(scene("cut", W, H, frames=32, seed=4), "jitter=3", seed=4)
    out = _run(clip.frames, cuts=set(clip.cuts))
    frames = np.stack([_array(f.image[None])[0] for f in out])
    assert jitter(frames, clip.cuts) <= 0.1 * jitter(clip.frames, clip.cuts)
    for c in clip.cuts:  # a new shot starts from its own first frame: no correction carried over
        warp = out[c].aux["stabilize_warp"]
        assert np.allclose(warp[:2, :2], np.eye(2) / out[c].aux["stabilize_zoom"], atol=0.02)


@pytest.mark.parametrize("device_path", [False, True])
@pytest.mark.parametrize("user_box", [False, True])
def test_subject_face_held_still(user_box, device_path):
    """A magenta dot drawn on the face's centre before the shake stays put in the output, on
    the CPU path and on the device path (the subject's motion from the torch flow)."""
    clip = scene("subject", W, H, frames=48, seed=1)
    frames, box = clip.frames[:12].copy(), clip.subject_box[:12]
    for f, b in zip(frames, box):
        x, y = np.round((b[:2] + b[2:]) / 2).astype(int)
        f[y - 1:y + 2, x - 1:x + 2] = MARK
    shaken, shake = artifacts.jitter(frames, 3.0, 0.5, seed=2)
    options = {"mode": "subject", "max_zoom": 1.5}
    if user_box:
        corners = apply_homography(shake[0], box[0].reshape(2, 2))
        options["box"] = tuple(corners.ravel())
    notes = []
    with device_path_on_cpu() if device_path else contextlib.nullcontext():
        out = np.stack([_array(f.image[None])[0] for f in _run(shaken, notes=notes, **options)])
    before, after = _dot_centres(shaken), _dot_centres(out)
    assert np.abs(before - before[0]).max() > 30  # the face does travel in the input
    assert np.abs(after - after[0]).max() < 3.0  # measured 1.39 (found) and 1.28 (given box)
    assert notes == []  # the subject was found: nothing to say


@pytest.mark.parametrize("given", [False, True])
def test_the_face_of_a_phones_portrait_video_is_found_as_shown(tmp_path, given):
    """A portrait video stored on its side with a display rotation of 90° (as phones write
    it): the face was looked for in the stored picture, where the cascade finds no upright
    face, so mode=subject held the whole picture (the dot on the face travelled 37-40 px, as
    shaken, without a word) and realign=region=face said it found none. The face is looked for
    as a player shows the picture. A box given (box=) is read as shown too, as a user reads it
    off a player or off framemend.read's frames: it was read in the stored picture's pixels,
    and this one was refused as outside the 180x320 frames."""
    from framemend.pipeline import clean_file
    from framemend.video import read_video
    from media import make_rotated_video

    clip = scene("subject", W, H, frames=48, seed=1)
    frames, box = clip.frames[:12].copy(), clip.subject_box[:12]
    for f, b in zip(frames, box):
        x, y = np.round((b[:2] + b[2:]) / 2).astype(int)
        f[y - 1:y + 2, x - 1:x + 2] = MARK
    shaken = np.round(np.clip(artifacts.jitter(frames, 3.0, 0.5, seed=2)[0], 0, 1) * 255)
    src = str(tmp_path / "portrait.mp4")
    make_rotated_video(src, np.ascontiguousarray(np.rot90(shaken.astype(np.uint8), -1,
                                                          axes=(1, 2))), 90)
    shake = artifacts.jitter(frames, 3.0, 0.5, seed=2)[1][0]
    box = (":box=" + "+".join(f"{v:.1f}" for v in
                              apply_homography(shake, box[0].reshape(2, 2)).ravel())) * given
    warnings = []
    clean_file(src, str(tmp_path / "o.mkv"), f"stabilize=mode=subject:max_zoom=1.5{box},"
               f"realign=region=face{box}", warn=warnings.append)
    shown = np.rot90(read_video(str(tmp_path / "o.mkv"))[0], 1, axes=(1, 2)) / np.float32(255)
    before, after = _dot_centres(shaken / 255), _dot_centres(shown)
    assert np.abs(before - before[0]).max() > 30
    assert np.abs(after - after[0]).max() < 3.0  # measured 0.8 (upright: 1.3)
    assert warnings == []
    if given:  # outside the picture as shown, inside the stored one: refused as shown
        from framemend.video import VideoError

        with pytest.raises(VideoError, match=r"is 180x320 \(320x180 as shown\): stabilize's "
                                             r"box=0\+200\+10\+210 lies outside the frame"):
            clean_file(src, str(tmp_path / "o2.mkv"), "stabilize=mode=subject:box=0+200+10+210")


@pytest.mark.parametrize("box, device_path", [(None, False), (None, True),
                                               ((30, 20, 90, 60), False)])
def test_a_subject_never_told_from_the_camera_is_said(box, device_path):
    """A shaken texture with no face: mode=subject holds the whole picture (or the box), whose
    features all follow the camera and are dropped as the camera's, so no step finds the
    subject and nothing is corrected; that was not said (sweep 12's lead). In a clip of two
    shots, only the one it failed in is counted. (The device path's flow, given the box, finds
    a motion of its own in it: frames changed by 0.04-0.06, and no note.) A still clip has
    nothing to correct: nothing is said."""
    rng = np.random.default_rng(1)
    texture = cv2.GaussianBlur((rng.random((140, 180, 3)) * 255).astype(np.uint8), (0, 0), 1.5)
    shaken = np.stack([texture[20 + dy:100 + dy, 20 + dx:140 + dx]
                       for dx, dy in rng.integers(-4, 5, (12, 2))]).astype(np.float32) / 255
    notes = []
    with device_path_on_cpu() if device_path else contextlib.nullcontext():
        out = np.stack([_array(f.image[None])[0] for f in _run(
            shaken, notes=notes, mode="subject", box=box)])
    assert np.abs(out - shaken).max() < 1e-6  # nothing corrected
    held = "the box" if box else "the picture (no face found, no box given)"
    assert notes == [f"mode=subject found nothing in {held} that moves apart from the camera: "
                     "nothing was corrected (mode=lock holds the whole picture still; box= "
                     "names the subject)"]
    # the same texture held still (with noise): nothing to correct, nothing said, as in modes
    # lock and smooth (the note was given: sweep 13's lead)
    still = np.clip(shaken[:1] + rng.normal(0, 0.01, (6, *shaken.shape[1:])), 0, 1)
    notes = []
    with device_path_on_cpu() if device_path else contextlib.nullcontext():
        _run(still.astype(np.float32), notes=notes, mode="subject", box=box)
    assert notes == []
    face = scene("subject", W, H, frames=48, seed=1).frames[:12]
    both = np.concatenate([artifacts.jitter(face, 3.0, 0.5, seed=2)[0],
                           cv2.resize(np.moveaxis(shaken, 0, -1).reshape(80, 120, -1), (W, H))
                           .reshape(H, W, 3, -1).transpose(3, 0, 1, 2)])
    notes = []
    with device_path_on_cpu() if device_path else contextlib.nullcontext():
        _run(both, cuts={12}, notes=notes, mode="subject")
    assert len(notes) == 1 and "in the picture (no face found, no box given) that moves apart " \
        "from the camera in 1 of 2 shots: that shot was not corrected" in notes[0], notes


def _dot_centres(frames: np.ndarray) -> np.ndarray:
    """``(T, 2)`` x, y centroid of the magenta dot in each frame."""
    out = []
    for f in frames:
        ys, xs = np.nonzero((np.abs(f - MARK) < 0.35).all(-1))
        assert len(xs), "the dot is lost"
        out.append((xs.mean(), ys.mean()))
    return np.array(out)


def test_torch_warp_matches_opencv():
    rng = np.random.default_rng(0)
    images = torch.from_numpy(rng.random((2, 3, 40, 60), dtype=np.float32))
    m = np.stack([np.array([[0.95, -0.05, 3.2], [0.05, 0.95, -1.7], [0, 0, 1]])] * 2)
    ref, fast = warp_affine_torch(images, m), warp_affine(images, m)
    assert (ref - fast)[..., 4:-4, 4:-4].abs().max() < 1e-2


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_decoded_frames_stay_raw_with_the_float_path_output(shaken_handheld, dtype):
    """Decoded 8/16-bit frames (what the engine hands over on the CPU) are analysed and warped
    as they are, held raw in the window, and come out as the float path's frames rounded: the
    same warps, pixels within one level (OpenCV's fixed-point interpolation)."""
    top = float(np.iinfo(dtype).max)
    raw = np.round(shaken_handheld.frames * top).astype(dtype)
    floats = _run(raw.astype(np.float32) / np.float32(top))
    flt = Stabilize(make_options("stabilize", Stabilize.Options, {}))
    assert flt.reads_raw
    out, held_raw = [], True
    for t in range(len(raw)):
        out += flt.push(Frame(raw=raw[t], raw_scale=top, time=t / 24.0))
        held_raw &= all(f.raw is not None for f in flt._pending)
    out += flt.flush()
    assert held_raw and all(f.raw is not None for f in out)
    for a, b in zip(floats, out):
        np.testing.assert_allclose(b.aux["stabilize_warp"], a.aux["stabilize_warp"], atol=1e-9)
        assert b.aux["stabilize_zoom"] == a.aux["stabilize_zoom"]
        assert b.raw.dtype == dtype
        rounded = np.round(_array(a.image[None])[0] * top).astype(np.int64)
        assert np.abs(b.raw.astype(np.int64) - rounded).max() <= 1


def test_memory_bounded_by_the_window():
    flt = Stabilize(make_options("stabilize", Stabilize.Options, {"radius": 3}))
    frames = _tensor(scene("pan", 64, 48, frames=40, seed=5).frames)
    held = []
    for t in range(len(frames)):
        flt.push(Frame(frames[t], t / 24.0))
        held.append(len(flt._pending))
    assert max(held) <= 2 * 3 + 1


def test_device_path_twins_the_path_functions():
    """:mod:`framemend.stabilize.device`'s path, zoom and crop on tensors against
    :mod:`framemend.stabilize.path` on arrays: random similarities, corrections that fit and
    that do not."""
    from framemend.stabilize import device, path

    rng = np.random.default_rng(2)
    centre = path.frame_centre(W, H)
    required = []
    for trial in range(20):
        cameras, reach = [], 200 if trial % 4 == 0 else 8  # some centres land outside
        for _ in range(7):
            a, s = rng.normal(0, 0.03), 1 + rng.normal(0, 0.02)
            cameras.append(np.array([[s * np.cos(a), -s * np.sin(a), rng.normal(0, reach)],
                                     [s * np.sin(a), s * np.cos(a), rng.normal(0, reach)],
                                     [0, 0, 1]]))
        tensors = [torch.from_numpy(c) for c in cameras]
        w = path.smooth_correction(cameras, 3, 2.0)
        assert np.allclose(device.smooth_correction(tensors, 3, 2.0).numpy(), w, atol=1e-9)
        for correction in (w, np.linalg.inv(cameras[3])):  # smooth, lock
            need = path.required_zoom(correction, W, H, centre)
            required.append(need)
            got = float(device.required_zoom(torch.from_numpy(correction), W, H, centre))
            assert got == need or got == pytest.approx(need, rel=1e-9)
        zoom = rng.uniform(1.0, 1.08)
        fitted = path.fit_inside(w, zoom, W, H, centre, toward=cameras[0])
        ours = device.fit_inside(torch.from_numpy(w), torch.tensor(zoom, dtype=torch.float64),
                                 W, H, centre, torch.from_numpy(cameras[0]))
        assert np.allclose(ours.numpy(), fitted, atol=1e-7)
        needs = [rng.uniform(1.0, 1.2) for _ in range(4)]
        assert float(device.next_zoom(torch.tensor(1.01, dtype=torch.float64),
                                      [torch.tensor(n) for n in needs], 1.08, 0.008)) == \
            pytest.approx(path.next_zoom(1.01, needs, 1.08, 0.008))
        assert np.allclose(device.zoom_about(torch.tensor(zoom, dtype=torch.float64),
                                             centre).numpy(), path.zoom_about(zoom, centre))
    assert np.isinf(required).sum() >= 2 and (np.array(required) < 1.08).sum() >= 3


@pytest.mark.parametrize("angle, shift", [(0.0, (6.0, -3.0)), (1.5, (-4.0, 2.5))])
def test_device_motion_finds_the_camera_as_tracked_features_do(angle, shift):
    """The torch flow's robust similarity (:func:`framemend.stabilize.device.camera_motion`)
    against the tracked features' RANSAC fit (:func:`framemend.stabilize.motion.
    similarity_motion`) on a photograph turned by ``angle`` degrees and moved by ``shift``
    px, while a block of a sixth of the frame moves 12 px its own way: both within 0.3 px of
    the camera's motion at the frame's corners (measured: 0.11-0.21 px for the flow's fit,
    0.015-0.09 px for the features')."""
    from framemend.stabilize import device, motion

    clip = scene("pan", W, H, frames=2, seed=3).frames[0]
    truth = cv2.getRotationMatrix2D((W / 2, H / 2), angle, 1.0)
    truth[:, 2] += shift
    moved = cv2.warpAffine(clip, truth, (W, H), borderMode=cv2.BORDER_REFLECT)
    moved[60:120, 100:190] = clip[48:108, 112:202]  # a subject of its own motion
    truth = np.vstack([truth, [0, 0, 1]])
    images = [torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1))) for x in (clip, moved)]
    cpu = motion.similarity_motion(*(motion.analysis_luma(x)[0] for x in images))
    (previous, scale), (current, _) = (device.analysis_luma(x) for x in images)
    ours = device.camera_motion(previous, current, scale).numpy()
    corners = np.array([[0, 0, 1], [W - 1, 0, 1], [0, H - 1, 1], [W - 1, H - 1, 1]], float).T
    for m in (cpu, ours):
        assert np.abs((m @ corners - truth @ corners)[:2]).max() < 0.3, m


def test_required_zoom_with_a_corner_at_the_centre_warns_nothing():
    """A zoom centre on a frame corner (a subject box reaching the frame's edge) divided 0 by 0
    where the branch is not taken: numpy printed 'invalid value encountered in divide' into
    `framemend clean`'s output."""
    from framemend.stabilize.path import required_zoom

    with np.errstate(all="raise"):
        assert required_zoom(np.eye(3), 10, 10, np.array([9.0, 9.0])) == 1.0
