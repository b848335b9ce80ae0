"""Settings from the environment: every problem named, secrets never shown."""

from __future__ import annotations

import logging

import pytest

from bot.logs import REDACTED, RedactSecrets
from bot.settings import SettingsError, load_settings

GOOD = {
    "SLACK_BOT_TOKEN": "xoxb-1111-2222-abcdef",
    "SLACK_SIGNING_SECRET": "signing-secret-value",
    "COMMSBOT_INTAKE_SECRET": "a-long-intake-secret-value",
}


def test_defaults() -> None:
    settings = load_settings(GOOD)
    assert settings.port == 3000
    assert str(settings.config_dir) == "config" and str(settings.data_dir) == "data"
    assert not settings.socket_mode
    assert "xoxb" not in repr(settings) and "signing-secret-value" not in repr(settings)


def test_every_problem_is_named_together() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(
            {"SLACK_BOT_TOKEN": "xoxp-user-token", "PORT": "eighty", "SLACK_API_URL": "ftp://x"}
        )
    text = str(caught.value)
    for name in (
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "COMMSBOT_INTAKE_SECRET",
        "PORT",
        "SLACK_API_URL",
    ):
        assert name in text
    assert "xoxp-user-token" not in text


def test_socket_mode_needs_no_signing_secret() -> None:
    env = {k: v for k, v in GOOD.items() if k != "SLACK_SIGNING_SECRET"} | {
        "SLACK_APP_TOKEN": "xapp-1-abc"
    }
    assert load_settings(env).socket_mode


def test_api_url_gets_a_trailing_slash() -> None:
    assert (
        load_settings(GOOD | {"SLACK_API_URL": "http://127.0.0.1:9000/api"}).api_url
        == "http://127.0.0.1:9000/api/"
    )


def test_logs_never_show_tokens_or_secrets() -> None:
    scrubber = RedactSecrets(["a-long-intake-secret-value"])
    record = logging.LogRecord(
        "t",
        logging.INFO,
        __file__,
        1,
        "token %s and %s and xapp-1-A-123",
        ("xoxb-9-9-zz", "a-long-intake-secret-value"),
        None,
    )
    scrubber.filter(record)
    assert record.getMessage() == f"token {REDACTED} and {REDACTED} and {REDACTED}"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, "0.0.0.0"), ("127.0.0.1", "127.0.0.1"), ("::", "::"), ("localhost", "localhost")],
)
def test_host_defaults_to_every_interface(value: str | None, expected: str) -> None:
    env = GOOD if value is None else GOOD | {"HOST": value}
    assert load_settings(env).host == expected


def test_a_host_that_is_not_an_address_is_named() -> None:
    with pytest.raises(SettingsError, match="HOST must be an IP address"):
        load_settings(GOOD | {"HOST": "0.0.0.0:3000"})
