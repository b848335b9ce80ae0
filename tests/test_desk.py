"""The desk: what it hands to storage, and where re-categorised posts would go."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.config import load_config
from bot.core.posts import Category
from bot.core.theme_state import ThemeStatus
from bot.desk import Desk
from bot.storage import Store
from tests.conftest import CONFIG_DIR
from tests.storage.test_store import ENQUIRIES, ROUTED, make_post


def test_channels_for_a_category_include_the_duty_channel(tmp_path: Path) -> None:
    config = load_config(CONFIG_DIR)
    with Store(tmp_path, themes=config.themes) as store:
        desk = Desk(config=config, store=store)
        assert desk.channels_for("council", Category.COMPLAINT) == ("#customer-complaints",)
        assert desk.channels_for("fire", Category.URGENT) == ("#fire-control-urgent",)
        desk.routing = desk.routing.__class__(
            routes=desk.routing.routes,
            round_the_clock=frozenset({"#duty"}),
            duty_channel="#duty",
        )
        assert desk.channels_for("council", Category.URGENT) == ("#comms-urgent", "#duty")


def test_marking_a_theme_answered_through_the_desk_records_who_and_when(tmp_path: Path) -> None:
    now = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    config = load_config(CONFIG_DIR)
    with Store(tmp_path, themes=config.themes) as store:
        desk = Desk(config=config, store=store)
        ref = store.accept_post(make_post("a1"), ROUTED, channel=ENQUIRIES, now=now).theme
        assert ref is not None
        desk.mark_answered(ref, by="U0STAFF001", now=now)
        stored = store.theme(ref)
        assert stored is not None
        assert stored.theme.status is ThemeStatus.ANSWERED
        assert stored.theme.status_by == "U0STAFF001"
