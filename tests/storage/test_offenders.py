"""Persistent offenders: breaches counted once per post, per author and account, crash-safe."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.storage import Store
from bot.storage import offenders as offenders_module

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def test_breaches_count_once_per_post_per_author_and_account(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        record = store.record_breach
        assert record(account="council", author="@troll", post_key="x:1", now=NOW) == 1
        assert record(account="council", author="@troll", post_key="x:1", now=NOW) == 1
        assert record(account="council", author="@Troll", post_key="x:2", now=NOW) == 2
        assert record(account="fire", author="@troll", post_key="x:3", now=NOW) == 1
        assert record(account="council", author="@other", post_key="x:4", now=NOW) == 1
    with Store(tmp_path) as store:  # kept across restarts
        assert store.record_breach(account="council", author="@troll", post_key="x:5", now=NOW) == 3


def test_a_failed_write_leaves_the_count_as_it_was(tmp_path: Path, monkeypatch) -> None:
    with Store(tmp_path) as store:
        store.record_breach(account="council", author="@troll", post_key="x:1", now=NOW)

        def crash(path: Path, text: str) -> None:
            raise OSError("disk full")

        monkeypatch.setattr(offenders_module, "write_atomically", crash)
        with pytest.raises(OSError):
            store.record_breach(account="council", author="@troll", post_key="x:2", now=NOW)
        monkeypatch.undo()
        # Offering the same post again after the failure counts it, once.
        assert store.record_breach(account="council", author="@troll", post_key="x:2", now=NOW) == 2
