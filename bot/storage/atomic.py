"""A TinyDB storage that writes atomically and keeps the last state in memory."""

from __future__ import annotations

import hashlib
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
    tmp_name = _write_temp(path, text)
    try:
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


# Every data file is one JSON object: a format mark, the SHA-256 of the body, then the body.
# A file truncated, emptied, replaced by other JSON or edited by hand fails the check and is
# never mistaken for an empty one. The body's text is hashed as written, so checking a file
# needs no parsing.
_HEAD = '{"commsbot":1,"sha256":"'
_BODY = '","data":'
_HASH_HEX = 64


def encode(data: Any) -> str:
    """The text a data file holds for `data`: the body with its format mark and checksum."""
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
    return f"{_HEAD}{digest}{_BODY}{body}}}"


def _body(path: Path, raw: str) -> str:
    """The checked body of a data file's text; CorruptFileError if anything is off."""
    if not raw.strip():
        raise CorruptFileError(path, "the file is empty")
    start = len(_HEAD) + _HASH_HEX + len(_BODY)
    if not raw.startswith(_HEAD) or raw[len(_HEAD) + _HASH_HEX : start] != _BODY:
        raise CorruptFileError(path, "not a commsbot data file (no format mark)")
    if not raw.endswith("}"):
        raise CorruptFileError(path, "the file is cut short")
    body = raw[start:-1]
    digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
    if digest != raw[len(_HEAD) : len(_HEAD) + _HASH_HEX]:
        raise CorruptFileError(path, "checksum mismatch (cut short or edited)")
    return body


def decode(path: Path, raw: str) -> dict[str, Any]:
    """The data a file's text holds; CorruptFileError if it is not what commsbot wrote."""
    try:
        data = json.loads(_body(path, raw))
    except (ValueError, RecursionError) as exc:
        raise CorruptFileError(path, f"body is not JSON ({exc})") from None
    if not isinstance(data, dict) or not all(isinstance(t, dict) for t in data.values()):
        raise CorruptFileError(path, "body is not a set of tables")
    return data


def read_data_file(path: Path) -> dict[str, Any] | None:
    """A data file's tables; None if it does not exist; CorruptFileError if it is damaged."""
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        raise CorruptFileError(path, "not UTF-8 text") from None
    return decode(path, raw)


def check_data_file(path: Path) -> None:
    """Raise CorruptFileError unless `path` holds exactly what commsbot last wrote there."""
    try:
        raw = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise CorruptFileError(path, "not UTF-8 text") from None
    _body(path, raw)


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


def fsync_directory(directory: Path) -> None:
    """Make the entries of `directory` (files created, renamed or deleted) durable."""
    _fsync_dir(directory)


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
            self._data = read_data_file(self._path)
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


class StorageError(Exception):
    """The data directory cannot be used as it is."""


class CorruptFileError(StorageError):
    """A data file is not what commsbot wrote: cut short, emptied, replaced or edited."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem
