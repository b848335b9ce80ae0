"""Escaping public text for Slack, and templates that escape by default."""

from __future__ import annotations

from pathlib import Path

import pytest
from jinja2 import UndefinedError

from bot.core.templating import TemplateRenderer
from bot.core.text import escape_to_fit, quote_for_slack, safe_link_target, slack_escape


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("<!channel> look", "&lt;!channel&gt; look"),
        ("<!here|here>", "&lt;!here|here&gt;"),
        ("<@U123> and <#C123>", "&lt;@U123&gt; and &lt;#C123&gt;"),
        ("<https://evil.example|gov.uk>", "&lt;https://evil.example|gov.uk&gt;"),
        ("fish & chips", "fish &amp; chips"),
        ("already &amp; escaped", "already &amp;amp; escaped"),
        ("plain @channel text", "plain @channel text"),
    ],
)
def test_slack_escape(raw: str, shown: str) -> None:
    assert slack_escape(raw) == shown


def test_escape_to_fit_never_splits_an_entity() -> None:
    text = "&" * 50
    fitted = escape_to_fit(text, 23)
    assert len(fitted) <= 23
    assert fitted.endswith(" …")
    assert fitted.removesuffix(" …") == "&amp;" * 4


@pytest.mark.parametrize(
    ("url", "target"),
    [
        ("https://x.com/a/status/1", "https://x.com/a/status/1"),
        ("https://example.org/a?b=1&c=2", "https://example.org/a?b=1&amp;c=2"),
        ("https://example.org/a|b>c", "https://example.org/a%7Cb%3Ec"),
        ("javascript:alert(1)", None),
        ("ftp://example.org", None),
        ("not a url", None),
    ],
)
def test_safe_link_target(url: str, target: str | None) -> None:
    assert safe_link_target(url) == target


def test_templates_escape_values_and_refuse_undefined(tmp_path: Path) -> None:
    (tmp_path / "t.j2").write_text("Hi {{ name }} {{ slack_link(url, label) }}", encoding="utf-8")
    renderer = TemplateRenderer(tmp_path)
    shown = renderer.render(
        "t.j2", name="<!channel>", url="https://a.example/?q=1&r=2", label="<b>"
    )
    assert shown == "Hi &lt;!channel&gt; <https://a.example/?q=1&amp;r=2|&lt;b&gt;>"
    unsafe = renderer.render("t.j2", name="x", url="javascript:evil()", label="click")
    assert unsafe == "Hi x click"
    with pytest.raises(UndefinedError):
        renderer.render("t.j2", name="x")


def test_every_shipped_template_compiles() -> None:
    renderer = TemplateRenderer(Path(__file__).resolve().parents[2] / "templates")
    assert renderer.names()
    for name in renderer.names():
        renderer.check(name)


@pytest.mark.parametrize(
    "text",
    [
        "short",
        "line\n" * 200,
        "&" * 5000,
        ("word " * 100 + "\n") * 30,
        "\n\n\n",
        "a" * 2890 + "\nb",
        "<!channel>\n" * 400,
    ],
    ids=["short", "many-lines", "ampersands", "paragraphs", "blank-lines", "edge", "pings"],
)
def test_quote_always_fits_slacks_limit(text: str) -> None:
    quoted = quote_for_slack(text, limit=2900, max_lines=40)
    assert len(quoted) <= 2900
    assert all(line.startswith("&gt;") for line in quoted.splitlines())
    assert "<" not in quoted and ">" not in quoted.replace("&gt;", "")


def test_quote_keeps_short_text_whole_and_marks_cuts() -> None:
    assert (
        quote_for_slack("hello\n\nworld", limit=2900, max_lines=40)
        == "&gt; hello\n&gt;\n&gt; world"
    )
    cut = quote_for_slack("x\n" * 100, limit=2900, max_lines=40)
    assert cut.splitlines()[-1] == "&gt; …"
    assert len(cut.splitlines()) == 41
