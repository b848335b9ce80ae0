"""The secrets of intake sources, read from the environment variables sources.yaml names."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.config.sources_model import SourcesFile
from bot.settings import MIN_SECRET_LENGTH, SettingsError

BEARER = "bearer "


@dataclass(frozen=True)
class SourceSecrets:
    """Each source's secret; a source whose variable is not set is off (listed in `off`)."""

    secrets: Mapping[str, str] = field(default_factory=dict, repr=False)
    off: Mapping[str, str] = field(default_factory=dict)  # source -> the variable to set

    def values(self) -> list[str]:
        """Every secret, so logs can be scrubbed of them."""
        return list(self.secrets.values())


def source_secrets(sources: SourcesFile, env: Mapping[str, str]) -> SourceSecrets:
    """The sources' secrets from `env`; SettingsError naming each one set but too weak."""
    found: dict[str, str] = {}
    off: dict[str, str] = {}
    problems: list[str] = []
    for name, source in sources.sources.items():
        variable = source.auth.secret_env
        value = env.get(variable, "").strip()
        if not value:
            off[name] = variable
        elif len(value) < MIN_SECRET_LENGTH:
            problems.append(
                f"{variable} (the secret of intake source {name!r}) is shorter than "
                f"{MIN_SECRET_LENGTH} characters"
            )
        elif "change-me" in value.lower():
            problems.append(
                f"{variable} (the secret of intake source {name!r}) is still the example value; "
                "set a long random one"
            )
        else:
            found[name] = value
    if problems:
        raise SettingsError(problems)
    return SourceSecrets(secrets=found, off=off)


def off_warnings(sources: SourcesFile, secrets: SourceSecrets) -> list[str]:
    """One line per source that is off because its secret is not set."""
    return [
        f"intake source {name!r} is off: set {variable} to its secret to take posts at "
        f"/intake/{name}"
        for name, variable in secrets.off.items()
        if name in sources.sources
    ]


def _same(given: str | None, expected: str) -> bool:
    """Whether `given` is `expected`, compared in constant time."""
    if given is None:
        return False
    return hmac.compare_digest(given.strip().encode("utf-8"), expected.encode("utf-8"))


def token_valid(*, method: str, header: str | None, secret: str) -> bool:
    """Whether a bearer token (`Authorization` header) or a secret header value is right."""
    if method == "bearer":
        if header is None or header[: len(BEARER)].lower() != BEARER:
            return False
        return _same(header[len(BEARER) :], secret)
    return _same(header, secret)
