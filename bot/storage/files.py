"""The open TinyDB files of a data directory, shared by the aggregates that use TinyDB."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tinydb import TinyDB

from bot.storage.atomic import AtomicJSONStorage, StorageError, WriteBatch

# Files kept open (parsed) at once; the least recently used is closed first.
OPEN_FILES = 64


class Files:
    """Opens TinyDB files through one write batch and keeps the most recently used open."""

    def __init__(self, batch: WriteBatch) -> None:
        self.batch = batch
        self._dbs: OrderedDict[Path, TinyDB] = OrderedDict()
        self._closed = False

    def db(self, path: Path) -> TinyDB:
        """The open file at `path` (opened, and kept open, if it was not)."""
        db = self._dbs.get(path)
        if db is not None:
            self._dbs.move_to_end(path)
            return db
        if self._closed:
            raise StorageError("store is closed")
        db = TinyDB(path, storage=AtomicJSONStorage, batch=self.batch)
        self._dbs[path] = db
        while len(self._dbs) > OPEN_FILES:
            _, oldest = self._dbs.popitem(last=False)
            oldest.close()
        return db

    def documents(self, path: Path, table: str) -> list[Mapping[str, Any]]:
        """One table's documents; a file not already open is read without being kept open."""
        if self._closed:
            raise StorageError("store is closed")
        db = self._dbs.get(path)
        if db is not None:
            return list(db.table(table))
        data = AtomicJSONStorage(path, self.batch).read()
        return [] if data is None else list(data.get(table, {}).values())

    def drop(self, path: Path) -> None:
        """Close `path` if it is open (before deleting the file)."""
        db = self._dbs.pop(path, None)
        if db is not None:
            db.close()

    def forget(self) -> None:
        """Close every file; the next use reads them from disk again."""
        for db in self._dbs.values():
            db.close()
        self._dbs.clear()

    def close(self) -> None:
        """Close every file for good."""
        self.forget()
        self._closed = True

    @property
    def closed(self) -> bool:
        """Whether `close` was called."""
        return self._closed
