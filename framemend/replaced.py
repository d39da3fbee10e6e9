"""A file replaced whole or not at all: written under a temporary name beside it, renamed onto
it when the writing ends (for the pictures, archives and reports framemend writes besides
videos; :mod:`.video.writer` does the same for videos, :func:`.batch.manifest.atomic_write`
with fsync for the batch's record)."""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator


@contextlib.contextmanager
def written_beside(path: str) -> Iterator[str]:
    """A temporary name beside ``path`` (hidden, this process's) to write to: renamed onto
    ``path`` when the block ends, removed where it raises, so that an interrupted run leaves
    the old file or none under the name, never half of one."""
    folder, name = os.path.split(os.path.abspath(path))
    tmp = os.path.join(folder, f".{name}.{os.getpid()}.part")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
