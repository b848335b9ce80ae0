"""A TinyDB storage that writes atomically and keeps the last state in memory."""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tinydb.storages import Storage


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` so a crash leaves either the old or the new file, never half."""
    make_dirs_durably(path.parent)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


# fsync is slow one at a time (a few ms each here) but cheap concurrently: the file system
# commits many at once. Writing a batch's files in parallel makes a 1,000-post batch cheap.
_SYNC_THREADS = 64
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _sync_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(_SYNC_THREADS, thread_name_prefix="commsbot-fsync")
        return _pool


def _write_temp(path: Path, text: str) -> str:
    """Write `text` to a new temporary file beside `path`, on disk; returns its name."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return tmp_name


def write_many_atomically(files: Sequence[tuple[Path, str]]) -> None:
    """Replace several files at once; after a crash each is wholly old or wholly new.

    Every new file is on disk before any is renamed into place, and every rename is on disk
    when this returns. Which of the renames a crash in the middle kept is not defined, so
    callers write, in separate calls, what must reach the disk first.
    """
    if len(files) <= 1:
        for path, text in files:
            write_atomically(path, text)
        return
    directories = {path.parent for path, _ in files}
    for directory in directories:
        make_dirs_durably(directory)
    pool = _sync_pool()
    futures: list[Future[str]] = [pool.submit(_write_temp, path, text) for path, text in files]
    temps = [future.exception() is None and future.result() for future in futures]
    failed = next((future.exception() for future in futures if future.exception()), None)
    try:
        if failed is not None:
            raise failed
        renames = [
            pool.submit(os.replace, str(tmp_name), path)
            for (path, _), tmp_name in zip(files, temps, strict=True)
        ]
        failed = next((future.exception() for future in renames if future.exception()), None)
        if failed is not None:
            raise failed
    except BaseException:
        for tmp_name in temps:
            if tmp_name:
                Path(tmp_name).unlink(missing_ok=True)
        raise
    list(pool.map(_fsync_dir, directories))


def encode(data: Any) -> str:
    """The text a data file holds for `data`."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


class WriteBatch:
    """Collects the writes of the storages that share it, to put them on disk together.

    Outside `together()`, writes go straight to disk. Inside, each file's last state is kept
    and all are written by one `write_many_atomically` at the end; if that fails, every
    storage in the batch forgets its in-memory copy, so nothing unwritten is believed.
    """

    def __init__(self) -> None:
        self._pending: dict[Path, tuple[AtomicJSONStorage, Any]] | None = None

    def defer(self, storage: AtomicJSONStorage, data: Any) -> bool:
        """Keep a write for the end of the batch (encoded then, once); False outside a batch."""
        if self._pending is None:
            return False
        self._pending[storage.path] = (storage, data)
        return True

    def pending(self, path: Path) -> Any | None:
        """What the batch will write to `path`, if anything: a file closed and opened again
        within a batch must see its own unwritten changes."""
        if self._pending is None or path not in self._pending:
            return None
        return self._pending[path][1]

    @contextmanager
    def together(self) -> Iterator[None]:
        """Write everything written inside the block in one go at its end."""
        if self._pending is not None:
            raise RuntimeError("write batches do not nest")
        self._pending = {}
        try:
            yield
            pending = self._pending
            write_many_atomically([(path, encode(data)) for path, (_, data) in pending.items()])
        except BaseException:
            for storage, _ in self._pending.values():
                storage.forget()
            raise
        finally:
            self._pending = None


def make_dirs_durably(directory: Path) -> None:
    """Create `directory` and any missing parents, each recorded in its parent on disk.

    Without syncing the parent, a power cut could forget a new directory, and with it the
    first file written there.
    """
    if directory.is_dir():
        return
    make_dirs_durably(directory.parent)
    try:
        directory.mkdir()
    except FileExistsError:
        return
    _fsync_dir(directory.parent)


def _fsync_dir(directory: Path) -> None:
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory handles
        return
    try:
        os.fsync(dir_fd)
    except OSError:  # pragma: no cover - some filesystems refuse fsync on directories
        pass
    finally:
        os.close(dir_fd)


class AtomicJSONStorage(Storage):
    """JSON file storage for TinyDB: atomic replace on write, parsed once per process.

    Only one process may use a data directory (the Store enforces it with a lock file), so the
    in-memory copy is authoritative after the first read. A failed write forgets the copy so the
    next read comes from disk again.
    """

    def __init__(self, path: str | os.PathLike[str], batch: WriteBatch | None = None) -> None:
        self._path = Path(path)
        self._data: dict[str, dict[str, Any]] | None = None
        self._batch = batch

    @property
    def path(self) -> Path:
        """The file this storage reads and writes."""
        return self._path

    def forget(self) -> None:
        """Drop the in-memory copy; the next read comes from disk."""
        self._data = None

    def read(self) -> dict[str, dict[str, Any]] | None:
        if self._data is None and self._batch is not None:
            self._data = self._batch.pending(self._path)
        if self._data is None:
            try:
                raw = self._path.read_text(encoding="utf-8")
            except FileNotFoundError:
                return None
            if not raw.strip():
                return None
            try:
                self._data = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise CorruptFileError(self._path, exc) from exc
        return self._data

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        if self._batch is not None and self._batch.defer(self, data):
            self._data = data
            return
        try:
            write_atomically(self._path, encode(data))
        except BaseException:
            self._data = None
            raise
        self._data = data

    def close(self) -> None:
        self._data = None


class CorruptFileError(Exception):
    """A data file is not valid JSON (it was edited by hand or written by something else)."""

    def __init__(self, path: Path, cause: json.JSONDecodeError) -> None:
        super().__init__(f"{path}: not valid JSON ({cause.msg} at line {cause.lineno})")
        self.path = path
