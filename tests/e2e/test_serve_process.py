"""`commsbot serve` as a real process: starts, serves, and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from bot.runtime import build_runtime
from bot.settings import Settings
from tests.conftest import (
    BOT_TOKEN,
    INTAKE_SECRET,
    SIGNING_SECRET,
    http_get,
    http_post,
    wait_until,
)
from tests.e2e.views import parents, thread_text


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve_env(fake_slack, config_dir: Path, data_dir: Path, port: int) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "COMMSBOT_INTAKE_SECRET": INTAKE_SECRET,
        "SLACK_API_URL": fake_slack.url,
        "COMMSBOT_CONFIG_DIR": str(config_dir),
        "COMMSBOT_DATA_DIR": str(data_dir),
        "PORT": str(port),
    }


def _serve(env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "serve"],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _healthy(base: str) -> bool:
    try:
        return http_get(f"{base}/healthz").status == 200
    except OSError:
        return False


def test_serve_answers_and_stops_cleanly_on_sigterm(
    fake_slack, config_dir: Path, tmp_path: Path
) -> None:
    port = _free_port()
    process = _serve(_serve_env(fake_slack, config_dir, tmp_path / "data", port), tmp_path)
    try:
        wait_until(
            lambda: _healthy(f"http://127.0.0.1:{port}"),
            timeout=20,
            what="commsbot serve to answer /healthz",
        )
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)
    assert process.returncode == 0, output
    assert "received SIGTERM; shutting down" in output
    assert "stopped" in output
    for secret in (BOT_TOKEN, SIGNING_SECRET, INTAKE_SECRET):
        assert secret not in output


def test_socket_mode_serves_intake_but_not_slack_over_http(
    fake_slack, config_dir: Path, tmp_path: Path
) -> None:

    settings = Settings(
        bot_token=BOT_TOKEN,
        signing_secret=None,
        app_token="xapp-1-test",
        intake_secret=INTAKE_SECRET,
        api_url=fake_slack.url,
        config_dir=config_dir,
        data_dir=tmp_path / "data",
        port=0,
    )
    runtime = build_runtime(settings, host="127.0.0.1")
    assert runtime.socket_mode is not None
    runtime.http.start()  # Slack's socket is not opened: nothing here can reach real Slack
    try:
        health = http_get(f"{runtime.base_url}/healthz")
        # Only HTTP was started here, so the health check must say the workers are not running.
        assert health.status == 503
        assert health.json()["outbox_worker"] == "stopped"
        assert health.json()["storage"] == "ok"
        assert http_post(f"{runtime.base_url}/slack/events", b"{}", {}).status == 404
    finally:
        runtime.stop()


def test_accepted_posts_survive_a_hard_kill(fake_slack, config_dir: Path, tmp_path: Path) -> None:
    """202 means on disk: kill -9 the bot while Slack is down, restart, and all arrive."""
    import json

    from bot.web.intake import SIGNATURE_HEADER, sign
    from tests.conftest import intake_post

    port = _free_port()
    env = _serve_env(fake_slack, config_dir, tmp_path / "data", port)
    base = f"http://127.0.0.1:{port}"

    fake_slack.go_down()
    first = _serve(env, tmp_path)
    try:
        wait_until(lambda: _healthy(base), timeout=20, what="the first bot to start")
        posts = [intake_post(f"90{n}", text=f"Is the pool open on Sunday? ({n})") for n in range(3)]
        body = json.dumps(posts).encode()
        answer = http_post(f"{base}/intake", body, {SIGNATURE_HEADER: sign(body, INTAKE_SECRET)})
        assert answer.status == 202
        first.kill()
        first.communicate(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate(timeout=10)
    fake_slack.come_up()
    second = _serve(env, tmp_path)
    try:
        wait_until(
            lambda: all(f"({n})" in thread_text(fake_slack, "#comms-enquiries") for n in range(3)),
            timeout=20,
            what="all three posts shown after the restart",
        )
    finally:
        second.send_signal(signal.SIGTERM)
        try:
            second.communicate(timeout=30)
        finally:
            if second.poll() is None:
                second.kill()
                second.communicate(timeout=10)
    listed = thread_text(fake_slack, "#comms-enquiries")  # one theme: its thread lists them
    assert [listed.index(f"({n})") for n in range(3)] == sorted(
        listed.index(f"({n})") for n in range(3)
    )
    assert len(parents(fake_slack, "#comms-enquiries")) == 1


def test_a_refused_app_token_stops_start_up_with_a_clear_message(
    fake_slack, config_dir: Path, tmp_path: Path
) -> None:
    port = _free_port()
    env = _serve_env(fake_slack, config_dir, tmp_path / "data", port)
    env.pop("SLACK_SIGNING_SECRET")
    env["SLACK_APP_TOKEN"] = "xapp-1-refused"
    fake_slack.fail("apps.connections.open", "invalid_auth")
    process = _serve(env, tmp_path)
    try:
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)
    assert process.returncode == 2, output
    assert "cannot open Socket Mode with SLACK_APP_TOKEN (invalid_auth)" in output
    assert "xapp-1-refused" not in output
