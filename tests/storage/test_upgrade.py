"""Data written by an earlier commsbot is upgraded in place after a backup, never refused.

The fixtures are data directories written by earlier commsbot versions, kept as they wrote
them: `schema2` by the foundation (files without checksums), `schema3` by the release
before themes (messages rendered when queued). Each holds seven posts: three delivered, three
waiting for Slack (one with personal data), one whose message Slack refused (a dead letter),
an alert waiting, a handled Slack event, and (schema 3) a moderation breach.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from bot.storage import RENDERED, SCHEMA_VERSION, Store, atomic
from tests.storage.test_store import NOW, ROUTED, make_post, open_store

FIXTURES = Path(__file__).parent / "fixtures"
WAITING = ["x:w1", "x:w2", "x:w3"]


def _copy(version: int, tmp_path: Path) -> Path:
    data = tmp_path / f"data{version}"
    shutil.copytree(FIXTURES / f"schema{version}", data)
    return data


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != ".lock"
    }


@pytest.mark.parametrize("version", [2, 3])
def test_an_earlier_schema_is_backed_up_then_upgraded_in_place(
    tmp_path: Path, version: int
) -> None:
    data = _copy(version, tmp_path)
    original = _files(data)
    with open_store(data) as store:
        assert store.upgraded_from == version
        assert store.problems() == []
        # Messages rendered before the upgrade are still to be delivered, as they were.
        waiting = [i for i in store.outbox_items() if not i.dead]
        assert [i.post_key for i in waiting] == [*WAITING, None]
        assert all(i.kind == RENDERED and i.blocks for i in waiting)
        assert "07700" not in str(waiting[1].blocks)  # as masked when it was rendered
        [dead] = [i for i in store.outbox_items() if i.dead]
        assert (dead.post_key, dead.last_error) == ("x:x1", "channel_not_found")
        # Every post is still known: offering one again changes nothing.
        for key in ["x:d1", "x:w2", "x:x1"]:
            offered = make_post(key.removeprefix("x:"))
            assert store.accept_post(offered, ROUTED, channel="#c", now=NOW).status == "duplicate"
        assert store.count_posts(NOW.date()) == 7
        assert not store.first_sighting("Ev0FIXTURE", now=NOW)
        assert store.audit_entries(NOW.date())
        # New posts are placed in themes.
        new = store.accept_post(make_post("n1"), ROUTED, channel="#c", now=NOW)
        assert (new.status, new.theme) == ("accepted", "T-0001")
    meta = atomic.read_data_file(data / "meta.json")
    assert meta["meta"]["1"]["schema_version"] == SCHEMA_VERSION
    [backup] = list((data / "backups").iterdir())
    assert backup.name.startswith(f"schema-{version}-")
    assert _files(backup) == original  # the data exactly as the earlier commsbot left it
    with open_store(data) as store:  # upgraded once: the next start changes nothing
        assert store.upgraded_from is None
    assert len(list((data / "backups").iterdir())) == 1


def test_a_delivered_legacy_message_is_noted_on_its_post(tmp_path: Path) -> None:
    data = _copy(3, tmp_path)
    with open_store(data) as store:
        [first, *_] = store.outbox_items()
        store.mark_delivered(first, channel_id="C0ENQ", ts="1.5", now=NOW)
        assert store.get_post_record(first.post_key)["delivery"]["ts"] == "1.5"
        again = store.accept_post(
            make_post(first.post_key.removeprefix("x:")), ROUTED, channel="#c", now=NOW
        )
        assert again.status == "duplicate"


def _crash_at(monkeypatch, write_number: int) -> None:
    real_replace = os.replace
    calls: list[object] = []

    def replace(*args, **kwargs):
        calls.append(args)
        if len(calls) == write_number:
            monkeypatch.setattr(os, "replace", real_replace)
            raise OSError("killed")
        return real_replace(*args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)


def _writes_in_an_upgrade(version: int, tmp_path: Path, monkeypatch) -> int:
    data = _copy(version, tmp_path / "count")
    counted: list[object] = []
    real_replace = os.replace
    with monkeypatch.context() as patch:
        patch.setattr(os, "replace", lambda *a, **k: (counted.append(a), real_replace(*a, **k)))
        with Store(data):
            pass
    return len(counted)


@pytest.mark.parametrize("version", [2, 3])
def test_an_upgrade_cut_short_at_any_write_is_finished_at_the_next_start(
    tmp_path: Path, monkeypatch, version: int
) -> None:
    original = _files(FIXTURES / f"schema{version}")
    writes = _writes_in_an_upgrade(version, tmp_path, monkeypatch)
    assert writes >= 2  # the backup, then meta.json at least
    for write_number in range(1, writes + 1):
        data = _copy(version, tmp_path / f"crash-{write_number}")
        _crash_at(monkeypatch, write_number)
        with contextlib.suppress(OSError):
            Store(data).close()
        monkeypatch.undo()
        with open_store(data) as store:
            assert store.problems() == [], write_number
            assert store.count_posts(NOW.date()) == 7
            assert [i.post_key for i in store.outbox_items() if not i.dead] == [*WAITING, None]
            later = NOW + timedelta(minutes=1)
            assert store.accept_post(make_post("w1"), ROUTED, channel="#c", now=later).status == (
                "duplicate"
            )
        meta = atomic.read_data_file(data / "meta.json")
        assert meta["meta"]["1"]["schema_version"] == SCHEMA_VERSION
        backups = [p for p in (data / "backups").iterdir() if not p.name.startswith(".")]
        assert any(_files(b) == original for b in backups), write_number
