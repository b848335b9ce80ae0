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
    assert all({"theme", "flags", "rule"} <= r.keys() for r in rows)
    assert [r["theme"] for r in rows] == ["T-0001", "T-0002"]  # a case each
    assert "line 2: not valid JSON" in err
    assert "line 4: posted_at:" in err


def test_triage_jsonl_gives_posts_of_one_theme_one_reference(tmp_path: Path, capsys) -> None:
    """Grouped in posted_at order, printed in the file's order."""
    texts = [
        ("b3", "2026-11-20T10:30:00+00:00", "Elm Road bins still not collected, third week"),
        ("f1", "2026-11-20T09:00:00+00:00", "How much did the council spend on taxis in 2024?"),
        ("b1", "2026-11-20T09:10:00+00:00", "The bins on Elm Road have not been collected"),
        ("l1", "2026-11-20T09:20:00+00:00", "When does the library in Hadleigh open on Sunday?"),
        ("b2", "2026-11-20T09:40:00+00:00", "Bins on Elm Road not collected again this week"),
    ]
    lines = [json.dumps(intake_post(i, text=t, posted_at=at)) for i, at, t in texts]
    path = _posts_file(tmp_path, lines)
    assert main(["--config-dir", str(CONFIG_DIR), "triage", "--format", "jsonl", str(path)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    themes = {r["id"]: r["theme"] for r in rows}
    assert [r["id"] for r in rows] == ["b3", "f1", "b1", "l1", "b2"]
    assert themes["b1"] == themes["b2"] == themes["b3"] == "T-0002"  # numbered by first post
    assert themes["f1"] == "T-0001" and themes["l1"] == "T-0003"


def test_triage_table_from_stdin(monkeypatch, capsys) -> None:
    body = json.dumps([intake_post("9", text="When does the tip open on Sunday?")]).encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(body)))
    assert main(["--config-dir", str(CONFIG_DIR), "triage", "-"]) == 0
    out = capsys.readouterr().out
    assert "enquiry" in out and "#comms-enquiries" in out and "item 1" in out


def test_triage_of_a_missing_file_says_so(capsys) -> None:
    assert main(["--config-dir", str(CONFIG_DIR), "triage", "/no/such/file.jsonl"]) == 2
    assert "cannot read /no/such/file.jsonl" in capsys.readouterr().err


