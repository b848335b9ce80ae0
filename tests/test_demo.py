"""`commsbot demo`: channels in the order a comms manager needs them, words, --verbose."""

from __future__ import annotations

import dataclasses

import pytest

from bot.cli import main
from bot.config import DeskConfig, load_config
from bot.core.templating import TemplateRenderer
from bot.core.themes import Priority
from bot.demo.channels import order_channels
from tests.conftest import CONFIG_DIR, REPO


@pytest.fixture(scope="module")
def config() -> DeskConfig:
    return load_config(CONFIG_DIR)


def _names(*names: str) -> dict[str, str]:
    return {name: f"C{number:04d}" for number, name in enumerate(names)}


CHANNELS = _names(
    "comms-enquiries",
    "press-office",
    "info-governance-foi",
    "comms-urgent",
    "comms-moderation",
    "info-governance-sar",
    "fire-control-urgent",
    "customer-complaints",
    "zz-no-route",
)


def test_urgent_channels_first_then_statutory_then_the_rest(config: DeskConfig) -> None:
    ordered = [name for name, _ in order_channels(CHANNELS, config=config)]
    assert ordered == [
        "comms-urgent",  # round the clock (desk.yaml round_the_clock.channels)
        "fire-control-urgent",
        "info-governance-sar",  # statutory clocks
        "info-governance-foi",
        "comms-moderation",  # then in the order of the categories routed there
        "press-office",
        "customer-complaints",
        "comms-enquiries",
        "zz-no-route",  # nothing routed there
    ]


def test_order_comes_from_the_config_not_the_names(config: DeskConfig) -> None:
    watch = config.desk.round_the_clock.model_copy(
        update={"channels": ["#press-office"], "duty_channel": "#press-office"}
    )
    desk = config.desk.model_copy(update={"round_the_clock": watch})
    night = dataclasses.replace(config, desk=desk)
    ordered = order_channels(
        _names("urgent-gossip", "press-office", "comms-urgent", "info-governance-foi"),
        config=night,
    )
    assert [name for name, _ in ordered] == [
        "press-office",  # watched round the clock
        "comms-urgent",  # still takes the urgent category
        "info-governance-foi",
        "urgent-gossip",  # a name is not a route
    ]
    assert ordered[0][1].round_the_clock and not ordered[1][1].round_the_clock


def test_a_person_in_danger_lifts_any_channel_to_the_top(config: DeskConfig) -> None:
    channels = _names("info-governance-foi", "comms-enquiries", "press-office")
    themes = {channels["comms-enquiries"]: [Priority.ROUTINE, Priority.PERSON_IN_DANGER]}
    ordered = order_channels(channels, config=config, themes=themes)
    assert [name for name, _ in ordered] == [
        "comms-enquiries",
        "info-governance-foi",
        "press-office",
    ]


@pytest.fixture(scope="module")
def renderer() -> TemplateRenderer:
    return TemplateRenderer(REPO / "templates")


# (kinds, how they read)
COUNTED = [
    ([("case", 1)], "1 case"),
    ([("conversation", 2)], "2 themes"),
    ([("incident", 1), ("case", 2)], "1 incident and 2 cases"),
    ([("incident", 2), ("case", 1), ("conversation", 1)], "2 incidents, 1 case and 1 theme"),
    ([("repeat", 1), ("message", 3)], "1 repeated post and 3 messages"),
]


@pytest.mark.parametrize(("kinds", "words"), COUNTED)
def test_channel_headings_count_in_words(renderer, kinds, words: str) -> None:
    heading = renderer.render(
        "cli/demo_channel.j2",
        channel="#press-office",
        round_the_clock=False,
        statutory=False,
        kinds=kinds,
    )
    assert heading == f"*#press-office* · {words}"


def test_the_last_line_says_what_to_do_when_posts_are_missing(renderer) -> None:
    end = renderer.render(
        "cli/demo_end.j2", shown=22, expected=24, kinds=[("case", 1)], complete=False
    )
    summary, last = end.splitlines()
    assert summary == "22 of 24 posts shown in Slack, as 1 case."
    assert "Not every post reached Slack" in last and "`commsbot demo --verbose`" in last


def test_verbose_keeps_the_internals_and_still_ends_with_what_next(capsys) -> None:
    assert main(["--config-dir", str(CONFIG_DIR), "demo", "--verbose"]) == 0
    out = capsys.readouterr().out
    assert "commsbot is running at http://127.0.0.1:" in out
    assert "POST /intake with 23 sample posts -> HTTP 202: 23 accepted" in out
    assert "(/comms flag) -> HTTP 200" in out
    # Whole threads: the thread of T-0012 lists its three posts again.
    assert out.count("Bins not collected on Orchard Lane") == 2
    assert out.rstrip("\n").splitlines()[-1].startswith("Next: connect commsbot")
