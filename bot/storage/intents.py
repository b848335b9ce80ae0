"""Staff actions that change several files at once, made all-or-nothing by an intent record.

Moving a post, merging themes or re-categorising changes several files (two themes, a
journal, a posts file, the audit trail, a labels file). Before any of them is touched, the
whole of what will be written is put in one file, `intents/NNNNNNNN.json`; then every file
is replaced; then the intent is deleted. Every write replaces a whole file with content
fixed in the intent, so doing it twice is the same as once: a crash anywhere leaves either
nothing done (no intent on disk) or an intent that the next start carries out in full,
before anything else is read.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.storage.atomic import (
    StorageError,
    encode,
    fsync_directory,
    read_data_file,
    write_atomically,
    write_many_atomically,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FileWrite:
    """The whole new content of one file (a data file's tables, or plain text), or its
    deletion."""

    path: Path
    data: Mapping[str, Any] | None = None
    text: str | None = None
    delete: bool = False

    def content(self) -> str:
        """What the file will hold."""
        if self.data is not None:
            return encode(dict(self.data))
        if self.text is None:
            raise ValueError(f"nothing to write to {self.path}")
        return self.text


class Intents:
    """The intent records of one data directory (`intents/`)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.directory = data_dir / "intents"

    def _next_path(self) -> Path:
        numbers = [int(p.stem) for p in self.directory.glob("*.json") if p.stem.isdigit()]
        return self.directory / f"{max(numbers, default=0) + 1:08d}.json"

    def apply(self, action: str, writes: Sequence[FileWrite]) -> None:
        """Record the intent, write every file, then drop the intent (see the module doc)."""
        record = {
            "intent": {
                "action": action,
                "writes": [
                    {
                        "path": str(w.path.relative_to(self.data_dir)),
                        "data": w.data,
                        "text": w.text,
                        "delete": w.delete,
                    }
                    for w in writes
                ],
            }
        }
        path = self._next_path()
        write_atomically(path, encode(record))
        self._perform(writes)
        path.unlink()
        fsync_directory(self.directory)

    def _perform(self, writes: Sequence[FileWrite]) -> None:
        write_many_atomically([(w.path, w.content()) for w in writes if not w.delete])
        deleted = [w.path for w in writes if w.delete]
        for path in deleted:
            path.unlink(missing_ok=True)
        for directory in {path.parent for path in deleted}:
            fsync_directory(directory)

    def redo_pending(self) -> list[str]:
        """Carry out every intent a crash left, oldest first; the actions redone."""
        redone = []
        for path in sorted(self.directory.glob("*.json")):
            data = read_data_file(path)
            if data is None:
                continue
            try:
                intent = data["intent"]
                writes = [
                    FileWrite(
                        self.data_dir / w["path"],
                        data=w.get("data"),
                        text=w.get("text"),
                        delete=bool(w.get("delete")),
                    )
                    for w in intent["writes"]
                ]
            except (KeyError, TypeError) as exc:
                raise StorageError(f"{path}: not an intent record ({exc})") from None
            self._perform(writes)
            path.unlink()
            redone.append(str(intent.get("action")))
        if redone:
            fsync_directory(self.directory)
            logger.warning("finished %d staff action(s) a crash had cut short", len(redone))
        return redone
