"""`commsbot templates check`: the shipped templates pass; every kind of mistake is reported."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import load_config
from bot.core.posts import Network
from bot.core.replies import Fallback, ReplyBook, ReplyContext
from bot.templates_check import SAMPLES, check_templates
from tests.conftest import CONFIG_DIR, REPO

TEMPLATES = REPO / "templates"
CONFIG = load_config(CONFIG_DIR)
BOOK = CONFIG.reply_book(TEMPLATES)
assert BOOK is not None


def _shipped() -> list[tuple[str, str, Network]]:
    assert BOOK is not None
    return [
        (account, template, network)
        for account, model in CONFIG.desk.accounts.items()
        for template in sorted(BOOK.names(account))
        for network in dict.fromkeys((*model.networks, Network.OTHER))
    ]


@pytest.mark.parametrize(("account", "template", "network"), _shipped())
def test_every_shipped_template_fits_every_network(
    account: str, template: str, network: Network
) -> None:
    book: ReplyBook = BOOK  # type: ignore[assignment]
    for _label, values in SAMPLES:
        context = ReplyContext(
            account=account, network=network, reference="ANY-2026-001234", **values
        )
        suggestion = book.suggest_template(template, context)
        assert suggestion.fits, f"{suggestion.text!r} is {suggestion.over_by} too long"
        assert suggestion.text and "None" not in suggestion.text
        if suggestion.full_length is not None:  # the full form did not fit: X only
            assert network is Network.X and suggestion.fallback is Fallback.SHORT_FORM


def test_x_gets_the_short_forms_of_the_long_replies() -> None:
    assert BOOK is not None
    context = ReplyContext(account="fire", network=Network.X, reference="ANY-2026-001234")
    for template in ("foi_acknowledgement", "subject_access_redirect", "complaint_acknowledgement"):
        assert BOOK.suggest_template(template, context).template == f"{template}.short"


def test_the_shipped_templates_have_no_problems() -> None:
    assert check_templates(CONFIG, TEMPLATES) == []


def test_templates_check_and_check_config_pass_on_the_shipped_files(capsys) -> None:
    assert main(["--config-dir", str(CONFIG_DIR), "templates", "check"]) == 0
    assert "OK: 27 reply templates fit every network of every account" in capsys.readouterr().out
    assert main(["--config-dir", str(CONFIG_DIR), "check-config"]) == 0
    out = capsys.readouterr().out
    assert "OK: 2 account(s)" in out and "reply templates fit" in out


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    """A private copy of the shipped templates to break."""
    target = tmp_path / "templates"
    shutil.copytree(TEMPLATES, target)
    return target


def _write(templates: Path, name: str, source: str) -> Path:
    path = templates / "replies" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source, encoding="utf-8")
    return path


def _check(templates: Path, capsys, config_dir: Path = CONFIG_DIR) -> tuple[int, list[str]]:
    status = main(
        ["--config-dir", str(config_dir), "templates", "check", "--templates-dir", str(templates)]
    )
    return status, capsys.readouterr().err.splitlines()


def _line_for(lines: list[str], file: Path) -> str:
    [line] = [line for line in lines if line.startswith(str(file))]
    return line


def test_each_broken_template_is_reported_on_one_line_naming_its_file(
    templates: Path, capsys
) -> None:
    undefined = _write(
        templates, "common/thanks.j2", "Thanks {{ author_nickname }}\n{{ sign_off }}"
    )
    missing_route = _write(templates, "fire/call_us.j2", "Call {{ contacts.out_of_hours_phone }}")
    escape = _write(
        templates, "common/sneaky.j2", "{{ sign_off.__class__.__mro__[1].__subclasses__() }}"
    )
    globals_ = _write(templates, "common/globals.j2", "{{ lipsum.__globals__ }}")
    syntax = _write(templates, "council/broken.j2", "Hi {% if author_first_name %}there")
    failing = _write(templates, "common/maths.j2", "{{ 1 // 0 }}")
    long = _write(templates, "council/essay.j2", "Thanks. " * 40)
    status, lines = _check(templates, capsys)
    assert status == 1
    assert (
        "undefined: 'author_nickname' is undefined (every account on every network)"
        in _line_for(lines, undefined)
    )
    assert "contacts.out_of_hours_phone is not configured" in _line_for(lines, missing_route)
    assert "(fire on x, facebook, instagram, other)" in _line_for(lines, missing_route)
    assert "sandbox: access to attribute '__class__'" in _line_for(lines, escape)
    assert "sandbox: access to attribute '__globals__'" in _line_for(lines, globals_)
    assert ": line 1: syntax: " in _line_for(lines, syntax)
    assert "ZeroDivisionError" in _line_for(lines, failing)
    essay = _line_for(lines, long)
    assert "over the x limit: 319 of 280 characters at the longest, 39 too many" in essay
    assert "add a short form essay.short.j2 (council on x)" in essay
    assert lines[-1].endswith("replies: 7 problem(s)")


def test_a_short_form_over_the_limit_is_reported(templates: Path, capsys) -> None:
    short = templates / "replies/common/foi_acknowledgement.short.j2"
    short.write_text(
        short.read_text(encoding="utf-8") + " And a great deal more." * 10, encoding="utf-8"
    )
    status, lines = _check(templates, capsys)
    assert status == 1
    assert "shorten the short form" in _line_for(lines, short)


def test_folder_and_short_form_mistakes_are_reported(templates: Path, capsys) -> None:
    police = _write(templates, "police/hello.j2", "Hello")
    orphan = _write(templates, "common/farewell.short.j2", "Bye")
    status, lines = _check(templates, capsys)
    assert status == 1
    assert "no account called 'police' in desk.yaml" in _line_for(lines, police.parent)
    assert "a short form of farewell.j2, which does not exist" in _line_for(lines, orphan)


def test_rule_mistakes_are_reported_against_replies_yaml(
    tmp_path: Path, templates: Path, capsys
) -> None:
    config_dir = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config_dir)
    replies = config_dir / "replies.yaml"
    text = replies.read_text(encoding="utf-8")
    text = text.replace("use: [press_office]", "use: [press_office_statement]")
    text = text.replace("use: [general_acknowledgement]", "use: [fire_only]")
    spam = text.index("  - name: deletion-spam")
    text = text[:spam] + text[text.index("  - name: deletion-naming") :]
    replies.write_text(text, encoding="utf-8")
    _write(templates, "fire/fire_only.j2", "Thanks\n{{ sign_off }}")
    status, lines = _check(templates, capsys, config_dir)
    assert status == 1
    shown = "\n".join(lines)
    assert "replies.yaml: rules." in shown and "no template 'press_office_statement'" in shown
    assert "fallback.use: none of fire_only is available to 'council'" in shown
    assert "deletion reason 'spam': no rule with a template for 'council'" in shown
    assert "deletion reason 'spam': no rule with a template for 'fire'" in shown


def test_check_config_runs_the_templates_check(tmp_path: Path, capsys) -> None:
    config_dir = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config_dir)
    replies = config_dir / "replies.yaml"
    replies.write_text(
        replies.read_text(encoding="utf-8").replace("use: [bins]", "use: [bin_days]"),
        encoding="utf-8",
    )
    assert main(["--config-dir", str(config_dir), "check-config"]) == 1
    assert "no template 'bin_days'" in capsys.readouterr().err


def test_check_config_without_replies_yaml_warns_and_passes(tmp_path: Path, capsys) -> None:
    config_dir = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config_dir)
    (config_dir / "replies.yaml").unlink()
    assert main(["--config-dir", str(config_dir), "check-config"]) == 0
    assert "replies.yaml is missing: no replies are suggested" in capsys.readouterr().err


def test_a_missing_templates_folder_is_reported(tmp_path: Path, capsys) -> None:
    status, lines = _check(tmp_path / "nowhere", capsys)
    assert status == 1
    assert "missing: no reply templates" in lines[0]


def test_a_template_not_saved_as_utf8_is_reported_not_a_traceback(templates: Path, capsys) -> None:
    price = templates / "replies" / "common" / "price.j2"
    price.write_bytes("Hi, it costs £5.\n{{ sign_off }}\n".encode("cp1252"))
    status, lines = _check(templates, capsys)
    assert status == 1
    assert _line_for(lines, price).endswith(
        ": line 1: not UTF-8 text (byte 0xa3): save the file as UTF-8"
    )
