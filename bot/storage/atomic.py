"""A TinyDB storage that writes atomically and keeps the last state in memory."""

from __future__ import annotations

import json
import os
import tempfile
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

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._path = Path(path)
        self._data: dict[str, dict[str, Any]] | None = None

    def read(self) -> dict[str, dict[str, Any]] | None:
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
        try:
            write_atomically(
                self._path, json.dumps(data, ensure_ascii=False, separators=(",", ":"))
            )
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
