"""Which App Homes are published again after a change: recent viewers only, debounced."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.core.crisis import Crisis
from bot.home import HomeViewers
from tests.storage.test_clock_sweep import ENQUIRY, MONDAY_10, open_store, post

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
S = timedelta(seconds=1)


def test_a_burst_of_changes_publishes_a_recent_viewers_home_once() -> None:
    homes = HomeViewers(debounce=5 * S)
    homes.opened("U0ANNA0001", now=T0)
    for n in range(50):
        homes.touched({"U0ANNA0001"}, everyone=False, now=T0 + n * 0.1 * S)
    assert homes.due(now=T0 + 4 * S) == []  # just published when opened
    assert homes.due(now=T0 + 5 * S) == ["U0ANNA0001"]
    assert homes.due(now=T0 + 20 * S) == []  # nothing changed since


def test_a_change_right_after_a_refresh_waits_for_the_debounce() -> None:
    homes = HomeViewers(debounce=5 * S)
    homes.opened("U0ANNA0001", now=T0)
    homes.touched({"U0ANNA0001"}, everyone=False, now=T0 + 10 * S)
    assert homes.due(now=T0 + 10 * S) == ["U0ANNA0001"]
    homes.touched({"U0ANNA0001"}, everyone=False, now=T0 + 11 * S)
    assert homes.due(now=T0 + 12 * S) == []
    assert homes.due(now=T0 + 15 * S) == ["U0ANNA0001"]


def test_only_people_who_opened_their_home_recently_are_published() -> None:
    homes = HomeViewers(recent=timedelta(minutes=30), debounce=5 * S)
    homes.opened("U0OLD00001", now=T0 - timedelta(hours=2))
    homes.opened("U0ANNA0001", now=T0)
    homes.touched({"U0OLD00001", "U0NEVER001", "U0ANNA0001"}, everyone=False, now=T0 + 6 * S)
    assert homes.due(now=T0 + 6 * S) == ["U0ANNA0001"]


def test_a_crisis_refreshes_every_recent_viewer() -> None:
    homes = HomeViewers(debounce=5 * S)
    homes.opened("U0ANNA0001", now=T0)
    homes.opened("U0BOB00001", now=T0)
    homes.touched(set(), everyone=True, now=T0 + 6 * S)
    assert homes.due(now=T0 + 6 * S) == ["U0ANNA0001", "U0BOB00001"]


def test_the_store_says_whose_themes_changed_and_when_everyones_home_did(
    tmp_path: Path,
) -> None:

    with open_store(tmp_path) as store:
        ref = store.accept_post(
            post("1", "When does the library open?"), ENQUIRY, channel="#e", now=MONDAY_10
        ).theme
        store.take_touched()
        store.claim_theme(ref or "", owner="U0ANNA0001", now=MONDAY_10)
        assert store.take_touched() == (frozenset({"U0ANNA0001"}), False)
        store.claim_theme(ref or "", owner="U0BOB00001", now=MONDAY_10)
        assert store.take_touched() == (frozenset({"U0ANNA0001", "U0BOB00001"}), False)
        store.set_crisis(Crisis("flood", "U0HEAD0001", MONDAY_10), by="U0HEAD0001", now=MONDAY_10)
        assert store.take_touched() == (frozenset(), True)
        assert store.take_touched() == (frozenset(), False)
