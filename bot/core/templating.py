"""Jinja2 rendering with Slack escaping on by default and undefined variables as errors."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateNotFound,
    TemplateSyntaxError,
)
from markupsafe import Markup

from bot.core.text import safe_link_target, slack_escape


def _finalize(value: Any) -> Any:
    """Escape every interpolated value for Slack unless it was deliberately marked safe."""
    if isinstance(value, Markup):
        return value
    if isinstance(value, str):
        return slack_escape(value)
    return value


def slack_link(url: str | None, label: str) -> Markup:
    """A Slack link `<url|label>` with both parts made safe; plain label when the URL is not."""
    target = safe_link_target(url) if url else None
    if target is None:
        return Markup(slack_escape(label))
    return Markup(f"<{target}|{slack_escape(label)}>")


class TemplateRenderer:
    """Renders the templates in one directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._env = Environment(
            loader=FileSystemLoader(str(self.directory)),
            undefined=StrictUndefined,
            autoescape=False,
            finalize=_finalize,
            keep_trailing_newline=False,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._env.globals["slack_link"] = slack_link
        self._env.filters["trusted"] = Markup

    def render(self, template: str, /, **context: Any) -> str:
        """Render `template` with `context`; undefined names raise an error."""
        return self._env.get_template(template).render(**context).strip()

    def check(self, template: str) -> None:
        """Raise if `template` is missing or has a syntax error."""
        self._env.get_template(template)

    def problems(self, templates: Iterable[str]) -> list[str]:
        """What is wrong with each of `templates` (missing, syntax errors); empty if nothing."""
        found = []
        for name in templates:
            try:
                self.check(name)
            except TemplateNotFound:
                found.append(f"{self.directory / name}: missing")
            except TemplateSyntaxError as exc:
                found.append(f"{self.directory / name}: line {exc.lineno}: {exc.message}")
        return found

    def names(self) -> list[str]:
        """Every template in the directory."""
        return sorted(self._env.list_templates())
