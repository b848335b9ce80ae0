"""The command line: check-config, triage and demo, as a person runs them."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from tests.conftest import CONFIG_DIR, REPO, intake_post


def test_check_config_accepts_the_shipped_config(capsys) -> None:
    assert main(["--config-dir", str(CONFIG_DIR), "check-config"]) == 0
    assert "OK: 2 account(s) (council, fire)" in capsys.readouterr().out


def test_check_config_lists_every_problem(tmp_path: Path, capsys) -> None:
    (tmp_path / "desk.yaml").write_text("timezone: Mars/Olympus\naccounts: {}\n", encoding="utf-8")
    assert main(["--config-dir", str(tmp_path), "check-config"]) == 1
    err = capsys.readouterr().err
    assert "desk.yaml: timezone: unknown time zone 'Mars/Olympus'" in err
    assert "desk.yaml: default_account: Field required" in err
    assert "desk.yaml: accounts:" in err
    assert "rules.yaml: file is missing" in err


def _posts_file(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "posts.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_triage_jsonl_reports_each_post_and_bad_lines(tmp_path: Path, capsys) -> None:
    path = _posts_file(
        tmp_path,
        [
            json.dumps(intake_post("1", text="How much did the council spend on taxis last year?")),
            "{broken",
            json.dumps(
                intake_post(
                    "3", account="fire", text="help my neighbour is trapped upstairs, fire!"
                )
            ),
            json.dumps(intake_post("4") | {"posted_at": "yesterday"}),
        ],
    )
    status = main(["--config-dir", str(CONFIG_DIR), "triage", "--format", "jsonl", str(path)])
    out, err = capsys.readouterr()
    assert status == 1
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["id"], r["category"], r["channel"]) for r in rows] == [
        ("1", "foi", "#info-governance-foi"),
        ("3", "urgent", "#fire-control-urgent"),
    ]
    assert all({"theme", "flags", "rule"} <= r.keys() and r["theme"] is None for r in rows)
    assert "line 2: not valid JSON" in err
    assert "line 4: posted_at:" in err


def test_triage_table_from_stdin(monkeypatch, capsys) -> None:
    body = json.dumps([intake_post("9", text="When does the tip open on Sunday?")]).encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(body)))
    assert main(["--config-dir", str(CONFIG_DIR), "triage", "-"]) == 0
    out = capsys.readouterr().out
    assert "enquiry" in out and "#comms-enquiries" in out and "item 1" in out


def test_triage_of_a_missing_file_says_so(capsys) -> None:
    assert main(["--config-dir", str(CONFIG_DIR), "triage", "/no/such/file.jsonl"]) == 2
    assert "cannot read /no/such/file.jsonl" in capsys.readouterr().err


def test_demo_shows_every_channel_and_exits_zero(capsys) -> None:
    assert main(["--config-dir", str(CONFIG_DIR), "demo"]) == 0
    out = capsys.readouterr().out
    assert "#info-governance-foi" in out and "#fire-control-urgent" in out
    assert "20 of 20 messages delivered" in out


def test_serve_names_missing_settings_without_starting(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "serve"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "SLACK_BOT_TOKEN is not set" in result.stderr
    assert "COMMSBOT_INTAKE_SECRET is not set" in result.stderr


@pytest.mark.parametrize("argv", [["--help"], ["triage", "--help"]])
def test_help(argv: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 0
    assert "commsbot" in capsys.readouterr().out


def test_readme_commands_are_the_ones_ci_runs() -> None:
    import re

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    demo, tests = re.findall(r"```sh\n(.+?)\n```", quick_start)
    assert demo.endswith(".venv/bin/commsbot demo")
    assert tests.endswith("python -m pytest")
    assert tests in ci.splitlines()  # CI runs the README's test command, word for word


def test_a_broken_template_stops_start_up_naming_it(tmp_path: Path) -> None:
    import shutil

    from bot.runtime import StartupError, load_templates

    templates = tmp_path / "templates"
    shutil.copytree(REPO / "templates", templates)
    (templates / "slack" / "help.j2").write_text("{% if %}", encoding="utf-8")
    (templates / "slack" / "flag_reply.j2").unlink()
    with pytest.raises(StartupError) as caught:
        load_templates(templates)
    message = str(caught.value)
    assert "help.j2: line 1" in message
    assert "flag_reply.j2: missing" in message


def test_check_config_warns_about_files_it_does_not_read(tmp_path: Path, capsys) -> None:
    import shutil

    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)
    (config / "rules.yml").write_text("rules: []\n", encoding="utf-8")
    assert main(["--config-dir", str(config), "check-config"]) == 0
    captured = capsys.readouterr()
    assert "warning:" in captured.err and "rules.yml: not read by commsbot" in captured.err
    assert "OK" in captured.out


def test_demo_away_from_a_checkout_uses_the_installed_example(tmp_path: Path, monkeypatch) -> None:
    import argparse

    from bot import cli, runtime

    share = tmp_path / "share"
    (share / "config").mkdir(parents=True)
    monkeypatch.setattr(runtime, "SHARE_DIR", share)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COMMSBOT_CONFIG_DIR", raising=False)
    args = argparse.Namespace(config_dir=None)
    assert cli._demo_config_dir(args) == share / "config"
    (tmp_path / "config").mkdir()
    assert cli._demo_config_dir(args) == Path("config")
