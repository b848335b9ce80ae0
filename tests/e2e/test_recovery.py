"""Damaged data files end to end: the bot starts, rebuilds, delivers, and says so in /healthz."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import http_get, intake_post, wait_until
from tests.e2e.test_serve_process import _free_port, _serve_env

ENQUIRIES = "#comms-enquiries"


def test_an_emptied_outbox_loses_no_message_and_healthz_says_so(
    start_bot, fake_slack, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    first = start_bot(data_dir=data)
    fake_slack.go_down()
    posts = [intake_post(f"91{n:02d}", text=f"When is the pool open? ({n})") for n in range(10)]
    assert first.intake(posts).status == 202
    first.stop()
    [outbox] = list((data / "outbox").glob("*.json"))
    outbox.write_text("{}", encoding="utf-8")
    fake_slack.come_up()
    second = start_bot(data_dir=data)
    wait_until(lambda: len(fake_slack.messages(ENQUIRIES)) == 10, what="all ten delivered")
    shown = [str(m["blocks"]) for m in fake_slack.messages(ENQUIRIES)]
    assert all(f"({n})" in shown[n] for n in range(10))
    health = http_get(f"{second.url}/healthz")
    assert health.status == 503
    [problem] = health.json()["data_problems"]
    assert str(outbox) in problem and "queued again" in problem
    shutil.rmtree(data / "quarantine")
    assert http_get(f"{second.url}/healthz").status == 200


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
