"""The batch's memory in the output folder: what is done, with what, from which input.

``OUT_DIR/.framemend-batch.json`` maps each input's relative path to its last state:

- ``started``: sent to a worker (an output found under its name later is this batch's own);
- ``done``: cleaned; holds the input's fingerprint, the settings key (the canonical chain and
  the encoder options), the framemend version, the output's size and mtime, and what the
  report says of the run (frames, times, worker, scores, warnings: a re-run's report gives them
  for the files it did not redo);
- ``failed``: with the reason, and ``retry`` false when the input itself is at fault (it is
  not tried again while it stays unchanged) or true (crash, timeout: tried again).

Each record holds the input's absolute path (``source``): an output another input folder's
batch made into the same folder (``clean day1 -o out``, then ``clean day2 -o out``, both with
a ``clip_00001.mp4``) is not replaced without ``overwrite``; the same file moved (its
fingerprint unchanged) is still done.

``reports`` lists the report files (absolute paths) the batch wrote: a re-run replaces those,
and no other file without ``overwrite``.

A file is *done and up to date* when its record is ``done`` with the same fingerprint,
settings and version, and its output still has the recorded size and mtime. The file is
rewritten whole after every change, atomically: a temporary file beside it is written,
flushed and fsync'ed, renamed over the manifest, and the folder fsync'ed, so a kill at any
moment leaves either the old or the new manifest. ``OUT_DIR/.framemend-batch.lock`` is held
(``flock``) while a batch runs, so two batches never write one folder at once.
"""
from __future__ import annotations

import json
import os
import time
import uuid

from .. import __version__
from .errors import BatchError

NAME = ".framemend-batch.json"
LOCK = ".framemend-batch.lock"
FORMAT = 1


def lock_folder(out_dir: str):
    """Take the folder's lock for this process's lifetime (released by the kernel when the
    process ends, however it ends); returns the open lock file."""
    import fcntl

    f = open(os.path.join(out_dir, LOCK), "a")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.close()
        raise BatchError(f"another framemend batch is writing into '{out_dir}'") from None
    return f


def atomic_write(path: str, text: str) -> None:
    """Replace ``path`` with ``text`` so that a reader (or a crash) sees the old or the new
    content, never a mix: temp file, fsync, rename, fsync of the folder."""
    folder = os.path.dirname(os.path.abspath(path))
    tmp = f"{path}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    dfd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def _output_stat(path: str) -> dict | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


class Manifest:
    """The records of one output folder; :meth:`save` after every change."""

    def __init__(self, out_dir: str):
        self.path = os.path.join(out_dir, NAME)
        self.files: dict[str, dict] = {}
        self.reports: list[str] = []
        if os.path.exists(self.path):
            try:
                with open(self.path) as f:
                    data = json.load(f)
                if data.get("format") == FORMAT:
                    self.files = dict(data["files"])
                    self.reports = list(data.get("reports", []))
            except (ValueError, AttributeError, KeyError, TypeError) as e:  # not this format
                raise BatchError(f"cannot read the batch record '{self.path}' ({e}); remove it to "
                                 "start afresh (the outputs there are then replaced only with "
                                 "--overwrite)") from None

    def save(self) -> None:
        """Write the records; :class:`BatchError` when they cannot be (a full disk, a folder
        gone read-only): the batch stops rather than clean files it cannot remember (its
        busy workers remove their temporary outputs; a file recorded ``started`` is redone)."""
        try:
            atomic_write(self.path, json.dumps({"format": FORMAT, "files": self.files,
                                                "reports": self.reports}, indent=0))
        except OSError as e:
            raise BatchError(f"cannot write the batch record '{self.path}' "
                             f"({e.strerror or e}): the batch stopped; run it again once "
                             "it can be written") from None

    def state(self, job, settings: str) -> tuple[str, str]:
        """What to do with ``job``: ``("done", "")`` (up to date), ``("failed", reason)`` (failed
        before on this same input and settings, the input's fault), ``("redo", why)`` (done
        before, something changed), ``("new", "")`` (never finished), or ``("foreign", why)``
        (an output exists that no run of this batch wrote, or that a run made from another
        input file of the same relative path)."""
        rec = self.files.get(job.rel)
        same = rec is not None and rec.get("input") == job.fingerprint and \
            rec.get("settings") == settings and rec.get("version") == __version__
        if rec is None or rec["state"] == "started" or \
                (rec["state"] == "failed" and (rec.get("retry") or not same)):
            if rec is None and os.path.exists(job.dst):
                return "foreign", f"output '{job.dst}' exists and this batch did not write it " \
                                  "(use --overwrite to replace it)"
            return "new", ""
        if rec["state"] == "done" and rec.get("input") != job.fingerprint and \
                rec.get("source", job.src) != job.src and os.path.exists(job.dst):
            return "foreign", (f"output '{job.dst}' was made from '{rec['source']}', not from "
                               "this input (use --overwrite to replace it)")
        if rec["state"] == "failed":
            return "failed", rec["reason"]
        if not same:
            why = ("the input changed" if rec.get("input") != job.fingerprint else
                   "the chain or encoder options changed" if rec.get("settings") != settings
                   else f"framemend {rec.get('version')} made it, this is {__version__}")
            return "redo", why
        if _output_stat(job.dst) != rec.get("output"):
            return "redo", "its output was changed or removed"
        return "done", ""

    def started(self, job) -> None:
        self.files[job.rel] = {"state": "started", "input": job.fingerprint, "source": job.src,
                               "output_rel": job.out_rel}
        self.save()

    def finished(self, job, settings: str, result: dict, worker: str = "") -> None:
        self.files[job.rel] = {"state": "done", "input": job.fingerprint, "source": job.src,
                               "settings": settings,
                               "version": __version__, "output_rel": job.out_rel,
                               "output": _output_stat(job.dst), "frames_in": result.get("frames_in"),
                               "frames_out": result.get("frames_out"),
                               "seconds": result.get("seconds"),
                               "cpu_seconds": result.get("cpu_seconds"), "worker": worker,
                               "scores": result.get("scores", {}),
                               "warnings": result.get("warnings", []), "at": time.time()}
        self.save()

    def failed(self, job, settings: str, reason: str, retry: bool) -> None:
        self.files[job.rel] = {"state": "failed", "input": job.fingerprint, "source": job.src,
                               "settings": settings,
                               "version": __version__, "output_rel": job.out_rel,
                               "reason": reason, "retry": retry, "at": time.time()}
        self.save()

    def owns_report(self, path: str) -> bool:
        """Whether a run of this batch wrote the report ``path``."""
        return os.path.abspath(path) in self.reports

    def wrote_report(self, path: str) -> None:
        """Record ``path`` as this batch's report (before it is written)."""
        if not self.owns_report(path):
            self.reports.append(os.path.abspath(path))
            self.save()
