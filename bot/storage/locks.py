"""The data directory's locks: one process owns it, and writes pause for a backup.

- `.lock`: held by the commsbot process that has the directory open (`serve`, `import`…)
  for as long as it runs; a second one is refused.
- `.write.lock`: held by that process around every read and write of the store (with the
  in-process lock that serialises its threads), and by `commsbot backup` for the moment it
  takes its snapshot. Every data file is replaced by a rename, never changed in place, so a
  snapshot of hard links taken while writes wait is the data as it was at one instant.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

PROCESS_LOCK = ".lock"
WRITE_LOCK = ".write.lock"


class LockTimeout(Exception):
    """A lock another process holds was not released in time."""


class WriterLock:
    """A re-entrant lock for the threads of this process that also holds `.write.lock`.

    The file lock is taken when a thread first enters and released when it last leaves, so
    another process (a backup) that holds the file lock makes this process's writes wait.
    Until `open_file` is called (the data directory may not exist yet) it is a thread lock.
    """

    def __init__(self) -> None:
        self._threads = threading.RLock()
        self._depth = 0
        self._fd: int | None = None

    def open_file(self, path: Path) -> None:
        """Take part in the file lock at `path` from now on."""
        with self._threads:
            if self._fd is None:
                self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)

    def close_file(self) -> None:
        """Stop using the file lock (the store is closing)."""
        with self._threads:
            if self._fd is not None:
                if self._depth:
                    fcntl.flock(self._fd, fcntl.LOCK_UN)
                os.close(self._fd)
                self._fd = None

    def acquire(self) -> None:
        self._threads.acquire()
        try:
            if self._depth == 0 and self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._threads.release()
            raise
        self._depth += 1

    def release(self) -> None:
        self._depth -= 1
        try:
            if self._depth == 0 and self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def __enter__(self) -> WriterLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()


@contextmanager
def writes_paused(data_dir: Path, *, timeout: float) -> Iterator[None]:
    """Hold `.write.lock` of `data_dir`: a running commsbot's reads and writes wait meanwhile.

    Raises LockTimeout when the lock is not free within `timeout` seconds (a write of
    thousands of posts takes about a second).
    """
    fd = os.open(Path(data_dir) / WRITE_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockTimeout(
                        f"{data_dir}: commsbot kept writing for {timeout:g} s without a pause"
                    ) from None
                time.sleep(0.005)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def held_by_a_process(data_dir: Path) -> bool:
    """Whether a commsbot process has `data_dir` open (it holds `.lock`)."""
    path = Path(data_dir) / PROCESS_LOCK
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)
