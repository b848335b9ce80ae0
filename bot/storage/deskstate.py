"""State of the desk as a whole (`desk/state.json`): the crisis mode, with who and when, and
the last day the daily digest was queued.

One small file, read once and held in memory. A change is written together with its audit
entry as one intent (`bot.storage.intents`), so the trail never misses one.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from bot.core.crisis import Crisis
from bot.storage.atomic import AtomicJSONStorage, StorageError, read_data_file
from bot.storage.audit import AuditLog
from bot.storage.intents import FileWrite
from bot.storage.parts import Parts


def audit_write(
    parts: Parts, action: str, *, now: datetime, details: Mapping[str, Any]
) -> FileWrite:
    """The current audit file with one entry more, as a write for an intent."""
    path = parts.audit.files.path(parts.audit.files.part_for(now))
    data = copy.deepcopy(dict(AtomicJSONStorage(path, parts.batch).read() or {"audit": {}}))
    entries = data.setdefault("audit", {})
    next_id = max((int(i) for i in entries), default=0) + 1
    entries[str(next_id)] = AuditLog.entry(action, now, dict(details))
    return FileWrite(path, data=data)


def after_audit_write(parts: Parts, write: FileWrite) -> None:
    """Forget the cached audit file an intent replaced."""
    parts.files.drop(write.path)
    parts.audit.forget()


class DeskState:
    """The desk-wide state file. Used under the `Store`'s lock only."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "desk" / "state.json"
        self._state: dict[str, Any] | None = None

    def forget(self) -> None:
        """Read the file again on next use."""
        self._state = None

    def _load(self) -> dict[str, Any]:
        if self._state is None:
            data = read_data_file(self.path) or {}
            self._state = dict(data.get("state") or {})
        return self._state

    def crisis(self) -> Crisis | None:
        """The active crisis, if any."""
        found = self._load().get("crisis")
        if not found:
            return None
        try:
            return Crisis.from_dict(found)
        except ValueError as exc:
            raise StorageError(f"{self.path}: {exc}") from None

    def set_crisis(self, parts: Parts, crisis: Crisis | None, *, by: str, now: datetime) -> None:
        """Start (a Crisis) or end (None) crisis mode, with its audit entry, in one intent."""
        state = dict(self._load())
        before = self.crisis()
        state["crisis"] = crisis.to_dict() if crisis is not None else None
        if crisis is not None:
            details: dict[str, Any] = {"by": by, "note": crisis.note}
            action = "crisis.started"
        else:
            details = {"by": by, "since": before.since.isoformat() if before else None}
            action = "crisis.ended"
        audit = audit_write(parts, action, now=now, details=details)
        parts.intents.apply(action, [FileWrite(self.path, data={"state": state}), audit])
        after_audit_write(parts, audit)
        self._state = state

    def digest_sent_on(self) -> date | None:
        """The last (desk-local) day the daily digest was queued, if ever."""
        found = self._load().get("digest_sent_on")
        return date.fromisoformat(found) if found else None

    def queue_digest(
        self, parts: Parts, *, day: date, messages: Sequence[dict[str, Any]], now: datetime
    ) -> bool:
        """Queue the digest of `day` and record it was sent, in one intent: False (nothing
        queued) if it already was, so a restart inside the job's grace time sends it once."""
        if self.digest_sent_on() == day:
            return False
        state = dict(self._load())
        state["digest_sent_on"] = day.isoformat()
        seqs, outbox_files = parts.outbox.staged(list(messages))
        audit = audit_write(
            parts,
            "digest.queued",
            now=now,
            details={"day": day.isoformat(), "channels": [m["channel"] for m in messages]},
        )
        writes = [FileWrite(self.path, data={"state": state}), audit]
        writes.extend(FileWrite(path, data=data) for path, data in outbox_files.items())
        parts.intents.apply("digest.queued", writes)
        after_audit_write(parts, audit)
        parts.outbox.took(seqs, list(messages))
        self._state = state
        return True
