"""Damaged data files are detected, kept aside and reported; never read as empty."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from bot.storage import StorageError, Store, atomic
from tests.storage.test_store import NOW, accept, make_post


def _truncate(text: str) -> str:
    return text[: len(text) // 2]


def _hand_edit(text: str) -> str:
    """An editor that changed one value (the first digit after the header) and saved."""
    head, _, body = text.partition('"data":')
    digit = next(c for c in body if c.isdigit())
    return head + '"data":' + body.replace(digit, str((int(digit) + 1) % 10), 1)


DAMAGE: dict[str, Callable[[str], str]] = {
    "truncated": _truncate,
    "emptied": lambda text: "",
    "replaced by {}": lambda text: "{}",
    "valid JSON of the old shape": lambda text: '{"posts": {}, "messages": {}, "keys": {}}',
    "edited by hand": _hand_edit,
}


def _one_file(root: Path, folder: str) -> Path:
    [path] = [p for p in (root / folder).rglob("*.json")]
    return path


def _fill(data: Path) -> None:
    with Store(data) as store:
        for n in range(3):
            accept(store, make_post(f"p{n}"))
        store.first_sighting("Ev1", now=NOW)


@pytest.mark.parametrize("damage", DAMAGE, ids=list(DAMAGE))
@pytest.mark.parametrize("folder", ["outbox", "posts", "audit", "events"])
def test_a_damaged_file_is_quarantined_kept_and_reported(
    tmp_path: Path, damage: str, folder: str
) -> None:
    _fill(tmp_path)
    path = _one_file(tmp_path, folder)
    damaged = DAMAGE[damage](path.read_text(encoding="utf-8"))
    path.write_text(damaged, encoding="utf-8")
    with Store(tmp_path) as store:
        [problem] = store.problems()
        assert str(path) in problem and "moved to" in problem
        assert store.outbox_rebuild_needed == (folder == "outbox")
        if folder == "outbox":
            # Never silently empty: the posts whose messages were there are found again.
            assert [d["key"] for d in store.posts_to_requeue()] == ["x:p0", "x:p1", "x:p2"]
    [kept] = [p for p in (tmp_path / "quarantine").rglob("*") if p.suffix != ".txt" and p.is_file()]
    assert kept.read_text(encoding="utf-8") == damaged


@pytest.mark.parametrize("damage", DAMAGE, ids=list(DAMAGE))
def test_a_damaged_index_file_is_rebuilt_from_the_posts(tmp_path: Path, damage: str) -> None:
    _fill(tmp_path)
    buckets = list((tmp_path / "index").rglob("*.json"))
    for bucket in buckets:
        bucket.write_text(DAMAGE[damage](bucket.read_text(encoding="utf-8")), encoding="utf-8")
    with Store(tmp_path) as store:
        assert len(store.problems()) == len(buckets)
        # Still known: offering the posts again changes nothing.
        for n in range(3):
            assert accept(store, make_post(f"p{n}"), now=NOW + timedelta(days=3)) == "duplicate"
        assert store.get_post_record("x:p1")["key"] == "x:p1"


@pytest.mark.parametrize("damage", DAMAGE, ids=list(DAMAGE))
def test_a_damaged_meta_file_stops_start_up_with_what_to_do(tmp_path: Path, damage: str) -> None:
    _fill(tmp_path)
    meta = tmp_path / "meta.json"
    meta.write_text(DAMAGE[damage](meta.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(StorageError, match=r"meta\.json.*restore it from a backup"):
        Store(tmp_path)


def test_leftover_temporary_files_are_removed_at_start(tmp_path: Path) -> None:
    _fill(tmp_path)
    leftovers = [tmp_path / "outbox" / ".00000000.json.abc123.tmp", tmp_path / ".meta.json.x.tmp"]
    for leftover in leftovers:
        leftover.write_text('{"half": ', encoding="utf-8")
    with Store(tmp_path) as store:
        assert store.problems() == []
        assert len(store.outbox_items()) == 3
    assert not any(p.exists() for p in leftovers)


def test_clearing_the_quarantine_clears_the_problem(tmp_path: Path) -> None:
    _fill(tmp_path)
    _one_file(tmp_path, "audit").write_text("", encoding="utf-8")
    with Store(tmp_path) as store:
        assert store.problems()
        for path in sorted((tmp_path / "quarantine").rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
        assert store.problems() == []


def test_data_from_before_checksums_is_upgraded(tmp_path: Path) -> None:
    _fill(tmp_path)
    import json

    for path in tmp_path.rglob("*.json"):
        data = atomic.read_data_file(path)
        if path.name == "meta.json":
            data["meta"]["1"]["schema_version"] = 2
        path.write_text(json.dumps(data), encoding="utf-8")
    with Store(tmp_path) as store:
        assert store.problems() == []
        assert [i.post_key for i in store.outbox_items()] == ["x:p0", "x:p1", "x:p2"]
        assert accept(store, make_post("p0")) == "duplicate"
