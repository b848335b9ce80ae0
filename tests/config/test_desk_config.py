"""Loading the config directory: the shipped one is valid; bad ones list every problem."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.config import ConfigError, load_config
from bot.core.posts import Category
from tests.conftest import CONFIG_DIR


@pytest.fixture
def config_copy(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, target)
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_shipped_config_is_valid_with_two_accounts() -> None:
    config = load_config(CONFIG_DIR)
    assert set(config.desk.accounts) == {"council", "fire"}
    assert config.desk.timezone == "Europe/London"
    assert config.routing.channel_for("council", Category.FOI) == "#info-governance-foi"
    assert config.account("fire").sign_off.startswith("Stay Safe")


def test_every_problem_is_reported_with_file_and_key(config_copy: Path) -> None:
    desk = config_copy / "desk.yaml"
    _edit(desk, "timezone: Europe/London", "timezone: Europe/Londn")
    _edit(desk, 'foi: "#info-governance-foi"', 'foi: "Info Governance"')
    _edit(desk, "default_account: council", "default_account: police")
    _edit(desk, 'alerts_channel: "#comms-desk-alerts"', 'alerts_channel: "Desk Alerts"')
    _edit(desk, "max_body_bytes: 1048576", "max_body_bytes: 1048576\n  max_bodies: 3")
    with pytest.raises(ConfigError) as caught:
        load_config(config_copy)
    text = "\n".join(str(p) for p in caught.value.problems)
    assert "desk.yaml: timezone: unknown time zone 'Europe/Londn'" in text
    assert "accounts.council.channels" in text and "'Info Governance' is not a channel" in text
    assert "default_account 'police' is not one of the accounts" in text
    assert "intake.max_bodies" in text
    assert "desk.yaml: alerts_channel: 'Desk Alerts' is not a channel" in text
    assert len(caught.value.problems) >= 5


def test_missing_route_is_named(config_copy: Path) -> None:
    _edit(
        config_copy / "desk.yaml",
        '      media: "#press-office"\n',
        "",
    )
    with pytest.raises(ConfigError, match="no channel for media"):
        load_config(config_copy)


def test_yaml_syntax_error_names_the_line(config_copy: Path) -> None:
    (config_copy / "rules.yaml").write_text("rules:\n  - name: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(config_copy)
    [problem] = caught.value.problems
    assert problem.file.endswith("rules.yaml")
    assert "not valid YAML" in problem.message


def test_rules_naming_an_unknown_account_are_reported(config_copy: Path) -> None:
    rules = config_copy / "rules.yaml"
    rules.write_text(
        rules.read_text(encoding="utf-8")
        + "\n  - name: police-only\n    category: enquiry\n    any: [custody]\n    accounts: [police]\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="unknown account 'police'"):
        load_config(config_copy)


def test_missing_directory_and_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nowhere")
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    assert {p.file.rsplit("/", 1)[-1] for p in caught.value.problems} == {"desk.yaml", "rules.yaml"}


def test_urgent_routes_must_be_watched_round_the_clock(config_copy: Path) -> None:
    desk = config_copy / "desk.yaml"
    _edit(
        desk,
        'channels: ["#comms-urgent", "#fire-control-urgent"]',
        'channels: ["#fire-control-urgent"]',
    )
    with pytest.raises(ConfigError) as caught:
        load_config(config_copy)
    text = "\n".join(str(p) for p in caught.value.problems)
    assert "urgent posts of council (#comms-urgent) would wait in a channel nobody watches" in text
    assert "round_the_clock.duty_channel" in text


def test_a_duty_channel_covers_urgent_routes_watched_9_to_5(config_copy: Path) -> None:
    desk = config_copy / "desk.yaml"
    _edit(
        desk,
        'channels: ["#comms-urgent", "#fire-control-urgent"]',
        'channels: ["#fire-control-urgent", "#duty"]\n  duty_channel: "#duty"',
    )
    routing = load_config(config_copy).routing
    assert routing.also_for(Category.URGENT, "#comms-urgent") == ("#duty",)
    assert routing.also_for(Category.URGENT, "#fire-control-urgent") == ()


def test_the_duty_channel_must_itself_be_watched(config_copy: Path) -> None:
    _edit(
        config_copy / "desk.yaml",
        "  # duty_channel:",
        '  duty_channel: "#duty"\n  #',
    )
    with pytest.raises(ConfigError, match="duty_channel #duty must be one of"):
        load_config(config_copy)


def test_unsorted_posts_have_a_route_on_every_account() -> None:
    config = load_config(CONFIG_DIR)
    assert config.routing.channel_for("council", Category.UNSORTED) == "#comms-enquiries"
    assert config.desk.personal_data.mask_in_slack is True
    assert config.desk.moderation.suggest_block_after == 3


def test_an_account_with_no_desk_members_fails_safe_with_a_warning(config_copy: Path) -> None:
    desk = config_copy / "desk.yaml"
    text = desk.read_text(encoding="utf-8")
    desk.write_text(
        text.replace("members: {users: [U0STAFF01], usergroups: []}", "members: {}", 1).replace(
            "admins:\n  users: [U0STAFF01]", "admins:\n  users: []"
        ),
        encoding="utf-8",
    )
    config = load_config(config_copy)
    assert config.desk.accounts["council"].members.people().is_empty
    [members] = [w for w in config.warnings if "accounts.council.members" in w]
    assert "nobody may act" in members
    assert any(w.startswith("admins: nobody is named") for w in config.warnings)
    assert not any("accounts.fire.members" in w for w in config.warnings)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("users: [U0STAFF01], usergroups: []", "users: [alice]", "accounts.council.members.users"),
        (
            '# intake_channels:\n#   "#social-monitoring": council',
            'intake_channels: {"#mon": police}',
            "not an account",
        ),
    ],
)
def test_bad_people_and_intake_channels_are_named(
    config_copy: Path, old: str, new: str, expected: str
) -> None:
    _edit(config_copy / "desk.yaml", old, new)
    with pytest.raises(ConfigError) as raised:
        load_config(config_copy)
    assert expected in str(raised.value)
