"""Crisis mode as desk state: kept across restarts, each start and end in the audit trail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.core.crisis import Crisis
from bot.storage import Store

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def test_a_crisis_is_kept_across_a_restart_and_audited(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        assert store.crisis() is None
        store.set_crisis(
            Crisis(note="Flooding in Eastham", by="U0HEAD0001", since=NOW),
            by="U0HEAD0001",
            now=NOW,
        )
    with Store(tmp_path) as store:
        assert store.crisis() == Crisis(note="Flooding in Eastham", by="U0HEAD0001", since=NOW)
        store.set_crisis(None, by="U0ADMIN001", now=NOW + timedelta(hours=3))
        assert store.crisis() is None
        trail = [(e["action"], e["by"]) for e in store.audit_entries(NOW.date())]
    assert trail == [("crisis.started", "U0HEAD0001"), ("crisis.ended", "U0ADMIN001")]
    with Store(tmp_path) as store:
        assert store.crisis() is None
