"""`commsbot check-config --slack` against the fake Slack: channels, membership, scopes, users."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.cli import main
from bot.fakeslack import FakeSlack
from bot.fakeslack.server import DEFAULT_SCOPES
from bot.slack.client import listener_client
from bot.slack.preflight import Reference, References, check_slack
from tests.conftest import BOT_TOKEN, CONFIG_DIR, REPO

# Every channel the shipped desk.yaml names, as a workspace that has them all.
CHANNELS = {
    "comms-urgent": "C0URGENT01",
    "info-governance-foi": "C0FOI00001",
    "info-governance-sar": "C0SAR00001",
    "customer-complaints": "C0COMPL001",
    "press-office": "C0PRESS001",
    "comms-moderation": "C0MODER001",
    "comms-enquiries": "C0ENQUI001",
    "fire-control-urgent": "C0FURGE001",
    "fire-complaints": "C0FCOMP001",
    "fire-moderation": "C0FMODE001",
    "fire-enquiries": "C0FENQU001",
    "comms-desk-alerts": "C0ALERT001",
}
OFFICER_IDS = [f"U0EXAMPLE0{n}" for n in range(1, 9)]


def _check(
    fake: FakeSlack, monkeypatch, capsys, config_dir: Path = CONFIG_DIR
) -> tuple[int, str, str]:
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("SLACK_API_URL", fake.url)
    status = main(["--config-dir", str(config_dir), "check-config", "--slack"])
    out, err = capsys.readouterr()
    return status, out, err


def test_a_workspace_with_everything_passes(monkeypatch, capsys) -> None:
    with FakeSlack(bot_token=BOT_TOKEN, channels=CHANNELS, auto_create_channels=False) as fake:
        status, out, err = _check(fake, monkeypatch, capsys)
        assert {call.method for call in fake.calls} >= {
            "auth.test",
            "conversations.list",
            "users.info",
        }
    assert status == 0, err
    assert "Slack (Comms Desk as commsbot): 0 problem(s), 0 warning(s)" in out


def test_missing_channel_private_channel_without_the_bot_and_missing_scope(
    monkeypatch, capsys
) -> None:
    public = {
        name: id_
        for name, id_ in CHANNELS.items()
        if name not in {"customer-complaints", "info-governance-sar"}
    }
    with FakeSlack(
        bot_token=BOT_TOKEN,
        channels=public,
        private_channels={"info-governance-sar": "G0SAR00001"},
        not_member=["#info-governance-sar", "#press-office"],
        scopes=[s for s in DEFAULT_SCOPES if s != "chat:write.public"],
        auto_create_channels=False,
    ) as fake:
        status, out, err = _check(fake, monkeypatch, capsys)
    assert status == 1
    assert "4 problem(s)" in out
    problems = [line.strip() for line in err.splitlines() if line.strip().startswith("problem:")]
    # The missing channel, named by its key, with the fix.
    assert any(
        "desk.yaml: accounts.council.channels.complaint (#customer-complaints)" in p
        and "create it or correct the name" in p
        for p in problems
    ), problems
    # The private channel the bot is not in: every key that names it, once.
    sar = [p for p in problems if "#info-governance-sar" in p]
    assert len(sar) == 1
    assert (
        "accounts.council.channels.subject_access, accounts.fire.channels.subject_access" in sar[0]
    )
    assert "/invite @commsbot" in sar[0]
    # The scope the token lacks, what needs it, and how to get it.
    scope = [p for p in problems if p.startswith("problem: manifest.yml")]
    assert len(scope) == 1 and "the token lacks the scope chat:write.public" in scope[0]
    assert "public channels commsbot has not joined" in scope[0] and "Reinstall" in scope[0]
    # A public channel the bot is not in cannot be posted in without that scope.
    assert any("#press-office" in p and "lacks chat:write.public" in p for p in problems)


def test_a_public_channel_without_the_bot_is_a_warning_with_the_scope(monkeypatch, capsys) -> None:
    with FakeSlack(bot_token=BOT_TOKEN, channels=CHANNELS, not_member=["#press-office"]) as fake:
        status, out, _ = _check(fake, monkeypatch, capsys)
    assert status == 0
    assert "0 problem(s), 1 warning(s)" in out
    assert (
        "warning: desk.yaml: accounts.council.channels.media, accounts.fire.channels.media (#press-office)"
        in out
    )


def test_an_officer_who_is_not_in_slack_is_named(monkeypatch, capsys) -> None:
    with FakeSlack(bot_token=BOT_TOKEN, channels=CHANNELS, users=OFFICER_IDS[1:]) as fake:
        status, _, err = _check(fake, monkeypatch, capsys)
    assert status == 1
    assert (
        "officers.yaml: officers.head_of_comms.slack_user_id (U0EXAMPLE01): no Slack user has this ID"
        in err
    )
    assert "Copy member ID" in err


def test_a_refused_token_is_one_problem(monkeypatch, capsys) -> None:
    with FakeSlack(bot_token="xoxb-another-token", channels=CHANNELS) as fake:
        status, _, err = _check(fake, monkeypatch, capsys)
    assert status == 1
    assert "SLACK_BOT_TOKEN: Slack refused the token (invalid_auth)" in err


def test_user_groups_are_looked_up_by_handle() -> None:
    refs = References(
        usergroups=(
            Reference("@comms-approvers", ("replies.yaml: approvers.council",)),
            Reference("@nobody-here", ("replies.yaml: approvers.fire",)),
        )
    )
    scopes = [*DEFAULT_SCOPES, "usergroups:read"]
    with FakeSlack(
        bot_token=BOT_TOKEN, usergroups={"comms-approvers": "S0APPROVE1"}, scopes=scopes
    ) as fake:
        report = check_slack(
            listener_client(token=BOT_TOKEN, base_url=fake.url), refs, manifest=set(scopes)
        )
    assert [str(f) for f in report.problems] == [
        "problem: replies.yaml: approvers.fire (@nobody-here): no user group with this handle or "
        "ID in the workspace. Fix: create it in Slack (People → User groups) or correct it here"
    ]


def test_the_fake_reports_the_manifest_scopes() -> None:
    manifest = yaml.safe_load((REPO / "manifest.yml").read_text(encoding="utf-8"))
    assert sorted(manifest["oauth_config"]["scopes"]["bot"]) == sorted(DEFAULT_SCOPES)


@pytest.mark.parametrize(
    "types", ["public_channel", "private_channel", "public_channel,private_channel"]
)
def test_the_fake_lists_channels_by_type_page_by_page(types: str) -> None:
    with FakeSlack(
        bot_token=BOT_TOKEN,
        channels={"a": "C0A0000001", "b": "C0B0000001", "c": "C0C0000001"},
        private_channels={"p": "G0P0000001", "q": "G0Q0000001"},
        not_member=["#q"],
    ) as fake:
        client = listener_client(token=BOT_TOKEN, base_url=fake.url)
        names, cursor = [], None
        while True:
            page = client.conversations_list(types=types, limit=2, cursor=cursor)
            names += [c["name"] for c in page["channels"]]
            cursor = page["response_metadata"]["next_cursor"]
            if not cursor:
                break
    expected = {"public_channel": ["a", "b", "c"], "private_channel": ["p"]}
    assert names == expected.get(types, ["a", "b", "c", "p"])  # q: private, the bot is not in it


def test_desk_members_admins_approvers_and_intake_channels_are_checked(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    import shutil

    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)
    desk = yaml.safe_load((config / "desk.yaml").read_text(encoding="utf-8"))
    desk["accounts"]["council"]["members"] = {"users": ["U0STAFF01"], "usergroups": ["S0NOSUCH1"]}
    desk["intake_channels"] = {"#monitoring-alerts": "council"}
    (config / "desk.yaml").write_text(yaml.safe_dump(desk), encoding="utf-8")
    known = [*OFFICER_IDS, "U0APPROVE1", "U0APPROVE2", "U0APPROVE3", "U0HEADCOMMS"]
    scopes = [*DEFAULT_SCOPES, "usergroups:read"]
    with FakeSlack(bot_token=BOT_TOKEN, channels=CHANNELS, users=known, scopes=scopes) as fake:
        status, _, err = _check(fake, monkeypatch, capsys, config_dir=config)
    assert status == 1
    assert "desk.yaml: accounts.council.members.usergroups (S0NOSUCH1)" in err
    assert "(U0STAFF01): no Slack user has this ID" in err  # members and admins both name it
    assert "desk.yaml: admins.users" in err
    assert "desk.yaml: intake_channels.#monitoring-alerts (#monitoring-alerts)" in err


def test_a_public_intake_channel_without_the_bot_is_a_problem(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    import shutil

    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)
    desk = yaml.safe_load((config / "desk.yaml").read_text(encoding="utf-8"))
    desk["intake_channels"] = {"#monitoring": "council"}
    (config / "desk.yaml").write_text(yaml.safe_dump(desk), encoding="utf-8")
    channels = CHANNELS | {"monitoring": "C0MONIT001"}
    with FakeSlack(bot_token=BOT_TOKEN, channels=channels, not_member=["#monitoring"]) as fake:
        status, _, err = _check(fake, monkeypatch, capsys, config_dir=config)
    assert status == 1
    assert (
        "intake_channels.#monitoring (#monitoring): commsbot is not in this intake channel" in err
    )
