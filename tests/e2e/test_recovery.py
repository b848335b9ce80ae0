"""Damaged data files end to end: the bot starts, rebuilds, delivers, and says so in /healthz."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import http_get, intake_post, wait_until
from tests.e2e.test_serve_process import _free_port, _serve_env
from tests.e2e.views import all_shown, blocks_text, shown

ENQUIRIES = "#comms-enquiries"
FIXTURES = Path(__file__).resolve().parent.parent / "storage" / "fixtures"


def test_an_emptied_outbox_loses_no_post_and_healthz_says_so(
    start_bot, fake_slack, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    first = start_bot(data_dir=data)
    fake_slack.go_down()
    posts = [intake_post(f"91{n:02d}", text=f"When is the pool open? ({n})") for n in range(10)]
    assert first.intake(posts).status == 202
    first.runtime.services.desk.report_undeliverable(
        channel="#press-office",
        what={"theme": "T-0009"},
        error="not_in_channel",
        now=first.runtime.services.clock(),
    )
    first.stop()
    [outbox] = list((data / "outbox").glob("*.json"))
    outbox.write_text("{}", encoding="utf-8")
    fake_slack.come_up()
    second = start_bot(data_dir=data)
    all_shown(second)
    everything = shown(fake_slack, ENQUIRIES)
    assert all(f"({n})" in everything for n in range(10))  # posts live in themes
    health = http_get(f"{second.url}/healthz")
    assert health.status == 503
    [problem] = health.json()["data_problems"]
    assert str(outbox) in problem and "Alerts waiting in it" in problem
    assert fake_slack.messages("#comms-desk-alerts") == []  # the lost alert, as the note says
    shutil.rmtree(data / "quarantine")
    assert http_get(f"{second.url}/healthz").status == 200


def test_data_of_the_release_before_themes_is_upgraded_and_delivered(
    start_bot, fake_slack, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    shutil.copytree(FIXTURES / "schema3", data)
    bot = start_bot(data_dir=data)
    # What that release rendered and never sent arrives as it was rendered.
    wait_until(lambda: len(fake_slack.messages(ENQUIRIES)) == 1, what="the waiting enquiry")
    wait_until(lambda: fake_slack.messages("#comms-desk-alerts"), what="the waiting alert")
    [enquiry] = fake_slack.messages(ENQUIRIES)
    assert "Hadleigh" in blocks_text(enquiry) and "Enquiry" in blocks_text(enquiry)
    [complaint] = fake_slack.messages("#customer-complaints")
    assert "[phone number]" in blocks_text(complaint) and "07700" not in blocks_text(complaint)
    # Offered again, the old posts are duplicates; a new one is placed in a theme.
    again = bot.intake(intake_post("w1")).json()
    assert again["results"][0]["status"] == "duplicate"
    bot.intake(intake_post("n1", text="When does the library in Hadleigh open on Sunday?"))
    all_shown(bot)
    assert "T-0001" in shown(fake_slack, ENQUIRIES)
    assert list((data / "backups").iterdir())


def test_a_truncated_meta_file_stops_serve_with_a_clear_message(
    fake_slack, config_dir: Path, tmp_path: Path
) -> None:
    env = _serve_env(fake_slack, config_dir, tmp_path / "data", _free_port())
    meta = tmp_path / "data" / "meta.json"
    meta.parent.mkdir()
    meta.write_text('{"commsbot":1,"sha256":"ab', encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "serve"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"commsbot cannot start: {meta}: ")
    assert "restore it from a backup" in result.stderr
    assert "Traceback" not in result.stderr
