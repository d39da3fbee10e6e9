"""What runs in a worker process (a local worker or a Dask worker): one file per call.

:func:`clean_job` never raises for a bad file: it returns a result dict, ``{"ok": True,
"frames_in", "frames_out", "seconds", "cpu_seconds"}`` (plus ``"scores"`` with ``score``) or
``{"ok": False, "reason", "retry"}``, ``retry`` false when the input is at fault (damaged,
truncated, not a video, unsupported) or the settings cannot work for it (an output extension
no writer knows, mirrored from the input's), true for anything else (the run may succeed
again: a crash, an output folder that could not be written).
"""
from __future__ import annotations

import os
import sys
import time


def configure_threads(threads: int) -> None:
    """Size this process's compute threads to its share of the cores: torch's intra-op pool,
    OpenCV's, and numba's (``NUMBA_NUM_THREADS``, read when numba is first imported; later,
    ``numba.set_num_threads`` lowers it for the calling thread). The engine's own stage threads
    (decode, filter, encode) and the x264 encoder's are left as they are: the writer does not
    expose the encoder's thread count."""
    os.environ["NUMBA_NUM_THREADS"] = str(threads)
    os.environ["OMP_NUM_THREADS"] = str(threads)  # torch's, if it is imported later
    import cv2

    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)
    cv2.setNumThreads(threads)
    import numba

    if threads <= numba.config.NUMBA_NUM_THREADS:
        numba.set_num_threads(threads)


def preload(chain: str) -> None:
    """Import the pipeline and every filter of ``chain`` now, once per worker, not per file."""
    from ..chain.parser import build_chain
    from ..pipeline import clean_file  # noqa: F401 - imported for its cost

    build_chain(chain)


def _scores(path: str) -> dict:
    """The clip figures of ``framemend score``, less those the clip is too short for (NaN:
    jitter and motion smoothness of a two-frame clip), so the JSON report stays JSON."""
    import math

    from ..cli_score import score
    from ..video import read_video

    return {k: v for k, v in score(read_video(path)[0])[0].items() if not math.isnan(v)}


def clean_job(job, settings: dict, device: str | None = None, progress=None) -> dict:
    """Clean ``job.src`` into ``job.dst`` with ``settings`` (``chain``, ``codec``, ``crf``,
    ``lossless``, ``score``), replacing an earlier output of the batch. ``progress(frames)``
    is called with the count of frames decoded so far."""
    from ..chain.options import OptionError
    from ..pipeline import clean_file
    from ..video import SettingsError, VideoError

    t0, c0 = time.perf_counter(), time.process_time()
    count = [0]
    said: list[str] = []  # the run's warnings, for the batch to pass on

    def tick():
        count[0] += 1
        progress(count[0])

    try:
        os.makedirs(os.path.dirname(job.dst) or ".", exist_ok=True)
        result = clean_file(job.src, job.dst, settings["chain"], device=device or settings.get("device"),
                            codec=settings.get("codec"), crf=settings.get("crf"),
                            lossless=settings.get("lossless", False), overwrite=True,
                            on_input=tick if progress else None, warn=said.append)
    except (VideoError, OptionError) as e:  # the input's fault, unless the output could not be
        # written or the worker's device is missing (not the input's either: a Dask worker
        # without a GPU); settings that cannot work (`notes.txt` -> `notes.txt`) fail each run
        retry = (str(e).startswith(("cannot write", "--device"))
                 and not isinstance(e, SettingsError))
        return {"ok": False, "reason": str(e), "retry": retry}
    except MemoryError:
        return {"ok": False, "reason": "out of memory", "retry": True}
    except Exception as e:  # noqa: BLE001 - a bug or a library failure fails this file only
        return {"ok": False, "reason": f"{type(e).__name__}: {e}", "retry": True}
    out = {"ok": result.warning is None, "frames_in": result.stats.frames_in,
           "frames_out": result.stats.frames_out, "seconds": time.perf_counter() - t0,
           "cpu_seconds": time.process_time() - c0, "warnings": said}
    if result.warning:
        n = result.stats.frames_out
        out.update(reason=f"{result.warning}; wrote the {n} frame{'s' * (n != 1)} before it",
                   retry=False)
    elif settings.get("score") and min(result.stats.frames_in, result.stats.frames_out) < 2:
        said.append("not scored: scoring needs two frames or more")
    elif settings.get("score"):
        out["scores"] = {"input": _scores(job.src), "output": _scores(job.dst)}
    return out