def test_demo_speaks_to_a_comms_manager_and_exits_zero(capsys) -> None:
    assert main(["--config-dir", str(CONFIG_DIR), "demo"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    headings = [line.split(" · ")[0] for line in lines if line.startswith("#")]
    # What needs attention first: round the clock, then the statutory routes, then the rest.
    assert headings[:4] == [
        "#comms-urgent",
        "#fire-control-urgent",
        "#info-governance-sar",
        "#info-governance-foi",
    ]
    assert set(headings[4:]) >= {"#comms-enquiries", "#press-office", "#customer-complaints"}
    assert "#fire-control-urgent · watched round the clock · 2 incidents and 1 case" in lines
    assert "24 of 24 posts shown in Slack, as 2 incidents, 8 cases and 11 themes." in lines
    # Related posts are one theme; its thread is summed up in a line.
    assert "3 posts in this channel" in out and "      ↳ 📥 3 new posts in T-0012" in lines
    # Slack's formatting is rendered, not shown raw.
    assert "  • 🆘 Person in danger · T-0001 · case · open · nobody owns it yet" in lines
    assert "flagged by @staff.member" in out
    assert "│ <!channel> URGENT" in out  # the public's text, as Slack shows it
    for raw in (":sos:", "*T-", "&lt;", "&gt;", "<@U", "|open on"):
        assert raw not in out
    # No internals.
    for internal in ("127.0.0.1", "HTTP", "http://localhost", "POST /"):
        assert internal not in out
    assert lines[-1] == (
        'Next: connect commsbot to your own Slack workspace (README, "Connect to Slack"), check '
        "your channels with `commsbot check-config --slack`, then start it with `commsbot serve`."
    )


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

    from bot import cli, settings

    share = tmp_path / "share"
    (share / "config").mkdir(parents=True)
    monkeypatch.setattr(settings, "SHARE_DIR", share)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COMMSBOT_CONFIG_DIR", raising=False)
    args = argparse.Namespace(config_dir=None)
    assert cli._demo_config_dir(args) == share / "config"
    (tmp_path / "config").mkdir()
    assert cli._demo_config_dir(args) == Path("config")


# --- evaluate, train, and triage streaming -------------------------------------------------

LABELLED = [
    intake_post("e1", text="How much did the council spend on consultants last year?")
    | {"label": "foi"},
    intake_post("e2", text="When does the tip open on Sunday?") | {"label": "enquiry"},
    intake_post("e3", text="i cant do this anymore, going to the bridge tonight")
    | {"label": "urgent"},
    intake_post("e4", text="Thanks to the crews, heroes!") | {"label": "urgent"},
    intake_post("e5", text="Why are you spending millions on a logo, madness")
    | {"label": "general", "tags": ["opinion"]},
]


def _labelled_file(tmp_path: Path) -> Path:
    return _posts_file(tmp_path, [json.dumps(row) for row in LABELLED])


def test_evaluate_reports_precision_recall_confusion_and_worst_misses(
    tmp_path: Path, capsys
) -> None:
    path = _labelled_file(tmp_path)
    assert main(["--config-dir", str(CONFIG_DIR), "evaluate", "--no-model", str(path)]) == 0
    out = capsys.readouterr().out
    assert "5 labelled post(s), 4 routed to their label" in out
    assert "urgent_recall" in out and "MISSED" in out
    assert "Confusion (rows: label, columns: routed to)" in out
    # The worst miss is the missed urgent post, with the rule that fired and its text.
    misses = out.split("Worst misses:")[1]
    assert "e4: urgent routed as general (thanks-and-praise" in misses
    assert "Thanks to the crews" in misses


def test_evaluate_json_for_machines_and_summary_without_texts(tmp_path: Path, capsys) -> None:
    path = _labelled_file(tmp_path)
    argv = ["--config-dir", str(CONFIG_DIR), "evaluate", "--no-model", "--format", "json"]
    assert main([*argv, str(path)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["posts"] == 5 and data["figures"]["urgent_recall"] == 0.5
    assert data["per_category"]["foi"] == {
        "precision": 1.0,
        "recall": 1.0,
        "support": 1,
        "predicted": 1,
    }
    assert data["confusion"]["urgent"]["general"] == 1
    assert data["targets"]["opinion_or_criticism_to_moderation"]["met"] is True
    assert data["worst_misses"][0]["text"].startswith("Thanks")
    assert main([*argv, "--summary", str(path)]) == 0
    summary = capsys.readouterr().out
    assert json.loads(summary)["worst_misses"] == []
    assert "Thanks" not in summary and "bridge" not in summary
    assert main([*argv, "--no-texts", str(path)]) == 0
    no_texts = json.loads(capsys.readouterr().out)
    assert no_texts["worst_misses"] and all("text" not in m for m in no_texts["worst_misses"])


def test_train_stores_a_model_that_triage_then_uses(tmp_path: Path, capsys) -> None:
    data_dir = tmp_path / "data"
    assert main(["train", "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert "trained on" in out and "shipped corpus:" in out and "desk labels: 0" in out
    stored = json.loads((data_dir / "model" / "second_opinion.json").read_text())
    assert stored["corpus_size"] >= 500 and stored["trained_at"]
    path = _posts_file(tmp_path, [json.dumps(intake_post("1", text="what a lovely day"))])
    argv = ["--config-dir", str(CONFIG_DIR), "triage", "--format", "jsonl"]
    assert main([*argv, "--data-dir", str(data_dir), str(path)]) == 0
    captured = capsys.readouterr()
    assert "second opinion: model, trained" in captured.err
    assert "second_opinion" in json.loads(captured.out)
    assert main([*argv, "--data-dir", str(tmp_path / "empty"), str(path)]) == 0
    assert "second opinion: the model shipped with commsbot" in capsys.readouterr().err


def test_a_damaged_model_is_named_and_refused(tmp_path: Path, capsys) -> None:
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "second_opinion.json").write_text("{oops")
    path = _posts_file(tmp_path, [json.dumps(intake_post("1"))])
    argv = ["--config-dir", str(CONFIG_DIR), "triage", "--data-dir", str(tmp_path), str(path)]
    assert main(argv) == 2
    assert "second_opinion.json: not valid JSON" in capsys.readouterr().err


def test_triage_streams_a_json_array_larger_than_its_first_read(tmp_path: Path, capsys) -> None:
    posts = [intake_post(str(i), text=f"When does the tip open? {'x' * 600}") for i in range(2500)]
    path = tmp_path / "posts.json"
    path.write_text(json.dumps(posts, indent=1))
    argv = ["--config-dir", str(CONFIG_DIR), "triage", "--no-model", "--format", "jsonl"]
    assert main([*argv, str(path)]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert len(rows) == 2500 and json.loads(rows[-1])["id"] == "2499"


def test_triage_table_is_printed_as_it_goes_with_a_summary(tmp_path: Path, capsys) -> None:
    path = _posts_file(
        tmp_path,
        [
            json.dumps(intake_post("1", text="When does the tip open on Sunday?")),
            json.dumps(intake_post("2", text="nice one")),
            json.dumps(intake_post("3", text="<!channel> \x1b[31m")),
        ],
    )
    assert main(["--config-dir", str(CONFIG_DIR), "triage", "--no-model", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:5] == ["where", "id", "account", "category", "channel"]
    assert out[1].startswith("line 1") and "enquiry" in out[1]
    assert "unsorted" in out[2] and "#comms-enquiries" in out[2]
    assert "\x1b" not in out[3]
    assert out[-1].startswith("Triaged 3 post(s). By category:")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "input is empty"),
        ("[", "no closing ]"),
        ("[]", "the array is empty"),
        ("[{}, oops]", "item 2"),
        # A number of more digits than Python reads (4,300): a traceback before.
        ('[{}, {"id": ' + "1" * 5000 + "}]", "item 2 is not valid JSON"),
        ('{"id": ' + "1" * 5000 + "}", "line 1: not valid JSON: Exceeds the limit"),
        ("{}\n" + "[" * 100_000, "line 2: not valid JSON: nested too deeply"),
    ],
)
def test_triage_explains_input_it_cannot_read(
    tmp_path: Path, capsys, body: str, message: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(body)
    assert main(["--config-dir", str(CONFIG_DIR), "triage", "--no-model", str(path)]) == 1
    assert message in capsys.readouterr().err


def _subcommands() -> list[tuple[str, ...]]:
    """Every subcommand as argv words, nested ones (templates check) included."""
    import argparse

    from bot.cli import build_parser

    found: list[tuple[str, ...]] = []

    def walk(parser: argparse.ArgumentParser, words: tuple[str, ...]) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    found.append((*words, name))
                    walk(child, (*words, name))

    walk(build_parser(), ())
    return found


@pytest.mark.parametrize("words", _subcommands(), ids=" ".join)
def test_every_subcommand_says_what_it_does(words: tuple[str, ...], capsys) -> None:
    from bot.cli import build_parser

    parser = build_parser()
    for word in words:
        parser = next(
            a.choices[word]
            for a in parser._actions
            if getattr(a, "choices", None) and word in a.choices
        )
    assert parser.description and len(parser.description) > 30, words
    with pytest.raises(SystemExit) as exit_info:
        main([*words, "--help"])
    assert exit_info.value.code == 0
    assert parser.description.split()[0] in capsys.readouterr().out


def test_serve_help_lists_every_environment_variable(capsys) -> None:
    import re

    from bot.settings import ENVIRONMENT

    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    out = capsys.readouterr().out
    names = [variable.name for variable in ENVIRONMENT]
    assert all(re.search(rf"^\s+{name}\s+\S", out, re.MULTILINE) for name in names), out
    assert "secret_env" in out  # where the intake sources' secrets come from
    # The list is the one settings.py reads from, and .env.example shows each of them.
    read = re.findall(r'_get\(env, "([A-Z_]+)"\)', (REPO / "bot" / "settings.py").read_text())
    assert set(read) <= set(names)
    example = (REPO / ".env.example").read_text(encoding="utf-8")
    assert all(name in example for name in names)


@pytest.mark.parametrize(
    "argv",
    [
        ["--config-dir", "{good}", "check-config"],
        ["check-config", "--config-dir", "{good}"],
        ["--config-dir", "{bad}", "check-config", "--config-dir", "{good}"],
        ["sources", "test", "monitoring", "{sample}", "--config-dir", "{good}"],
    ],
    ids=["before", "after", "after-wins", "nested"],
)
def test_global_options_work_before_or_after_the_subcommand(
    argv: list[str], tmp_path: Path, capsys
) -> None:
    values = {
        "good": str(CONFIG_DIR),
        "bad": str(tmp_path / "missing"),
        "sample": str(REPO / "examples" / "sources" / "monitoring.json"),
    }
    assert main([word.format(**values) for word in argv]) == 0
    assert "problem" not in capsys.readouterr().err


@pytest.mark.parametrize("where", ["option", "environment"])
def test_an_unknown_log_level_is_a_clear_error(where: str, monkeypatch, capsys) -> None:
    argv = ["serve"]
    if where == "option":
        argv += ["--log-level", "LOUD"]
    else:
        monkeypatch.setenv("COMMSBOT_LOG_LEVEL", "LOUD")
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "unknown log level 'LOUD'" in err
    assert "DEBUG, INFO, WARNING, ERROR, CRITICAL" in err


def test_output_cut_short_by_head_is_no_traceback(tmp_path: Path) -> None:
    # More output than a pipe holds, so commsbot is still writing when the reader stops.
    posts = tmp_path / "posts.jsonl"
    lines = [
        json.dumps(
            intake_post(str(n), text=f"Bins missed again on Mill Road ({n})")
            | {"label": "complaint"}
        )
        for n in range(1500)
    ]
    posts.write_text("\n".join(lines), encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "triage", "--format", "jsonl", "--no-model", str(posts)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stdout.readline()
    process.stdout.close()  # as `| head -1` does
    _, err = process.communicate(timeout=60)
    assert b"Traceback" not in err, err.decode()
    assert process.returncode == 0
