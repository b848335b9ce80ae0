"""`commsbot deadline`: the due moment on the first line, then why, as a person runs it."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import pytest

from bot.cli import main
from tests.conftest import CONFIG_DIR


def run(capsys, *args: str, config_dir: Path = CONFIG_DIR) -> tuple[int, list[str], str]:
    status = main(["--config-dir", str(config_dir), "deadline", *args])
    out, err = capsys.readouterr()
    return status, out.splitlines(), err


@pytest.mark.parametrize(
    ("args", "first_line"),
    [
        (["foi", "--received", "2026-12-05"], "2027-01-07T23:59:59+00:00"),
        (["FOI", "--received", "2014-12-01"], "2014-12-31T23:59:59+00:00"),
        (["eir", "--received", "2026-07-10T09:30"], "2026-08-11T23:59:59+01:00"),
        (["subject_access", "--received", "2027-01-31"], "2027-03-01T23:59:59+00:00"),
        (["sar", "--received", "2025-09-03T12:00"], "2025-10-03T23:59:59+01:00"),
        (["theme", "--received", "2026-11-20T16:00"], "2026-11-23T16:00:00+00:00"),
        (["theme", "--received", "2026-11-21"], "2026-11-23T17:00:00+00:00"),
        (["complaint", "--received", "2026-11-20T16:00"], "2026-11-23T16:00:00+00:00"),
        (["urgent", "--received", "2026-03-29T00:30+00:00"], "2026-03-29T02:30:00+01:00"),
    ],
)
def test_first_line_is_the_due_moment(capsys, args: list[str], first_line: str) -> None:
    status, lines, err = run(capsys, *args)
    assert (status, err) == (0, "")
    assert lines[0] == first_line
    assert datetime.fromisoformat(lines[0]).utcoffset() is not None
    assert len(lines) > 1  # and an explanation follows


def test_explanation_names_the_days_skipped_and_why(capsys) -> None:
    _, lines, _ = run(capsys, "foi", "--received", "2026-12-05")
    text = "\n".join(lines[1:])
    assert "received Saturday 5 December 2026, not a working day: weekend" in text
    assert "Day one is Monday 7 December 2026." in text
    assert "7 weekend days" in text
    assert "Friday 25 December 2026: Christmas Day (bank holiday across the UK)" in text
    assert "Monday 28 December 2026: Boxing Day (observed) (bank holiday across the UK)" in text
    assert "Monday 4 January 2027: New Year Holiday (observed) (bank holiday in Scotland)" in text


def test_explanation_for_northern_ireland_and_a_month(capsys) -> None:
    _, lines, _ = run(capsys, "foi", "--received", "2026-03-13")
    text = "\n".join(lines)
    assert "Tuesday 17 March 2026: Saint Patrick's Day (bank holiday in Northern Ireland)" in text
    assert "Easter Monday (bank holiday in England and Wales and in Northern Ireland)" in text
    _, lines, _ = run(capsys, "sar", "--received", "2027-01-30")
    text = "\n".join(lines)
    assert "the day of receipt is day one" in text
    assert "ends on that month's last day" in text
    assert "Sunday 28 February 2027 is not a working day (weekend)" in text
    assert "Due by the end of Monday 1 March 2027." in text


def test_config_switch_and_closure_days_show_in_the_answer(capsys, tmp_path: Path) -> None:
    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)
    deadlines = config / "deadlines.yaml"
    text = deadlines.read_text(encoding="utf-8")
    text = text.replace(
        "treat_closed_day_receipt_as_next_working_day: false",
        "treat_closed_day_receipt_as_next_working_day: true",
    )
    text = text.replace(
        "  closure_days: []",
        "  closure_days:\n    - {date: 2026-12-24, name: Christmas Eve closure}",
    )
    deadlines.write_text(text, encoding="utf-8")
    status, lines, _ = run(capsys, "foi", "--received", "2026-12-05", config_dir=config)
    assert status == 0
    assert lines[0] == "2027-01-08T23:59:59+00:00"
    explanation = "\n".join(lines)
    assert "Treated as received on the next working day, Monday 7 December 2026." in explanation
    assert "Desk closure days still count for this clock: Thursday 24 December 2026." in explanation
    _, lines, _ = run(capsys, "theme", "--received", "2026-12-23T16:00", config_dir=config)
    assert lines[0] == "2026-12-29T16:00:00+00:00"
    assert "Thursday 24 December 2026: Christmas Eve closure (desk closure day)" in "\n".join(lines)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["fooi", "--received", "2026-12-05"], "unknown kind 'fooi': choose one of"),
        (["foi", "--received", "next tuesday"], "'next tuesday' is not an ISO 8601 date"),
        (["foi", "--received", "2026-02-30"], "is not an ISO 8601 date"),
        (["foi", "--received", "1850-01-01"], "outside the years with known bank holidays"),
        (["foi", "--received", "0001-01-01T00:00+01:00"], "too far in the past or the future"),
        (["urgent", "--received", "9999-12-31T23:30+00:00"], "too far in the past or the future"),
        (["theme", "--received", "9999-12-31"], "outside the years with known bank holidays"),
    ],
)
def test_bad_kind_or_time_exits_2_with_a_clear_message(
    capsys, args: list[str], message: str
) -> None:
    status, lines, err = run(capsys, *args)
    assert status == 2 and lines == []
    assert err.startswith("commsbot deadline: ") and message in err


def test_received_is_required(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--config-dir", str(CONFIG_DIR), "deadline", "foi"])
    assert exit_info.value.code == 2
    assert "--received" in capsys.readouterr().err


def test_broken_config_exits_2(capsys, tmp_path: Path) -> None:
    status, _, err = run(capsys, "foi", "--received", "2026-12-05", config_dir=tmp_path)
    assert status == 2 and "desk.yaml: file is missing" in err
