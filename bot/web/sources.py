"""POST /intake/<source>: who may post for a source, and how its body is read."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.config.sources_model import SourceModel
from bot.slack.verify import header
from bot.sources.credentials import token_valid
from bot.web.intake import SIGNATURE_HEADER, signature_valid

PREFIX = "/intake/"


def source_name(path: str) -> str:
    """The source a path such as /intake/monitoring names."""
    return path.removeprefix(PREFIX)


def refusal(
    body: bytes, *, source: SourceModel, secret: str, environ: Mapping[str, Any]
) -> str | None:
    """Why a request for `source` is refused (its proof of origin is missing or wrong), or None."""
    auth = source.auth
    if auth.method == "hmac":
        if signature_valid(body, header(environ, SIGNATURE_HEADER), secret):
            return None
        return f"missing or wrong {SIGNATURE_HEADER}"
    if auth.method == "bearer":
        if token_valid(method="bearer", header=header(environ, "Authorization"), secret=secret):
            return None
        return "missing or wrong Authorization: Bearer token"
    assert auth.header is not None
    if token_valid(method="header", header=header(environ, auth.header), secret=secret):
        return None
    return f"missing or wrong {auth.header}"
