"""Staff actions on themes through the Store: the seam for buttons and commands.

Each action is one all-or-nothing write (an intent record): a crash at any of its writes
leaves the data as before the action or as after it, never in between.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.core.posts import Category, Classification
from bot.core.theme_state import CloseReason, ThemeStatus
from bot.storage import Store
from bot.storage.labels import check_labels_file
from tests.storage.test_store import ENQUIRIES, NOW, ROUTED, TOPICS, make_post, open_store

COMPLAINTS = "#customer-complaints"
BINS = [
    "The bins on Elm Road have not been collected this week",
    "Our bins on Elm Road were missed again",
    "Elm Road bins still not collected, third week",
]


def _fill(data: Path) -> None:
    """T-0001: three posts about bins (one a complaint); T-0002 and T-0003: one post each."""
    complaint = Classification(Category.COMPLAINT, "complaint")
    with open_store(data) as store:
        for n, text in enumerate(BINS):
            classification, channel = (complaint, COMPLAINTS) if n == 2 else (ROUTED, ENQUIRIES)
            store.accept_post(
                make_post(f"b{n}", text=text), classification, channel=channel, now=NOW
            )
        for n, text in enumerate(TOPICS[1:3]):
            store.accept_post(make_post(f"o{n}", text=text), ROUTED, channel=ENQUIRIES, now=NOW)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    _fill(path)
    return path


def test_moving_a_post_to_another_theme(data: Path) -> None:
    with open_store(data) as store:
        assert store.move_post("x:b1", to="T-0002", by="U1", now=NOW) == "T-0002"
        assert [d["key"] for d in store.theme_posts("T-0001")] == ["x:b0", "x:b2"]
        assert [d["key"] for d in store.theme_posts("T-0002")] == ["x:o0", "x:b1"]
        assert store.get_post_record("x:b1")["theme"] == "T-0002"
        assert store.theme("T-0001").theme.post_count == 2
        assert store.theme("T-0002").view(ENQUIRIES).dirty
        [entry] = [e for e in store.audit_entries(NOW.date()) if e["action"] == "theme.post_moved"]
        assert (entry["by"], entry["from"], entry["to"]) == ("U1", "T-0001", "T-0002")
    with open_store(data) as store:  # held on disk, and the matcher knows
        assert store.get_post_record("x:b1")["theme"] == "T-0002"


def test_moving_a_post_to_a_new_theme(data: Path) -> None:
    with open_store(data) as store:
        assert store.move_post("x:b0", to=None, by="U1", now=NOW) == "T-0004"
        assert store.theme("T-0004").theme.post_count == 1
    with open_store(data) as store:
        fresh = store.accept_post(
            make_post("n", text=TOPICS[5]), ROUTED, channel=ENQUIRIES, now=NOW
        )
        assert fresh.theme == "T-0005"  # the counter moved on


def test_merging_two_themes_and_the_merged_one_goes_to_history(data: Path) -> None:
    with open_store(data) as store:
        store.merge_themes(into="T-0001", away="T-0002", by="U1", now=NOW)
        assert [d["key"] for d in store.theme_posts("T-0001", ENQUIRIES)] == [
            "x:b0",
            "x:b1",
            "x:o0",
        ]
        gone = store.theme("T-0002").theme
        assert (gone.status, gone.close_reason, gone.merged_into) == (
            ThemeStatus.CLOSED,
            CloseReason.MERGED,
            "T-0001",
        )
        # Once its view shows it is merged, it leaves open work for history.
        view = store.theme("T-0002").view(ENQUIRIES)
        store.record_view("T-0002", ENQUIRIES, now=NOW, done_version=view.version)
        assert "T-0002" not in [s.theme.ref for s in store.open_themes()]
        assert store.theme("T-0002").theme.merged_into == "T-0001"  # read from history
    assert (data / "themes" / "closed" / "000" / "T-0002.json").exists()
    assert not (data / "themes" / "open" / "T-0002.json").exists()


def test_recategorising_a_post_moves_it_and_keeps_a_labelled_example(data: Path) -> None:
    with open_store(data) as store:
        store.recategorise_post(
            "x:b0", category="complaint", channels=(COMPLAINTS,), by="U1", now=NOW
        )
        record = store.get_post_record("x:b0")
        assert (record["category"], record["channel"]) == ("complaint", COMPLAINTS)
        theme = store.theme("T-0001").theme
        assert theme.channel(ENQUIRIES).moved_to == COMPLAINTS
        assert [d["key"] for d in store.theme_posts("T-0001", COMPLAINTS)] == ["x:b2", "x:b0"]
        [label] = store.labels(NOW)
        assert (label["old_category"], label["new_category"], label["by"]) == (
            "enquiry",
            "complaint",
            "U1",
        )
        assert label["text"] == BINS[0]


def test_recategorising_a_theme_moves_every_post(data: Path) -> None:
    with open_store(data) as store:
        store.recategorise_theme(
            "T-0001", category="media", channels=("#press-office",), by="U1", now=NOW
        )
        theme = store.theme("T-0001").theme
        assert theme.category == "media"
        assert theme.channel("#press-office").count == 3
        assert {label["old_category"] for label in store.labels(NOW)} == {"enquiry", "complaint"}


def test_close_answer_claim_and_reopen_even_from_history(data: Path) -> None:
    with open_store(data) as store:
        store.claim_theme("T-0003", owner="U7", now=NOW)
        store.mark_theme_answered("T-0003", by="U7", now=NOW)
        assert store.theme("T-0003").theme.status is ThemeStatus.ANSWERED
        store.close_theme("T-0003", reason=CloseReason.NO_REPLY_NEEDED, by="U7", now=NOW)
        view = store.theme("T-0003").view(ENQUIRIES)
        store.record_view("T-0003", ENQUIRIES, now=NOW, done_version=view.version)
        assert store.theme("T-0003").theme.owner == "U7"
        store.reopen_theme("T-0003", by="U8", now=NOW)
        reopened = store.theme("T-0003")
        assert reopened.theme.status is ThemeStatus.OPEN and reopened.view(ENQUIRIES).dirty
        actions = [e["action"] for e in store.audit_entries(NOW.date())]
        assert actions[-4:] == ["theme.claimed", "theme.answered", "theme.closed", "theme.reopened"]
    assert not (data / "themes" / "closed" / "000" / "T-0003.json").exists()
    with open_store(data) as store:
        assert store.theme("T-0003").theme.status is ThemeStatus.OPEN


def _state(data: Path) -> dict[str, Any]:
    """Everything an action may change, as plain data."""
    with open_store(data) as store:
        themes = {s.theme.ref: s.to_data() for s in store.open_themes()}
        for ref in ("T-0001", "T-0002", "T-0003", "T-0004"):
            found = store.theme(ref)
            if found is not None:
                themes[ref] = found.to_data()
        posts = {}
        for key in ["x:b0", "x:b1", "x:b2", "x:o0", "x:o1"]:
            record = store.get_post_record(key)
            posts[key] = {k: record[k] for k in ("theme", "theme_seq", "positions", "category")}
        listed = {ref: [d["key"] for d in store.theme_posts(ref)] for ref in themes}
        audit = [e["action"] for e in store.audit_entries(NOW.date())]
        labels = store.labels(NOW)
    return json.loads(
        json.dumps(
            {"themes": themes, "posts": posts, "listed": listed, "audit": audit, "labels": labels},
            default=str,
        )
    )


ACTIONS: dict[str, Callable[[Store], object]] = {
    "move": lambda s: s.move_post("x:b1", to="T-0002", by="U1", now=NOW),
    "move to new": lambda s: s.move_post("x:b1", to=None, by="U1", now=NOW),
    "merge": lambda s: s.merge_themes(into="T-0001", away="T-0002", by="U1", now=NOW),
    "recategorise post": lambda s: s.recategorise_post(
        "x:b0", category="complaint", channels=(COMPLAINTS,), by="U1", now=NOW
    ),
    "recategorise theme": lambda s: s.recategorise_theme(
        "T-0001", category="media", channels=("#press-office",), by="U1", now=NOW
    ),
    "close": lambda s: s.close_theme("T-0002", reason=CloseReason.SPAM, by="U1", now=NOW),
    "claim": lambda s: s.claim_theme("T-0002", owner="U1", now=NOW),
}


def _replace_count(data: Path, action: Callable[[Store], object], monkeypatch) -> int:
    counted: list[object] = []
    real_replace = os.replace
    with monkeypatch.context() as patch, open_store(data) as store:
        patch.setattr(os, "replace", lambda *a, **k: (counted.append(a), real_replace(*a, **k)))
        action(store)
    return len(counted)


@pytest.mark.parametrize("name", ACTIONS, ids=list(ACTIONS))
def test_an_action_cut_short_at_any_write_is_all_or_nothing(
    tmp_path: Path, monkeypatch, name: str
) -> None:
    action = ACTIONS[name]
    template = tmp_path / "template"
    _fill(template)
    before = _state(template)
    done = tmp_path / "done"
    shutil.copytree(template, done)
    writes = _replace_count(done, action, monkeypatch)
    after = _state(done)
    assert after != before
    for write_number in range(1, writes + 1):
        data = tmp_path / f"crash-{write_number}"
        shutil.copytree(template, data)
        store = open_store(data)
        calls: list[object] = []

        def replace(*args, calls=calls, number=write_number, real=os.replace, **kwargs):
            calls.append(args)
            if len(calls) == number:
                raise OSError("killed")
            return real(*args, **kwargs)

        monkeypatch.setattr(os, "replace", replace)
        with pytest.raises(OSError, match="killed"):
            action(store)
        monkeypatch.undo()
        store.close()
        state = _state(data)
        # The intent is written first: a crash on it changes nothing; after it, the next
        # start carries the action out in full.
        assert state == (before if write_number == 1 else after), (name, write_number)
        assert not list((data / "intents").glob("*.json"))


def test_an_archive_cut_short_is_finished_at_the_next_start(data: Path, monkeypatch) -> None:
    with open_store(data) as store:
        store.close_theme("T-0003", reason=CloseReason.DUPLICATE, by="U1", now=NOW)
        version = store.theme("T-0003").view(ENQUIRIES).version
        real_unlink = Path.unlink

        def unlink(self, *args, **kwargs):
            if self.name == "T-0003.json" and "open" in self.parts:
                raise OSError("killed")
            return real_unlink(self, *args, **kwargs)

        monkeypatch.setattr(Path, "unlink", unlink)
        with pytest.raises(OSError, match="killed"):
            store.record_view("T-0003", ENQUIRIES, now=NOW, done_version=version)
        monkeypatch.undo()
    assert (data / "themes" / "open" / "T-0003.json").exists()
    with open_store(data) as store:
        assert "T-0003" not in [s.theme.ref for s in store.open_themes()]
        assert store.theme("T-0003").theme.status is ThemeStatus.CLOSED
    assert not (data / "themes" / "open" / "T-0003.json").exists()


def test_a_labelled_example_is_read_by_training(data: Path) -> None:
    from bot.learning.train import read_desk_labels

    with open_store(data) as store:
        store.recategorise_post(
            "x:o0", category="complaint", channels=(COMPLAINTS,), by="U1", now=NOW
        )
    [example] = list(read_desk_labels(data))
    assert (example.text, example.category.value) == (TOPICS[1], "complaint")
    [path] = list((data / "labels").glob("*.jsonl"))
    check_labels_file(path)
