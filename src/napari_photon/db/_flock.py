"""An inter-process lock on a file (``fcntl.flock``), re-entrant within a process."""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from pathlib import Path
from typing import Any, Iterator

# In-process bookkeeping of held flocks: flock() locks belong to an open file description,
# so a nested acquisition through a second open() in the same process would deadlock.
_LOCKS: dict[str, list[Any]] = {}  # lock path -> [fd, depth]
_LOCKS_GUARD = threading.RLock()


@contextlib.contextmanager
def interprocess_lock(lock_file: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``lock_file`` (created with mode 0600 if missing).

    Other processes wait; a nested acquisition in this process only counts depth, and the
    lock is released when the outermost one exits.
    """
    key = str(lock_file)
    with _LOCKS_GUARD:
        entry = _LOCKS.get(key)
        if entry is None:
            fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            except BaseException:
                os.close(fd)
                raise
            entry = _LOCKS[key] = [fd, 0]
        entry[1] += 1
        try:
            yield
        finally:
            entry[1] -= 1
            if entry[1] == 0:
                del _LOCKS[key]
                fcntl.flock(entry[0], fcntl.LOCK_UN)
                os.close(entry[0])
