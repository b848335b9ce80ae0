"""Labelled examples: the desk's re-categorisations, kept for `commsbot train`.

`<data_dir>/labels/YYYY-MM-DD.jsonl` (UTC day of the correction), one JSON object per line:
`{"text", "account", "network", "kind", "old_category", "new_category", "at", "by",
"check"}`. `check` is the start of the SHA-256 of the line's other fields, so a line cut
short or edited by hand is found at start like any damaged data file; the rest of a line is
plain JSON that any tool can read. Each correction rewrites its day's file atomically.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.storage.atomic import CorruptFileError, write_atomically
from bot.storage.docs import iso, utc

_CHECK_HEX = 16


def _check(entry: Mapping[str, Any]) -> str:
    body = json.dumps({k: v for k, v in entry.items() if k != "check"}, sort_keys=True)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()[:_CHECK_HEX]


def check_labels_file(path: Path) -> None:
    """Raise CorruptFileError unless every line of a labels file is what commsbot wrote."""
    try:
        raw = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise CorruptFileError(path, "not UTF-8 text") from None
    if raw and not raw.endswith("\n"):
        raise CorruptFileError(path, "the file is cut short")
    for number, line in enumerate(raw.splitlines(), start=1):
        try:
            entry = json.loads(line)
        except ValueError:
            raise CorruptFileError(path, f"line {number} is not JSON") from None
        if not isinstance(entry, dict) or entry.get("check") != _check(entry):
            raise CorruptFileError(path, f"line {number}: checksum mismatch (edited or cut)")


class LabelLog:
    """Appends re-categorisations to the day's labels file."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, day: datetime) -> Path:
        """The file of the UTC day `day` falls in."""
        return self.directory / f"{utc(day):%Y-%m-%d}.jsonl"

    @staticmethod
    def line(
        *,
        text: str,
        account: str,
        network: str,
        kind: str,
        old_category: str,
        new_category: str,
        by: str | None,
        at: datetime,
    ) -> str:
        """One correction as its line in a labels file (newline included)."""
        entry: dict[str, Any] = {
            "text": text,
            "account": account,
            "network": network,
            "kind": kind,
            "old_category": old_category,
            "new_category": new_category,
            "at": iso(at),
            "by": by,
        }
        entry["check"] = _check(entry)
        return json.dumps(entry, ensure_ascii=False) + "\n"

    def record(self, *, at: datetime, **correction: Any) -> None:
        """Keep one correction as a labelled example (the day's file rewritten atomically)."""
        path = self.path(at)
        existing = path.read_text(encoding="utf-8") if path.exists() else ""
        write_atomically(path, existing + self.line(at=at, **correction))

    def entries(self, day: datetime) -> list[dict[str, Any]]:
        """The corrections of one UTC day, oldest first."""
        path = self.path(day)
        if not path.exists():
            return []
        check_labels_file(path)
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
