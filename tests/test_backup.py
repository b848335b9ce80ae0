"""`commsbot backup` and `restore`: a copy of one instant, taken while the bot works, and back."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from bot.cli import main
from bot.storage.backup import MANIFEST, BackupError, check_backup, restore_backup, take_backup
from tests.conftest import http_get, intake_post, wait_until
from tests.e2e.views import all_shown, shown

ENQUIRIES = "#comms-enquiries"


def _keys(batch: int) -> list[str]:
    return [f"x:b{batch:03d}p{n}" for n in range(5)]


def test_a_backup_taken_during_intake_restores_to_a_working_desk(
    start_bot, fake_slack, tmp_path: Path
) -> None:
    data, backup, restored = tmp_path / "data", tmp_path / "backup", tmp_path / "restored"
    bot = start_bot(data_dir=data)
    answered: list[int] = []
    stop = threading.Event()

    def keep_posting() -> None:
        batch = 0
        while not stop.is_set() and batch < 400:
            posts = [
                intake_post(f"b{batch:03d}p{n}", text=f"Is the tip at Hadleigh open? ({batch}/{n})")
                for n in range(5)
            ]
            assert bot.intake(posts).status == 202
            answered.append(batch)
            batch += 1

    writer = threading.Thread(target=keep_posting)
    writer.start()
    wait_until(lambda: len(answered) >= 5, what="intake under way")
    accepted_before = list(answered)
    summary = take_backup(data, backup)
    accepted_after_backup = len(answered)
    wait_until(lambda: len(answered) >= accepted_after_backup + 3, what="intake after the backup")
    stop.set()
    writer.join()
    bot.stop()

    assert check_backup(backup).files == summary.files
    restore_backup(backup, restored)
    again = start_bot(data_dir=restored)
    store = again.store
    for batch in accepted_before:  # everything answered 202 before the backup is in it
        for key in _keys(batch):
            record = store.get_post_record(key)
            assert record is not None and store.theme(record["theme"]) is not None
    in_backup = [b for b in range(len(answered)) if store.get_post_record(_keys(b)[0])]
    assert in_backup == list(
        range(len(in_backup))
    )  # one instant: no later batch without an earlier
    for batch in in_backup:  # and no half of a batch: each request was stored whole
        assert all(store.get_post_record(key) for key in _keys(batch))
    assert not (restored / "quarantine").exists()  # nothing was damaged or half-written
    assert http_get(f"{again.url}/healthz").status == 200
    assert (
        again.intake([intake_post("after", text="Is the tip at Hadleigh open today?")]).status
        == 202
    )
    all_shown(again)
    assert "open today?" in shown(fake_slack, ENQUIRIES)


def _a_data_dir(start_bot, tmp_path: Path, name: str = "data") -> Path:
    data = tmp_path / name
    bot = start_bot(data_dir=data)
    assert bot.intake([intake_post("one", text="When does the library open?")]).status == 202
    wait_until(lambda: bot.store.get_post_record("x:one") is not None, what="the post stored")
    bot.stop()
    return data


def test_a_changed_or_missing_file_or_manifest_is_named(start_bot, tmp_path: Path) -> None:
    data = _a_data_dir(start_bot, tmp_path)
    backup = tmp_path / "backup"
    take_backup(data, backup)
    posts_file = next((backup / "posts").rglob("*.json"))
    original = posts_file.read_bytes()
    posts_file.write_bytes(original.replace(b"library", b"LIBRARY"))
    with pytest.raises(BackupError, match=r"changed since the backup: posts/"):
        check_backup(backup)
    posts_file.unlink()
    with pytest.raises(BackupError, match=r"missing: posts/"):
        check_backup(backup)
    posts_file.write_bytes(original)
    check_backup(backup)
    (backup / MANIFEST).unlink()
    with pytest.raises(BackupError, match="not a whole commsbot backup"):
        check_backup(backup)


def test_restore_refuses_a_running_bot_and_moves_data_aside_only_when_forced(
    start_bot, tmp_path: Path
) -> None:
    data = _a_data_dir(start_bot, tmp_path)
    backup = tmp_path / "backup"
    take_backup(data, backup)
    running = start_bot(data_dir=data)
    with pytest.raises(BackupError, match="in use by a running commsbot"):
        restore_backup(backup, data)
    running.stop()
    with pytest.raises(BackupError, match="already holds data"):
        restore_backup(backup, data)
    (data / "kept.txt").write_text("the operator's note", encoding="utf-8")
    _, moved = restore_backup(backup, data, force=True)
    assert moved is not None and (moved / "kept.txt").read_text() == "the operator's note"
    assert not (data / "kept.txt").exists() and (data / "meta.json").is_file()


def test_a_backup_needs_a_new_folder_outside_the_data(start_bot, tmp_path: Path) -> None:
    data = _a_data_dir(start_bot, tmp_path)
    (tmp_path / "taken").mkdir()
    with pytest.raises(BackupError, match="already exists"):
        take_backup(data, tmp_path / "taken")
    with pytest.raises(BackupError, match="inside the data directory"):
        take_backup(data, data / "backups" / "mine")
    with pytest.raises(BackupError, match="not a commsbot data directory"):
        take_backup(tmp_path / "taken", tmp_path / "other")
    assert not list((data / "backups").glob(".snapshot-*"))  # no snapshot left behind


def test_the_commands_say_what_they_did(start_bot, tmp_path: Path, monkeypatch, capsys) -> None:
    data = _a_data_dir(start_bot, tmp_path)
    monkeypatch.setenv("COMMSBOT_DATA_DIR", str(data))
    assert main(["backup", str(tmp_path / "b1")]) == 0
    out = capsys.readouterr().out
    assert f"written to {tmp_path / 'b1'}" in out and "files" in out
    assert main(["backup", str(tmp_path / "b1")]) == 1
    assert "backup not taken" in capsys.readouterr().err
    assert main(["restore", str(tmp_path / "b1"), "--check"]) == 0
    assert "is a whole backup" in capsys.readouterr().out
    assert main(["restore", str(tmp_path / "b1")]) == 1
    assert "already holds data" in capsys.readouterr().err
    monkeypatch.setenv("COMMSBOT_DATA_DIR", str(tmp_path / "fresh"))
    assert main(["restore", str(tmp_path / "b1")]) == 0
    assert "Restored" in capsys.readouterr().out
    manifest = json.loads((tmp_path / "fresh" / "meta.json").read_text(encoding="utf-8"))
    assert manifest  # the data directory's own files, not the manifest, were restored
    assert not (tmp_path / "fresh" / MANIFEST).exists()


def test_the_store_holds_the_write_lock_a_backup_waits_for(tmp_path: Path) -> None:
    from bot.storage import Store
    from bot.storage.locks import LockTimeout, writes_paused

    with Store(tmp_path / "data") as store:
        with (
            store.lock,
            pytest.raises(LockTimeout, match="kept writing"),
            writes_paused(tmp_path / "data", timeout=0.05),
        ):
            pass  # pragma: no cover - the lock is the store's while it works
        with writes_paused(tmp_path / "data", timeout=0.05):
            pass  # free again once the store is between operations
