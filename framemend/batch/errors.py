"""The batch's two errors: bad usage (exit code 2) and a batch that cannot run (exit code 1)."""


class BatchUsageError(ValueError):
    """A wrong argument: folders, executor, scheduler; the message says which."""


class BatchError(RuntimeError):
    """The batch cannot run: the output folder is busy, workers die at start, the Dask
    cluster is unreachable or its workers cannot run framemend."""
