"""A desk member of one account acts on another account's theme through every door (the
theme buttons, forged modal metadata, `/comms` subcommands): each is refused, nothing changes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.demo.slack_requests import block_actions, view_submission
from bot.fakeslack import FakeSlack
from bot.slack.ids import Action, Field, Modal
from tests.conftest import BotUnderTest, intake_post, wait_until
from tests.e2e.views import all_shown

FIRE_ONLY = "U0FIREONLY"
COUNCIL_TEXT = "When is the recycling centre on Mill Road open this weekend?"
FIRE_TEXT = "How do I book a home fire safety visit for my mum?"
FOI_TEXT = "Under the Freedom of Information Act, how much did the council spend on taxis?"


@pytest.fixture
def config_dir(config_dir: Path) -> Path:
    """The fire service's desk is one person, who is not on the council's desk."""
    desk = config_dir / "desk.yaml"
    text = desk.read_text(encoding="utf-8")
    marker = "    members: {users: [U0STAFF01], usergroups: []}"
    first = text.index(marker)
    second = text.index(marker, first + 1)
    fire = marker.replace("U0STAFF01", FIRE_ONLY)
    desk.write_text(text[:second] + fire + text[second + len(marker) :], encoding="utf-8")
    return config_dir


@pytest.fixture
def themes(bot: BotUnderTest) -> tuple[str, str, str]:
    """(a council theme, a council FOI theme, a fire theme)."""
    bot.intake(intake_post("c1", text=COUNCIL_TEXT))
    bot.intake(intake_post("c2", text=FOI_TEXT))
    bot.intake(intake_post("f1", text=FIRE_TEXT, account="fire"))
    all_shown(bot)
    refs = tuple(bot.store.get_post_record(f"x:{key}")["theme"] for key in ("c1", "c2", "f1"))
    assert bot.store.theme(refs[2]).theme.account == "fire"
    return refs  # type: ignore[return-value]


def _state(bot: BotUnderTest, ref: str) -> tuple:
    stored = bot.store.theme(ref)
    return stored.theme, stored.clock, stored.escalations


@pytest.mark.parametrize("action", list(Action), ids=lambda a: a.value)
def test_buttons_on_another_accounts_theme_are_refused(
    bot: BotUnderTest, fake_slack: FakeSlack, themes: tuple[str, str, str], action: Action
) -> None:
    council, _, _ = themes
    before = _state(bot, council)
    url = fake_slack.response_url()
    body, content_type = block_actions(action.value, council, user_id=FIRE_ONLY, response_url=url)
    assert bot.slack(body, content_type).status == 200
    wait_until(lambda: fake_slack.responses(url), what="the refusal")
    assert "only desk members" in fake_slack.responses(url)[0]["text"]
    assert fake_slack.calls_to("views.open") == []
    assert _state(bot, council) == before


def _forged(modal: Modal, ref: str, fields: list[str]) -> dict:
    """A modal as Slack would send it back, its metadata naming theme `ref`."""
    return {
        "id": "V0FORGED1",
        "type": "modal",
        "callback_id": modal.value,
        "private_metadata": json.dumps({"ref": ref}),
        "blocks": [{"type": "input", "block_id": field} for field in fields],
    }


@pytest.mark.parametrize(
    ("modal", "values"),
    [
        (
            Modal.CLOSE,
            {Field.REASON.value: {"type": "radio_buttons", "selected_option": {"value": "spam"}}},
        ),
        (Modal.MERGE, {Field.TARGET.value: {"type": "plain_text_input", "value": "{fire}"}}),
        (
            Modal.MOVE,
            {
                Field.POST.value: {"type": "static_select", "selected_option": {"value": "x:c1"}},
                Field.TARGET.value: {"type": "plain_text_input", "value": "new"},
            },
        ),
        (
            Modal.RECATEGORISE,
            {
                Field.POST.value: {"type": "static_select", "selected_option": {"value": "*"}},
                Field.CATEGORY.value: {
                    "type": "static_select",
                    "selected_option": {"value": "media"},
                },
            },
        ),
    ],
    ids=lambda v: v.value if isinstance(v, Modal) else "",
)
def test_a_modal_whose_metadata_names_another_accounts_theme_changes_nothing(
    bot: BotUnderTest, themes: tuple[str, str, str], modal: Modal, values: dict
) -> None:
    council, _, fire = themes
    values = json.loads(json.dumps(values).replace("{fire}", fire))
    before = _state(bot, council), _state(bot, fire)
    body, content_type = view_submission(
        _forged(modal, council, list(values)), values, user_id=FIRE_ONLY
    )
    answer = bot.slack(body, content_type)
    assert answer.status == 200
    assert answer.json()["response_action"] == "errors"
    assert (_state(bot, council), _state(bot, fire)) == before


@pytest.mark.parametrize(
    ("modal", "values"),
    [
        (Modal.MERGE, {Field.TARGET.value: {"type": "plain_text_input", "value": "{council}"}}),
        (
            Modal.MOVE,
            {
                Field.POST.value: {"type": "static_select", "selected_option": {"value": "x:c1"}},
                Field.TARGET.value: {"type": "plain_text_input", "value": "new"},
            },
        ),
        (
            Modal.RECATEGORISE,
            {
                Field.POST.value: {"type": "static_select", "selected_option": {"value": "x:c1"}},
                Field.CATEGORY.value: {
                    "type": "static_select",
                    "selected_option": {"value": "media"},
                },
            },
        ),
    ],
    ids=lambda v: v.value if isinstance(v, Modal) else "",
)
def test_an_own_themes_modal_cannot_reach_another_accounts_theme_or_post(
    bot: BotUnderTest, themes: tuple[str, str, str], modal: Modal, values: dict
) -> None:
    council, _, fire = themes
    values = json.loads(json.dumps(values).replace("{council}", council))
    before = _state(bot, council), _state(bot, fire)
    body, content_type = view_submission(
        _forged(modal, fire, list(values)), values, user_id=FIRE_ONLY
    )
    answer = bot.slack(body, content_type)
    assert answer.json()["response_action"] == "errors"
    assert (_state(bot, council), _state(bot, fire)) == before
    assert bot.store.get_post_record("x:c1")["theme"] == council


@pytest.mark.parametrize(
    "command",
    [
        "theme {council} claim",
        "theme {council} close spam",
        "theme {council} recategorise media",
        "theme {council} move x:c1 to new",
        "theme {fire} merge {council}",
        "theme {fire} move x:c1 to new",
        "assign {council} <@U0FIREONLY>",
        "escalate {council} foi_lead",
        "answered {council}",
        "sar pause {foi} identity",
        "sar extend {foi} 2",
        "crisis start flooding",
        "outbox retry all",
    ],
)
def test_commands_on_another_accounts_themes_are_refused(
    bot: BotUnderTest, themes: tuple[str, str, str], command: str
) -> None:
    council, foi, fire = themes
    before = [_state(bot, ref) for ref in themes]
    text = command.format(council=council, foi=foi, fire=fire)
    answer = bot.command(text, user_id=FIRE_ONLY).json()
    assert answer["response_type"] == "ephemeral"
    assert [_state(bot, ref) for ref in themes] == before
    assert bot.store.crisis() is None
    assert not any(
        e.get("by") == FIRE_ONLY for e in bot.store.audit_entries(datetime.now(UTC).date())
    ), answer["text"]
