"""Staff act on themes through buttons, modals and `/comms theme`, signed as Slack sends them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.demo.slack_requests import block_actions, view_submission
from bot.fakeslack import FakeSlack
from bot.slack.ids import Action, Field
from tests.conftest import BotUnderTest, intake_post, wait_until
from tests.e2e.views import all_shown, blocks_text, parents

ENQUIRIES = "#comms-enquiries"
STRANGER = "U0STRANGER1"
BINS = "When is the recycling centre on Mill Road open this weekend?"
POTHOLE = "How do I apply for a resident parking permit on Station Street?"


def _theme(bot: BotUnderTest, post_id: str) -> str:
    return bot.store.get_post_record(f"x:{post_id}")["theme"]


def _two_themes(bot: BotUnderTest) -> tuple[str, str]:
    bot.intake(intake_post("b1", text=BINS))
    bot.intake(intake_post("p1", text=POTHOLE))
    all_shown(bot)
    bins, pothole = _theme(bot, "b1"), _theme(bot, "p1")
    assert bins != pothole
    return bins, pothole


def _click(bot: BotUnderTest, fake: FakeSlack, action: Action, ref: str, **kwargs: Any) -> str:
    url = fake.response_url()
    body, content_type = block_actions(action.value, ref, response_url=url, **kwargs)
    assert bot.slack(body, content_type).status == 200
    return url


def _modal(bot: BotUnderTest, fake: FakeSlack, action: Action, ref: str) -> dict:
    before = len(fake.calls_to("views.open"))
    _click(bot, fake, action, ref)
    [*_, call] = fake.wait_for_calls("views.open", before + 1)
    view = call.params["view"]
    return json.loads(view) if isinstance(view, str) else view


def _submit(bot: BotUnderTest, view: dict, values: dict[str, dict], **kwargs: Any):
    body, content_type = view_submission(view, values, **kwargs)
    return bot.slack(body, content_type)


def _typed(text: str) -> dict:
    return {"type": "plain_text_input", "value": text}


def _chosen(value: str) -> dict:
    return {"type": "static_select", "selected_option": {"value": value}}


def _audit(bot: BotUnderTest, action: str) -> list[dict]:
    today = datetime.now(UTC).date()
    return [e for e in bot.store.audit_entries(today) if e.get("action") == action]


def test_close_through_the_button_and_modal_shows_it_closed_with_reopen(
    bot: BotUnderTest, fake_slack: FakeSlack
) -> None:
    bins, _ = _two_themes(bot)
    view = _modal(bot, fake_slack, Action.CLOSE, bins)
    assert view["callback_id"] == "theme_close_modal"
    assert json.loads(view["private_metadata"]) == {"ref": bins}
    reason = {"type": "radio_buttons", "selected_option": {"value": "no_reply_needed"}}
    answer = _submit(bot, view, {Field.REASON.value: reason})
    assert answer.status == 200 and not answer.body.strip(b"{} ")
    stored = bot.store.theme(bins).theme
    assert stored.status.value == "closed" and stored.close_reason.value == "no_reply_needed"
    [entry] = _audit(bot, "theme.closed")
    assert entry["by"] == "U0STAFF01" and entry["theme"] == bins and entry.get("at")
    all_shown(bot)
    [parent] = [p for p in parents(fake_slack, ENQUIRIES) if bins in blocks_text(p)]
    assert "closed (no reply needed)" in blocks_text(parent)
    assert Action.REOPEN.value in blocks_text(parent)
    assert Action.CLAIM.value not in blocks_text(parent)
    _click(bot, fake_slack, Action.REOPEN, bins)
    wait_until(lambda: bot.store.theme(bins).theme.is_open, what="theme reopened")


def test_claim_makes_the_clicker_the_owner(bot: BotUnderTest, fake_slack: FakeSlack) -> None:
    bins, _ = _two_themes(bot)
    _click(bot, fake_slack, Action.CLAIM, bins)
    wait_until(lambda: bot.store.theme(bins).theme.owner == "U0STAFF01", what="claimed")
    all_shown(bot)
    [parent] = [p for p in parents(fake_slack, ENQUIRIES) if bins in blocks_text(p)]
    assert "owner <@U0STAFF01>" in blocks_text(parent)
    assert _audit(bot, "theme.claimed")[0]["by"] == "U0STAFF01"


def test_merge_through_the_modal_and_a_bad_target_is_a_field_error(
    bot: BotUnderTest, fake_slack: FakeSlack
) -> None:
    bins, pothole = _two_themes(bot)
    view = _modal(bot, fake_slack, Action.MERGE, pothole)
    wrong = _submit(bot, view, {Field.TARGET.value: _typed("T-9999")})
    assert wrong.json()["response_action"] == "errors"
    assert "no theme T-9999" in wrong.json()["errors"][Field.TARGET.value]
    assert bot.store.theme(pothole).theme.is_open
    assert _submit(bot, view, {Field.TARGET.value: _typed(bins.lower())}).status == 200
    assert bot.store.theme(pothole).theme.merged_into == bins
    assert _theme(bot, "p1") == bins
    assert bot.store.theme(bins).theme.post_count == 2
    assert _audit(bot, "theme.merged")[0]["by"] == "U0STAFF01"


def test_move_a_post_to_a_new_theme_through_the_modal(
    bot: BotUnderTest, fake_slack: FakeSlack
) -> None:
    bins, pothole = _two_themes(bot)
    assert bot.command(f"theme {pothole} merge into {bins}").status == 200
    view = _modal(bot, fake_slack, Action.MOVE, bins)
    options = [o["value"] for o in view["blocks"][1]["element"]["options"]]
    assert sorted(options) == ["x:b1", "x:p1"]
    answer = _submit(bot, view, {Field.POST.value: _chosen("x:p1"), Field.TARGET.value: _typed("")})
    assert answer.status == 200
    moved_to = _theme(bot, "p1")
    assert moved_to not in (bins, pothole)
    assert bot.store.theme(bins).theme.post_count == 1
    assert _audit(bot, "theme.post_moved")[0]["to"] == moved_to


def test_recategorise_a_theme_moves_it_and_keeps_a_labelled_example(
    bot: BotUnderTest, fake_slack: FakeSlack
) -> None:
    bins, _ = _two_themes(bot)
    view = _modal(bot, fake_slack, Action.RECATEGORISE, bins)
    answer = _submit(
        bot, view, {Field.POST.value: _chosen("*"), Field.CATEGORY.value: _chosen("complaint")}
    )
    assert answer.status == 200
    assert bot.store.get_post_record("x:b1")["category"] == "complaint"
    all_shown(bot)
    assert any(bins in blocks_text(p) for p in parents(fake_slack, "#customer-complaints"))
    [old] = [p for p in parents(fake_slack, ENQUIRIES) if bins in blocks_text(p)]
    assert "moved to" in blocks_text(old)
    [label] = bot.store.labels(datetime.now(UTC))
    assert label["text"] == BINS and label["by"] == "U0STAFF01"
    assert (label["old_category"], label["new_category"]) == ("enquiry", "complaint")
    assert (bot.runtime.settings.data_dir / "labels").is_dir()


def test_someone_not_on_the_desk_is_refused_politely_and_nothing_changes(
    bot: BotUnderTest, fake_slack: FakeSlack
) -> None:
    bins, _ = _two_themes(bot)
    url = _click(bot, fake_slack, Action.CLAIM, bins, user_id=STRANGER)
    wait_until(lambda: fake_slack.responses(url), what="the refusal")
    [reply] = fake_slack.responses(url)
    assert reply["response_type"] == "ephemeral"
    assert "only desk members" in reply["text"] and "nothing was changed" in reply["text"]
    answer = bot.command(f"theme {bins} close spam", user_id=STRANGER)
    assert "only desk members" in answer.json()["text"]
    opened = len(fake_slack.calls_to("views.open"))
    _click(bot, fake_slack, Action.MERGE, bins, user_id=STRANGER)
    wait_until(lambda: len(fake_slack.responses()) >= 2, what="the second refusal")
    assert len(fake_slack.calls_to("views.open")) == opened
    theme = bot.store.theme(bins).theme
    assert theme.owner is None and theme.is_open
    assert not any(e["action"].startswith("theme.") for e in _audit_all(bot))


def _audit_all(bot: BotUnderTest) -> list[dict]:
    return bot.store.audit_entries(datetime.now(UTC).date())


@pytest.mark.parametrize(
    ("command", "expect"),
    [
        ("{bins} claim", lambda t: t.owner == "U0STAFF01"),
        (
            "{bins} close duplicate",
            lambda t: t.close_reason and t.close_reason.value == "duplicate",
        ),
        ("{bins} recategorise media", lambda t: t.category == "media"),
    ],
)
def test_theme_commands_act_like_the_buttons(bot: BotUnderTest, command: str, expect: Any) -> None:
    bins, _ = _two_themes(bot)
    answer = bot.command("theme " + command.format(bins=bins))
    assert answer.json()["response_type"] == "ephemeral"
    assert bins in answer.json()["text"]
    assert expect(bot.store.theme(bins).theme)


def test_theme_commands_move_and_merge_and_explain_mistakes(bot: BotUnderTest) -> None:
    bins, pothole = _two_themes(bot)
    assert "was merged into" in bot.command(f"theme {pothole} merge {bins}").json()["text"]
    text = bot.command(f"theme {bins} move x:p1 to new").json()["text"]
    assert "moved to" in text and _theme(bot, "p1") not in (bins, pothole)
    assert "not a theme reference" in bot.command("theme bins close spam").json()["text"]
    assert "Close it why" in bot.command(f"theme {bins} close whatever").json()["text"]
    assert "already closed" in bot.command(f"theme {pothole} close spam").json()["text"]


def test_a_member_of_a_desk_user_group_may_act(
    start_bot, config_dir, fake_slack: FakeSlack
) -> None:
    desk = config_dir / "desk.yaml"
    desk.write_text(desk.read_text().replace("usergroups: []", "usergroups: [S0DESKGRP1]", 1))
    fake_slack.set_usergroup_members("S0DESKGRP1", ["U0GROUPIE1"])
    bot = start_bot()
    bins, _ = _two_themes(bot)
    answer = bot.command(f"theme {bins} claim", user_id="U0GROUPIE1")
    assert "You own" in answer.json()["text"]
    assert bot.store.theme(bins).theme.owner == "U0GROUPIE1"
