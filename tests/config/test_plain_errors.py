"""Configuration problems said plainly: quoting #channels, rules by name and line, misnamed
files, and every problem once."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import ConfigError, load_config
from tests.conftest import CONFIG_DIR


@pytest.fixture
def config_copy(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, target)
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _problems(config_dir: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(config_dir)
    return [str(problem) for problem in caught.value.problems]


@pytest.mark.parametrize(
    ("old", "new", "key", "written"),
    [
        (
            '      urgent: "#comms-urgent"',
            "      urgent: #comms-urgent",
            "accounts.council.channels.urgent",
            "#comms-urgent",
        ),
        # Optional, so YAML's empty value would otherwise pass silently: no alerts anywhere.
        (
            'alerts_channel: "#comms-desk-alerts"',
            "alerts_channel: #comms-desk-alerts",
            "alerts_channel",
            "#comms-desk-alerts",
        ),
        (
            '  channels: ["#comms-urgent", "#fire-control-urgent"]',
            '  channels:\n    - #comms-urgent\n    - "#fire-control-urgent"',
            "round_the_clock.channels entry 1 (line 131)",
            "#comms-urgent",
        ),
    ],
)
def test_an_unquoted_channel_gets_a_hint_to_quote_it(
    config_copy: Path, old: str, new: str, key: str, written: str
) -> None:
    _edit(config_copy / "desk.yaml", old, new)
    problems = [p for p in _problems(config_copy) if written in p]
    assert len(problems) == 1, problems  # once: not again as "Input should be a valid string"
    assert f"desk.yaml: {key}: is empty: YAML reads {written} after it as a comment" in problems[0]
    assert f'Put the channel in quotes: "{written}"' in problems[0]


def test_an_unquoted_channel_in_brackets_gets_the_same_hint(config_copy: Path) -> None:
    _edit(
        config_copy / "desk.yaml",
        '  channels: ["#comms-urgent", "#fire-control-urgent"]',
        '  channels: [#comms-urgent, "#fire-control-urgent"]',
    )
    (problem,) = _problems(config_copy)
    assert "desk.yaml: line 130: a # inside [...] or {...} starts a comment in YAML" in problem
    assert 'put each channel in quotes, e.g. ["#comms-urgent"' in problem


def test_a_rule_is_named_with_its_line_not_its_position(config_copy: Path) -> None:
    rules = config_copy / "rules.yaml"
    lines = rules.read_text(encoding="utf-8").splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("  - name: "))
    name = lines[first].split("name: ", 1)[1].strip()
    lines.insert(first + 1, "    accounts: [police]")
    rules.write_text("\n".join(lines) + "\n", encoding="utf-8")
    problems = _problems(config_copy)
    assert (
        f"rules.yaml: rule '{name}' (line {first + 1}).accounts: unknown account 'police'"
        in "\n".join(problems)
    )
    assert not any("rules.0" in p for p in problems)


def test_a_misnamed_rules_file_is_spotted_once(config_copy: Path, capsys) -> None:
    (config_copy / "rules.yaml").rename(config_copy / "rules.yml")
    assert main(["--config-dir", str(config_copy), "check-config"]) == 1
    err = capsys.readouterr().err
    assert (
        "rules.yaml: file is missing, but there is rules.yml beside it: rename it to rules.yaml"
        in err
    )
    assert err.count("rules.yml") == 1  # not again as a stray-file warning


def test_no_problem_is_printed_twice(config_copy: Path, capsys) -> None:
    _edit(config_copy / "desk.yaml", "default_account: council", "default_account: county")
    assert main(["--config-dir", str(config_copy), "check-config"]) == 1
    err = capsys.readouterr().err
    assert "1 problem(s)" in err
    assert err.count("default_account 'county' is not one of the accounts") == 1


@pytest.mark.parametrize(
    ("file", "old", "new", "key", "lines"),
    [
        # The second urgent route silently replaced the first: urgent posts to enquiries.
        (
            "desk.yaml",
            '      unsorted: "#comms-enquiries"',
            '      unsorted: "#comms-enquiries"\n      urgent: "#comms-enquiries"',
            "accounts.council.channels.urgent",
            "lines 47 and 56",
        ),
        # A second source of the same name replaced the first whole.
        (
            "sources.yaml",
            "  smm-inbox:",
            "  monitoring:",
            "sources.monitoring",
            "lines 44 and 78",
        ),
    ],
)
def test_a_key_given_twice_is_a_problem_not_the_last_one_silently(
    config_copy: Path, file: str, old: str, new: str, key: str, lines: str
) -> None:
    _edit(config_copy / file, old, new)
    problems = [p for p in _problems(config_copy) if "given twice" in p]
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{config_copy / file}: {key}: given twice ({lines})")
    assert "keeps only the last" in problems[0]


def test_a_file_saved_in_another_encoding_is_named_not_a_traceback(config_copy: Path) -> None:
    # Windows editors may save "£" as the single byte 0xA3 (cp1252), which is not UTF-8.
    desk = config_copy / "desk.yaml"
    text = desk.read_text(encoding="utf-8").replace("Stay Safe", "Stay Safe £")
    desk.write_bytes(text.encode("cp1252"))
    line = next(n for n, row in enumerate(text.splitlines(), 1) if "£" in row)
    problems = _problems(config_copy)
    assert problems == [f"{desk}: line {line}: not UTF-8 text (byte 0xa3): save the file as UTF-8"]
