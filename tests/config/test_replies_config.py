"""replies.yaml and the reply keys of desk.yaml: valid as shipped, mistakes named clearly."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from bot.config import ConfigError, load_config
from bot.core.posts import Network
from bot.core.replies import SignOffStyle
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


def _index(rule: str) -> int:
    """Where the shipped replies.yaml has the rule called `rule`."""
    rules = yaml.safe_load((CONFIG_DIR / "replies.yaml").read_text(encoding="utf-8"))["rules"]
    return [entry["name"] for entry in rules].index(rule)


def _problems(directory: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(directory)
    return "\n".join(str(p) for p in caught.value.problems)


def test_shipped_reply_configuration() -> None:
    config = load_config(CONFIG_DIR)
    assert config.replies is not None
    assert len(config.replies.deletion_reasons) == 10
    council, fire = config.account("council"), config.account("fire")
    assert council.sign_off_style is SignOffStyle.OFFICER_FIRST_NAME
    assert fire.sign_off_style is SignOffStyle.FIXED
    assert council.contacts.foi_email == "foi@anyshire.gov.uk"
    assert fire.voice().contacts["emergency_phone"] == "999"
    # Routes that are not set are not there at all, so a template using one fails its check.
    assert "out_of_hours_phone" not in fire.voice().contacts
    rules = config.desk.reply_length.rules()
    assert (rules[Network.X].limit, rules[Network.X].weighted, rules[Network.X].url_length) == (
        280,
        True,
        23,
    )
    assert {network: rule.limit for network, rule in rules.items() if not rule.weighted} == {
        Network.FACEBOOK: 8000,
        Network.INSTAGRAM: 2200,
        Network.LINKEDIN: 1250,
        Network.YOUTUBE: 10000,
        Network.OTHER: 1000,
    }


def test_reply_keys_have_defaults(config_copy: Path) -> None:
    desk = config_copy / "desk.yaml"
    text = desk.read_text(encoding="utf-8")
    start, end = text.index("reply_length:"), text.index("outbox:")
    desk.write_text(text[:start] + text[end:], encoding="utf-8")
    config = load_config(config_copy)
    assert config.desk.reply_length.rules()[Network.X].limit == 280
    assert config.desk.reply_length.rules()[Network.FACEBOOK].limit == 8000


def test_without_replies_yaml_no_replies_are_suggested(config_copy: Path) -> None:
    (config_copy / "replies.yaml").unlink()
    config = load_config(config_copy)
    assert config.replies is None
    assert config.reply_book(Path("templates")) is None


def test_bad_contact_routes_are_each_named(config_copy: Path) -> None:
    desk = config_copy / "desk.yaml"
    _edit(desk, "foi_email: foi@anyshire.gov.uk", "foi_email: the foi team")
    _edit(
        desk,
        "complaints_form: https://www.anyshire.gov.uk/complaints",
        "complaints_form: www.anyshire.gov.uk",
    )
    _edit(desk, "phone: 0306 999 0123", "phone: ring us")
    _edit(
        desk,
        "bins: https://www.anyshire.gov.uk/bins",
        "Bins Page: https://www.anyshire.gov.uk/bins",
    )
    _edit(desk, "sign_off_style: officer_first_name", "sign_off_style: officer")
    _edit(
        desk,
        "monitoring_hours: 9am to 5pm, Monday to Friday",
        "monitoring_hours: 9-5\n      fax: 0123",
    )
    text = _problems(config_copy)
    assert "accounts.council.contacts.foi_email: 'the foi team' is not an email address" in text
    assert (
        "accounts.council.contacts.complaints_form: 'www.anyshire.gov.uk' is not a web address"
        in text
    )
    assert "accounts.council.contacts.phone: 'ring us' is not a phone number" in text
    assert "accounts.council.links: 'Bins Page' must be a short lower-case name" in text
    assert "accounts.council.sign_off_style" in text and "officer_first_name" in text
    assert "accounts.council.contacts.fax" in text


def test_reply_length_limits_must_be_positive(config_copy: Path) -> None:
    _edit(config_copy / "desk.yaml", "  x: 280\n", "  x: 0\n")
    assert "desk.yaml: reply_length.x: Input should be greater than or equal to 1" in _problems(
        config_copy
    )


def test_replies_yaml_problems_are_each_named(config_copy: Path) -> None:
    replies = config_copy / "replies.yaml"
    _edit(replies, "when: {category: foi}", "when: {category: freedom}")
    _edit(replies, "when: {topic: bins}", "when: {topic: Bins, account: police}")
    _edit(replies, "when: {deletion_reason: spam}", "when: {deletion_reason: rudeness}")
    _edit(replies, "use: [press_office]", "use: [Press Office]")
    _edit(replies, "  - name: moderation\n", "  - name: complaint\n")
    _edit(replies, "    when: {crisis: true}\n", "    when: {crisis: true, weather: stormy}\n")
    text = _problems(config_copy)
    assert re.search(
        r"replies.yaml: rule 'foi'(?: \(line \d+\))?.when.category.0: Input should be", text
    )
    assert re.search(r"rule 'topic-bins'(?: \(line \d+\))?.when.topic: 'Bins' is not a topic", text)
    assert re.search(
        r"rule 'media' \(line \d+\).use entry 1 \(line \d+\): String should match pattern", text
    )
    assert re.search(
        r"rule 'crisis-listening'(?: \(line \d+\))?.when.weather: Extra inputs are not permitted",
        text,
    )


def test_rule_consistency_problems_are_reported(config_copy: Path) -> None:
    replies = config_copy / "replies.yaml"
    _edit(replies, "when: {deletion_reason: spam}", "when: {deletion_reason: rudeness}")
    _edit(replies, "  - name: moderation\n", "  - name: complaint\n")
    text = _problems(config_copy)
    assert "'rudeness' is not one of deletion_reasons" in text
    assert "rule names must be unique: complaint" in text


def test_rules_naming_an_unknown_account_are_reported(config_copy: Path) -> None:
    _edit(
        config_copy / "replies.yaml",
        "when: {topic: bins}",
        "when: {topic: bins, account: [council, police]}",
    )
    text = _problems(config_copy)
    line = 1 + (config_copy / "replies.yaml").read_text(encoding="utf-8").splitlines().index(
        "  - name: topic-bins"
    )
    where = f"rule 'topic-bins' (line {line}).when.account"
    assert f"replies.yaml: {where}: unknown account 'police'" in text


def test_a_single_value_or_a_list_both_work(config_copy: Path) -> None:
    _edit(
        config_copy / "replies.yaml",
        "when: {topic: bins}",
        "when: {topic: [bins, recycling], network: twitter}",
    )
    config = load_config(config_copy)
    assert config.replies is not None
    rule = config.replies.table().rules[_index("topic-bins")]
    assert rule.topics == frozenset({"bins", "recycling"})
    assert rule.networks == frozenset({Network.X})
