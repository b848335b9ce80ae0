"""Damaged data files are detected, kept aside and reported; never read as empty."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from bot.storage import StorageError, Store, atomic
from tests.storage.test_store import (
    ENQUIRIES,
    NOW,
    ROUTED,
    TOPICS,
    accept,
    make_post,
    open_store,
)


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
    with open_store(data) as store:
        accept(store, make_post("p0", text="The bins on Elm Road were not collected"))
        accept(store, make_post("p1", text="Bins on Elm Road missed again this week"))
        accept(store, make_post("p2", text=TOPICS[2]))
        store.first_sighting("Ev1", now=NOW)
        store.queue_message(channel="#alerts", kind="note", data={}, now=NOW)


@pytest.mark.parametrize("damage", DAMAGE, ids=list(DAMAGE))
@pytest.mark.parametrize("folder", ["outbox", "posts", "audit", "events"])
def test_a_damaged_file_is_quarantined_kept_and_reported(
    tmp_path: Path, damage: str, folder: str
) -> None:
    _fill(tmp_path)
    path = _one_file(tmp_path, folder)
    damaged = DAMAGE[damage](path.read_text(encoding="utf-8"))
    path.write_text(damaged, encoding="utf-8")
    with open_store(tmp_path) as store:
        [problem] = store.problems()
        assert str(path) in problem and "moved to" in problem
        if folder == "outbox":
            assert "Alerts waiting in it" in problem
            # Posts are in themes, not in the outbox: none of them is lost.
            assert len(store.theme_posts("T-0001")) == 2
    [kept] = [p for p in (tmp_path / "quarantine").rglob("*") if p.suffix != ".txt" and p.is_file()]
    assert kept.read_text(encoding="utf-8") == damaged


@pytest.mark.parametrize("damage", DAMAGE, ids=list(DAMAGE))
def test_a_damaged_index_file_is_rebuilt_from_the_posts(tmp_path: Path, damage: str) -> None:
    _fill(tmp_path)
    buckets = list((tmp_path / "index").rglob("*.json"))
    for bucket in buckets:
        bucket.write_text(DAMAGE[damage](bucket.read_text(encoding="utf-8")), encoding="utf-8")
    with open_store(tmp_path) as store:
        assert len(store.problems()) == len(buckets)
        # Still known: offering the posts again changes nothing.
        for n in range(3):
            assert accept(store, make_post(f"p{n}"), now=NOW + timedelta(days=3)) == "duplicate"
        assert store.get_post_record("x:p1")["key"] == "x:p1"


@pytest.mark.parametrize("damage", ["truncated", "edited by hand"])
def test_a_damaged_theme_is_rebuilt_from_its_posts_and_shown_again(
    tmp_path: Path, damage: str
) -> None:
    _fill(tmp_path)
    with open_store(tmp_path) as store:
        version = store.theme("T-0001").view(ENQUIRIES).version
        store.record_view(
            "T-0001", ENQUIRIES, now=NOW, parent_ts="1.1", channel_id="C0", done_version=version
        )
    path = tmp_path / "themes" / "open" / "T-0001.json"
    path.write_text(DAMAGE[damage](path.read_text(encoding="utf-8")), encoding="utf-8")
    with open_store(tmp_path) as store:
        [problem] = store.problems()
        assert "rebuilt from its posts" in problem and "posted again" in problem
        stored = store.theme("T-0001")
        assert stored is not None and stored.theme.post_count == 2
        assert stored.theme.channel(ENQUIRIES).appended == 2
        view = stored.view(ENQUIRIES)
        assert view.parent_ts is None and view.dirty  # shown again from scratch
        assert accept(store, make_post("p1")) == "duplicate"
        joined = store.accept_post(
            make_post("p9", text="Elm Road bins not collected yet again"),
            ROUTED,
            channel=ENQUIRIES,
            now=NOW,
        )
        assert joined.theme == "T-0001"  # it takes new posts as before


@pytest.mark.parametrize("damage", ["truncated", "replaced by {}"])
def test_a_damaged_journal_is_rebuilt_from_the_posts(tmp_path: Path, damage: str) -> None:
    _fill(tmp_path)
    [path] = list((tmp_path / "themes" / "journal").rglob("T-0001.*.json"))
    path.write_text(DAMAGE[damage](path.read_text(encoding="utf-8")), encoding="utf-8")
    with open_store(tmp_path) as store:
        [problem] = store.problems()
        assert "nothing is lost" in problem
        assert [d["key"] for d in store.theme_posts("T-0001")] == ["x:p0", "x:p1"]
        assert accept(store, make_post("p0")) == "duplicate"


def test_a_damaged_counter_is_rebuilt_and_never_gives_a_reference_twice(
    tmp_path: Path,
) -> None:
    _fill(tmp_path)
    (tmp_path / "themes" / "counter.json").write_text("{}", encoding="utf-8")
    with open_store(tmp_path) as store:
        assert store.problems()
        outcome = store.accept_post(
            make_post("new", text=TOPICS[3]), ROUTED, channel=ENQUIRIES, now=NOW
        )
        assert outcome.theme == "T-0003"


def test_damaged_labels_and_intents_are_quarantined(tmp_path: Path) -> None:
    _fill(tmp_path)
    with open_store(tmp_path) as store:
        store.recategorise_post(
            "x:p2", category="complaint", channels=("#complaints",), by="U1", now=NOW
        )
    [labels] = list((tmp_path / "labels").glob("*.jsonl"))
    labels.write_text(labels.read_text().replace("complaint", "general"), encoding="utf-8")
    (tmp_path / "intents").mkdir(exist_ok=True)
    (tmp_path / "intents" / "00000001.json").write_text('{"commsbot":1,', encoding="utf-8")
    with open_store(tmp_path) as store:
        problems = store.problems()
        assert len(problems) == 2
        assert any("commsbot train" in p for p in problems)
        assert any("staff action" in p for p in problems)


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
    with open_store(tmp_path) as store:
        assert store.problems() == []
        assert len(store.outbox_items()) == 1
    assert not any(p.exists() for p in leftovers)


def test_clearing_the_quarantine_clears_the_problem(tmp_path: Path) -> None:
    _fill(tmp_path)
    _one_file(tmp_path, "audit").write_text("", encoding="utf-8")
    with open_store(tmp_path) as store:
        assert store.problems()
        for path in sorted((tmp_path / "quarantine").rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
        assert store.problems() == []


def test_every_file_of_the_data_directory_is_checked(tmp_path: Path) -> None:
    """No area of the store escapes the check: every file written is a checked kind."""
    _fill(tmp_path)
    with open_store(tmp_path) as store:
        store.recategorise_post(
            "x:p2", category="complaint", channels=("#complaints",), by="U1", now=NOW
        )
    for path in tmp_path.rglob("*"):
        relative = path.relative_to(tmp_path)
        if not path.is_file() or relative.name in (".lock", ".write.lock", "meta.json"):
            continue
        if relative.suffix == ".jsonl":
            continue  # labels: checked line by line
        atomic.check_data_file(path)
