"""The desk: what it hands to storage, and where re-categorised posts would go."""

from __future__ import annotations

from pathlib import Path

from bot.config import load_config
from bot.core.posts import Category
from bot.desk import Desk
from bot.storage import Store
from tests.conftest import CONFIG_DIR


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
