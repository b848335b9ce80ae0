"""config/themes.yaml: the shipped one is valid; bad ones list every problem."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import ConfigError, load_config
from bot.core.themes import ThemeSettings
from tests.conftest import CONFIG_DIR

REQUIRED_TOPICS = {
    "bins",
    "potholes",
    "council_tax",
    "roadworks",
    "parking",
    "libraries",
    "schools",
    "smoke_alarms",
    "home_fire_safety",
    "recruitment",
    "fire_station",
    "flooding",
    "wildfire",
    "planning",
}


@pytest.fixture
def config_copy(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, target)
    return target


def test_shipped_themes_config_is_loaded_with_its_topics() -> None:
    themes = load_config(CONFIG_DIR).themes
    assert set(themes.topics.names) >= REQUIRED_TOPICS
    assert themes.conversational_categories == {"complaint", "enquiry", "general", "media"}
    assert themes.join_window == timedelta(hours=168)
    assert themes.incident_window == timedelta(hours=3)
    assert {"fire", "flood"} <= set(themes.incidents.names)


def test_without_themes_yaml_the_defaults_are_used_and_nothing_is_reported(
    config_copy: Path,
) -> None:
    (config_copy / "themes.yaml").unlink()
    config = load_config(config_copy)
    assert config.themes == ThemeSettings()
    assert not any("themes" in warning for warning in config.warnings)


def test_every_problem_in_themes_yaml_is_reported_with_file_and_key(config_copy: Path) -> None:
    path = config_copy / "themes.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace(
        "conversational_categories: [complaint, enquiry, general, media]",
        "conversational_categories: [complaint, enquiry, general, media, foi]",
    )
    text = text.replace("join_window_hours: 168", "join_window_hours: -1")
    text = text.replace("  bins: [bin, bins,", "  Bins Topic: [bin, '  ', bins,")
    text = text.replace("min_similarity: 0.3", "min_similarity: 0.3\nmin_simliarity: 0.2")
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(config_copy)
    problems = "\n".join(str(problem) for problem in caught.value.problems)
    assert "themes.yaml: conversational_categories: foi posts are individual cases" in problems
    assert "themes.yaml: join_window_hours:" in problems
    assert "themes.yaml: topics: topic 'Bins Topic' must be a short snake_case word" in problems
    assert "has a blank term" in problems
    assert "themes.yaml: min_simliarity: Extra inputs are not permitted" in problems
    assert len(caught.value.problems) >= 4


def test_a_category_cannot_be_both_conversational_and_an_incident(config_copy: Path) -> None:
    path = config_copy / "themes.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace("incident_categories: [urgent]", "incident_categories: [urgent, general]")
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match="general cannot be both conversational"):
        load_config(config_copy)


def test_broken_yaml_in_themes_yaml_names_the_file(config_copy: Path) -> None:
    (config_copy / "themes.yaml").write_text("topics: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"themes\.yaml: line \d+: not valid YAML"):
        load_config(config_copy)
