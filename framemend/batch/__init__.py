"""Batch cleaning of folders: resumable, parallel, fault-tolerant, on this machine or on Dask.

    summary = framemend.clean_folder("clips/", "cleaned/", "deflicker,denoise", recursive=True)
    print(summary)            # 40 files: 12 done before, 3 redone, 22 new, 3 failed in 81.0 s

- ``jobs``: which files, where each goes, their fingerprints;
- ``manifest``: what is done, in ``OUT_DIR/.framemend-batch.json``, written atomically;
- ``worker``: one file in a worker process; ``local``: the local worker processes;
  ``cluster``: the Dask executor (the ``batch`` extra);
- ``report``: the summary and the report file; ``run``: :func:`clean_folder`, which plans and
  runs; ``cli``: the ``framemend clean FOLDER`` options.

Nothing here imports torch or Dask at import time: the command line's parser reads ``cli``.
"""
from .errors import BatchError, BatchUsageError
from .report import BatchSummary, FileResult
from .run import clean_folder

__all__ = ["clean_folder", "BatchSummary", "FileResult", "BatchError", "BatchUsageError"]
