"""Settings from the environment (and `.env`), checked once at start-up."""

from __future__ import annotations

import ipaddress
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

# Where a non-editable install puts the templates, the example configuration and the manifest.
SHARE_DIR = Path(sys.prefix) / "share" / "commsbot"

DEFAULT_PORT = 3000
# Every interface, as container platforms need; behind a reverse proxy on the same machine,
# set HOST=127.0.0.1 so only the proxy can reach commsbot.
DEFAULT_HOST = "0.0.0.0"
MIN_SECRET_LENGTH = 16


@dataclass(frozen=True)
class Variable:
    """One environment variable commsbot reads, and what it is for."""

    name: str
    meaning: str


# Every environment variable commsbot reads (`commsbot serve --help` lists them from here).
ENVIRONMENT = (
    Variable("SLACK_BOT_TOKEN", "the bot token (xoxb-...), from the app's OAuth & Permissions"),
    Variable("SLACK_SIGNING_SECRET", "the app's signing secret; needed in HTTP mode"),
    Variable("SLACK_APP_TOKEN", "an app-level token (xapp-...): use Socket Mode instead of HTTP"),
    Variable("COMMSBOT_INTAKE_SECRET", "the shared secret that signs POST /intake (16+ chars)"),
    Variable("SLACK_API_URL", "another Slack Web API, e.g. a local stand-in (optional)"),
    Variable("COMMSBOT_CONFIG_DIR", "the configuration directory (default ./config)"),
    Variable("COMMSBOT_DATA_DIR", "the data directory (default ./data)"),
    Variable("PORT", f"the HTTP port (default {DEFAULT_PORT})"),
    Variable(
        "HOST", f"the address to listen on (default {DEFAULT_HOST}; 127.0.0.1 behind a proxy)"
    ),
    Variable("COMMSBOT_LOG_LEVEL", "DEBUG, INFO, WARNING, ERROR or CRITICAL (default INFO)"),
)
ENVIRONMENT_NOTE = (
    "Intake sources read their secrets from the variables sources.yaml names (secret_env). "
    "A .env file in the directory commsbot starts in is read too."
)


class SettingsError(Exception):
    """Settings are missing or wrong; the message names each one and never shows a secret."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass(frozen=True)
class Settings:
    """What commsbot needs from its environment. Secrets are hidden from repr()."""

    bot_token: str = field(repr=False)
    signing_secret: str | None = field(repr=False)
    app_token: str | None = field(repr=False)
    intake_secret: str = field(repr=False)
    api_url: str | None
    config_dir: Path
    data_dir: Path
    port: int
    host: str = DEFAULT_HOST
    # The environment these settings were read from: the secrets of intake sources are in
    # the variables sources.yaml names.
    environ: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    @property
    def socket_mode(self) -> bool:
        """Whether Slack traffic comes over Socket Mode rather than HTTP."""
        return self.app_token is not None

    def secrets(self) -> list[str]:
        """Every secret value, so logs can be scrubbed of them."""
        return [
            s
            for s in (self.bot_token, self.signing_secret, self.app_token, self.intake_secret)
            if s
        ]


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def load_settings(env: Mapping[str, str]) -> Settings:
    """Read and check the settings; raise SettingsError naming every missing or wrong one."""
    problems: list[str] = []
    bot_token = _get(env, "SLACK_BOT_TOKEN")
    if bot_token is None:
        problems.append("SLACK_BOT_TOKEN is not set (the bot token, starting xoxb-)")
    elif not bot_token.startswith("xoxb-"):
        problems.append("SLACK_BOT_TOKEN does not look like a bot token (it should start xoxb-)")
    app_token = _get(env, "SLACK_APP_TOKEN")
    if app_token is not None and not app_token.startswith("xapp-"):
        problems.append("SLACK_APP_TOKEN does not look like an app-level token (xapp-...)")
    signing_secret = _get(env, "SLACK_SIGNING_SECRET")
    if signing_secret is None and app_token is None:
        problems.append(
            "SLACK_SIGNING_SECRET is not set (needed for HTTP mode; set SLACK_APP_TOKEN "
            "instead to use Socket Mode)"
        )
    intake_secret = _get(env, "COMMSBOT_INTAKE_SECRET")
    if intake_secret is None:
        problems.append("COMMSBOT_INTAKE_SECRET is not set (shared secret for POST /intake)")
    elif len(intake_secret) < MIN_SECRET_LENGTH:
        problems.append(f"COMMSBOT_INTAKE_SECRET is shorter than {MIN_SECRET_LENGTH} characters")
    elif "change-me" in intake_secret.lower():
        problems.append(
            "COMMSBOT_INTAKE_SECRET is still the example value; set a long random one "
            "(e.g. python3 -c 'import secrets; print(secrets.token_hex(32))')"
        )
    api_url = _get(env, "SLACK_API_URL")
    if api_url is not None:
        parts = urlsplit(api_url)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            problems.append(f"SLACK_API_URL is not an http(s) URL: {api_url!r}")
        elif not api_url.endswith("/"):
            api_url += "/"
    port = DEFAULT_PORT
    raw_port = _get(env, "PORT")
    if raw_port is not None:
        if raw_port.isdigit() and 0 < int(raw_port) < 65536:
            port = int(raw_port)
        else:
            problems.append(f"PORT must be a number from 1 to 65535, not {raw_port!r}")
    host = _get(env, "HOST") or DEFAULT_HOST
    if not _valid_host(host):
        problems.append(
            f"HOST must be an IP address to listen on (0.0.0.0, 127.0.0.1, ::), not {host!r}"
        )
    if problems:
        raise SettingsError(problems)
    assert bot_token is not None and intake_secret is not None
    return Settings(
        bot_token=bot_token,
        signing_secret=signing_secret,
        app_token=app_token,
        intake_secret=intake_secret,
        api_url=api_url,
        config_dir=Path(_get(env, "COMMSBOT_CONFIG_DIR") or "config"),
        data_dir=Path(_get(env, "COMMSBOT_DATA_DIR") or "data"),
        port=port,
        host=host,
        environ=dict(env),
    )


def _valid_host(host: str) -> bool:
    """Whether `host` is an IP address or a plain host name such as localhost."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return host == "localhost"
    return True
