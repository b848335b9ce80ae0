"""Crisis mode: the desk is in a crisis from `since`, declared by `by`, with a note.

While a crisis is on, the policies ask for one named approver for every reply and a banner on
the App Home. This module holds the value only; storage keeps it and the edges show it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Crisis:
    """An active crisis: what it is about, who declared it, and since when (UTC)."""

    note: str
    by: str
    since: datetime

    def __post_init__(self) -> None:
        if self.since.tzinfo is None:
            raise ValueError("a crisis starts at a timezone-aware instant")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return {"note": self.note, "by": self.by, "since": self.since.isoformat()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Crisis:
        """The crisis `to_dict` wrote; ValueError if the data is not one."""
        try:
            return cls(
                note=str(data["note"]),
                by=str(data["by"]),
                since=datetime.fromisoformat(str(data["since"])),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a stored crisis: {exc!r}") from None
