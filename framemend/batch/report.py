"""What a batch did: one :class:`FileResult` per input, the :class:`BatchSummary` of them all,
and the report file (JSON, or CSV with one row per file)."""
from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass, field

STATUSES = ("done before", "redone", "new", "failed")  # always in the summary line
#: every status a file can end with, each counted in the report
ALL_STATUSES = STATUSES + ("skipped", "left")


@dataclass
class FileResult:
    """``status``: ``done before`` (up to date, skipped; its frames, times, worker, scores and
    warnings are those the run that made its output recorded), ``redone`` (done before, then its
    input, chain, options, version or output changed: ``note`` says which), ``new``, or
    ``failed`` (``note`` is the reason), ``skipped`` (an animation whose output's name is taken:
    ``note`` says by what), or ``left`` (the batch was interrupted first). In a dry run
    ``redone``/``new`` are what would run."""

    input: str
    output: str
    status: str
    note: str = ""
    frames: int | None = None        # input frames (decoded; the header's estimate before)
    frames_out: int | None = None
    seconds: float | None = None     # wall time in the worker
    cpu_seconds: float | None = None
    worker: str = ""
    scores: dict = field(default_factory=dict)  # {"input": {metric: value}, "output": {...}}
    warnings: list = field(default_factory=list)  # what the run said of it (audio re-encoded...)


@dataclass
class BatchSummary:
    """The result of :func:`framemend.clean_folder`; ``str()`` gives the summary line."""

    files: list[FileResult]
    dry_run: bool = False
    interrupted: bool = False
    seconds: float = 0.0
    where: str = ""                  # the executor: local workers or the Dask scheduler
    # what the batch says once, not of one file (a --glob that took only still images)
    notes: list[str] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(f.status == status for f in self.files)

    @property
    def failed(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "failed"]

    @property
    def exit_code(self) -> int:
        """0 when every file is done, 1 when any failed, 130 when the batch was interrupted."""
        return 130 if self.interrupted else 1 if self.failed else 0

    def __str__(self) -> str:
        n = len(self.files)
        if self.dry_run:
            return (f"{n} file{'s' * (n != 1)}: would run {self.count('new')} new and "
                    f"{self.count('redone')} "
                    f"to redo; {self.count('done before')} done before, "
                    f"{self.count('failed')} failed before or cannot run"
                    + (f", {self.count('skipped')} skipped" if self.count("skipped") else ""))
        parts = [f"{self.count(s)} {s}" for s in STATUSES]
        if self.count("skipped"):
            parts.append(f"{self.count('skipped')} skipped")
        line = f"{n} file{'s' * (n != 1)}: " + ", ".join(parts) + f" in {self.seconds:.1f} s"
        if self.interrupted:
            line += f"; interrupted with {self.count('left')} left: run again to finish them"
        return line

    def to_dict(self) -> dict:
        return {"summary": str(self), "exit_code": self.exit_code, "where": self.where,
                "counts": {s: self.count(s) for s in ALL_STATUSES},
                "files": [asdict(f) for f in self.files]}


COLUMNS = ("input", "output", "status", "note", "frames", "frames_out", "seconds",
           "cpu_seconds", "worker", "warnings")


def write_report(path: str, summary: BatchSummary) -> None:
    """Write ``summary`` to ``path``: CSV when it ends in ``.csv`` (one row per file, what its
    run warned of in ``warnings``, one warning a line of the quoted field, scores as
    ``input_<metric>`` and ``output_<metric>`` columns), JSON otherwise; atomically."""
    from .manifest import atomic_write

    if not path.lower().endswith(".csv"):
        atomic_write(path, json.dumps(summary.to_dict(), indent=1))
        return
    metrics = sorted({f"{side}_{k}" for f in summary.files for side, s in f.scores.items() for k in s})
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(COLUMNS + tuple(metrics))
    for f in summary.files:
        flat = {f"{side}_{k}": v for side, s in f.scores.items() for k, v in s.items()}
        row = {c: getattr(f, c) for c in COLUMNS} | {"warnings": "\n".join(f.warnings)}
        w.writerow([row[c] for c in COLUMNS] + [flat.get(m, "") for m in metrics])
    atomic_write(path, out.getvalue())
