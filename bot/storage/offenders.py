"""Moderation breaches per author and account: the policies' persistent offenders.

Kept apart from posts and the outbox in `<data_dir>/offenders/XX.json`, 256 small files by a
hash of (account, author), so recording a breach reads and rewrites one small file. Each
breach is recorded under its post's key, so recording the same post twice (a repeat, or a
retry after a crash) counts it once. Every write replaces its file atomically: a crash
leaves the count before or after the breach, never a broken file.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.storage.atomic import encode, read_data_file, write_atomically

_TABLE = "offenders"


class Offenders:
    """Counts of posts sent to moderation, by author on each account."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    @staticmethod
    def _key(account: str, author: str) -> str:
        return f"{account}\n{author.lower()}"

    def _path(self, key: str) -> Path:
        return self.directory / f"{hashlib.sha1(key.encode('utf-8')).hexdigest()[:2]}.json"

    def _read(self, path: Path) -> dict[str, Any]:
        """The file's entries; damage is reported (CorruptFileError), never read as empty."""
        data = read_data_file(path)
        return {} if data is None else dict(data.get(_TABLE, {}))

    def record(self, *, account: str, author: str, post_key: str, now: datetime) -> int:
        """Record that `post_key` by `author` on `account` went to moderation; the new count."""
        key = self._key(account, author)
        path = self._path(key)
        data = self._read(path)
        entry = data.setdefault(key, {"account": account, "author": author, "posts": []})
        if post_key not in entry["posts"]:
            entry["posts"].append(post_key)
            entry["last_at"] = now.astimezone(UTC).isoformat()
            write_atomically(path, encode({_TABLE: data}))
        return len(entry["posts"])

    def count(self, *, account: str, author: str) -> int:
        """How many of `author`'s posts on `account` have gone to moderation."""
        key = self._key(account, author)
        entry = self._read(self._path(key)).get(key)
        return 0 if entry is None else len(entry["posts"])
