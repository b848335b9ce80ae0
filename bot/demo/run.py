"""`commsbot demo`: the real bot against a local Slack stand-in, fed the sample posts."""

from __future__ import annotations

import json
import secrets
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import IO, Any

from rich.console import Console
from rich.text import Text

from bot.config import DeskConfig
from bot.core.templating import TemplateRenderer
from bot.core.text import slack_escape
from bot.core.themes import Priority
from bot.demo.channels import ChannelRank, order_channels
from bot.demo.slack_requests import signed_headers, slash_command
from bot.demo.terminal import SlackNames, render_mrkdwn, visible
from bot.fakeslack import FakeSlack
from bot.runtime import build_runtime
from bot.settings import Settings
from bot.storage import Store
from bot.web.intake import SIGNATURE_HEADER, sign

DEMO_FLAG = (
    "fire https://x.com/worried_resident/status/1790000000000000001 "
    "smell of smoke from the empty barn on Mill Lane, is anyone checking it?"
)


def sample_posts(*, now: datetime | None = None) -> bytes:
    """The sample posts shipped with commsbot, one JSON object per line.

    With `now`, their times are moved so the newest was posted a few minutes ago (keeping
    the gaps between them): posts about one thing only join a theme while it is open.
    """
    raw = resources.files("bot.demo").joinpath("sample_posts.jsonl").read_bytes()
    if now is None:
        return raw
    posts = [json.loads(line) for line in raw.decode("utf-8").splitlines() if line.strip()]
    newest = max(datetime.fromisoformat(post["posted_at"]) for post in posts)
    shift = now - timedelta(minutes=5) - newest
    for post in posts:
        moved = datetime.fromisoformat(post["posted_at"]) + shift
        post["posted_at"] = moved.replace(microsecond=0).isoformat()
    return "\n".join(json.dumps(post, ensure_ascii=False) for post in posts).encode("utf-8")


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    """POST `body` to `url`; the status and body of the answer, errors included."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read()


# Who flags a post in the demo: the user `slash_command` sends it as, named as Slack would.
DEMO_NAMES = SlackNames(users={"U0STAFF01": "staff.member"})
# Theme kinds in the order a heading lists them; messages that are no theme's come last.
KINDS = ("incident", "case", "conversation", "repeat", "message")


class Screen:
    """Where the demo prints: styled on a terminal, plain lines anywhere else."""

    def __init__(self, out: IO[str]) -> None:
        terminal = out.isatty()
        self.console = Console(
            file=out,
            force_terminal=terminal,
            highlight=False,
            markup=False,
            emoji=False,
            soft_wrap=not terminal,
        )
        self.encoding = getattr(out, "encoding", None) or "utf-8"
        self.emoji = _encodable("\N{POLICE CARS REVOLVING LIGHT}", self.encoding)

    def say(self, mrkdwn: str, *, first: str = "", rest: str | None = None) -> None:
        """Print Slack mrkdwn as a person would read it, `first` before its first line."""
        text = render_mrkdwn(
            mrkdwn, names=DEMO_NAMES, emoji=self.emoji, plain=not self.console.is_terminal
        )
        for number, line in enumerate(text.split("\n", allow_blank=True)):
            prefix = first if number == 0 else (" " * len(first) if rest is None else rest)
            self._print(Text(prefix), line)

    def detail(self, words: str) -> None:
        """Print a line of the demo's internals (for --verbose)."""
        self.console.print(Text(visible(words), style="dim"))

    def blank(self) -> None:
        """Print an empty line."""
        self.console.print()

    def _print(self, prefix: Text, line: Text) -> None:
        if not self.emoji:
            prefix, line = _fitted(prefix, self.encoding), _fitted(line, self.encoding)
        if not self.console.is_terminal:
            self.console.print(prefix + line)
            return
        # On a terminal long lines wrap under their text, not under the bullet.
        width = max(self.console.width - len(prefix), 20)
        indent = Text(" " * len(prefix))
        for number, part in enumerate(line.wrap(self.console, width, overflow="fold")):
            self.console.print((prefix if number == 0 else indent) + part)


# For an output that cannot show them (PYTHONIOENCODING=ascii), one character each.
PLAIN_GLYPHS = str.maketrans({"•": "*", "↳": ">", "·": "-", "│": "|", "…": "."})


def _encodable(text: str, encoding: str) -> bool:
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def _fitted(text: Text, encoding: str) -> Text:
    """`text` with what `encoding` cannot write replaced, one character for one, styles kept."""
    fitted = text.copy()
    swapped = text.plain.translate(PLAIN_GLYPHS)
    fitted.plain = "".join(c if _encodable(c, encoding) else "?" for c in swapped)
    return fitted


def run_demo(
    *, config_dir: Path, out: IO[str], verbose: bool = False, timeout: float = 30.0
) -> int:
    """Run the demo and print what each Slack channel shows; 0 when every post arrived.

    By default it speaks to a comms manager; `verbose` adds the addresses, HTTP answers,
    timings and whole threads.
    """
    started = time.monotonic()
    screen = Screen(out)
    signing_secret = secrets.token_hex(16)
    intake_secret = secrets.token_hex(16)
    with tempfile.TemporaryDirectory(prefix="commsbot-demo-") as data_dir, FakeSlack() as slack:
        settings = Settings(
            bot_token="xoxb-demo-token",
            signing_secret=signing_secret,
            app_token=None,
            intake_secret=intake_secret,
            api_url=slack.url,
            config_dir=config_dir,
            data_dir=Path(data_dir),
            port=0,
        )
        runtime = build_runtime(settings, host="127.0.0.1", outbox_idle_seconds=0.2)
        runtime.start()
        try:
            renderer = runtime.services.renderer
            body = sample_posts(now=datetime.now(UTC))
            count = sum(1 for line in body.splitlines() if line.strip())
            screen.say(renderer.render("cli/demo_start.j2", posts=count))
            if verbose:
                screen.detail(
                    f"commsbot is running at {runtime.base_url}; Slack stand-in at {slack.url}"
                )
            status, answer = post(
                f"{runtime.base_url}/intake",
                body,
                {
                    "Content-Type": "application/x-ndjson",
                    SIGNATURE_HEADER: sign(body, intake_secret),
                },
            )
            result = json.loads(answer)
            if verbose:
                screen.detail(
                    f"POST /intake with {count} sample posts -> HTTP {status}: "
                    f"{result.get('accepted', 0)} accepted, {result.get('duplicate', 0)} "
                    f"duplicate, {result.get('invalid', 0)} invalid"
                )
            command, content_type = slash_command(f"flag {DEMO_FLAG}")
            status, answer = post(
                f"{runtime.base_url}/slack/events",
                command,
                {"Content-Type": content_type}
                | signed_headers(command, signing_secret=signing_secret),
            )
            reply = json.loads(answer).get("text", "") if answer else ""
            screen.blank()
            screen.say(renderer.render("cli/demo_flag.j2", command=f"/comms flag {DEMO_FLAG}"))
            screen.say(reply, first="  ↳ ")
            if verbose:
                screen.detail(f"POST /slack/events (/comms flag) -> HTTP {status}")
            expected = result.get("accepted", 0) + 1
            store = runtime.services.store
            deadline = time.monotonic() + timeout
            while store.outbox_stats(datetime.now(UTC)).pending and time.monotonic() < deadline:
                time.sleep(0.05)
            _print_channels(
                screen,
                slack=slack,
                store=store,
                config=runtime.services.config,
                renderer=renderer,
                verbose=verbose,
            )
            shown = _posts_shown(slack, store)
            kinds = _kinds(stored.theme.kind.value for stored in store.open_themes())
            screen.blank()
            if verbose:
                screen.detail(f"Done in {time.monotonic() - started:.1f}s.")
            screen.say(
                renderer.render(
                    "cli/demo_end.j2",
                    shown=shown,
                    expected=expected,
                    kinds=kinds,
                    complete=shown >= expected,
                )
            )
            return 0 if shown >= expected else 1
        finally:
            runtime.stop()


def _kinds(kinds: Iterable[str]) -> list[tuple[str, int]]:
    """(kind, count) pairs in the order headings list them."""
    counts = Counter(kinds)
    order = {kind: index for index, kind in enumerate(KINDS)}
    return sorted(counts.items(), key=lambda item: (order.get(item[0], len(order)), item[0]))


def _posts_shown(slack: FakeSlack, store: Store) -> int:
    """How many posts are shown in Slack: in a theme whose message is in its channel."""
    shown: set[str] = set()
    for stored in store.open_themes():
        for channel in stored.theme.channel_names:
            text = json.dumps(slack.messages(channel), ensure_ascii=False)
            if f"*{stored.theme.ref}*" in text:
                shown.update(doc["key"] for doc in store.theme_posts(stored.theme.ref, channel))
    return len(shown)


def _theme_parents(store: Store) -> dict[tuple[str, str], tuple[str, Priority]]:
    """(channel id, parent ts) -> (kind, priority) of the theme that message shows."""
    parents = {}
    for stored in store.open_themes():
        for view in stored.views.values():
            if view.channel_id and view.parent_ts:
                parents[(view.channel_id, view.parent_ts)] = (
                    stored.theme.kind.value,
                    stored.theme.priority,
                )
    return parents


def _print_channels(
    screen: Screen,
    *,
    slack: FakeSlack,
    store: Store,
    config: DeskConfig,
    renderer: TemplateRenderer,
    verbose: bool,
) -> None:
    """Each channel with messages, most pressing first, as Slack shows it."""
    themes = _theme_parents(store)
    priorities: dict[str, list[Priority]] = {}
    for (channel_id, _), (_, priority) in themes.items():
        priorities.setdefault(channel_id, []).append(priority)
    for name, rank in order_channels(slack.channels(), config=config, themes=priorities):
        channel_id = slack.channel_id(name)
        messages = slack.messages(channel_id)
        parents = [m for m in messages if m.get("thread_ts", m["ts"]) == m["ts"]]
        if not parents:
            continue
        shown = {
            id(m): themes.get((channel_id, m["ts"]), ("message", Priority.ROUTINE)) for m in parents
        }
        parents.sort(key=lambda m: shown[id(m)][1])  # stable: Slack's order within a priority
        _print_channel(
            screen,
            name=name,
            rank=rank,
            kinds=_kinds(kind for kind, _ in shown.values()),
            renderer=renderer,
        )
        for parent in parents:
            screen.say(_message_text(parent), first="  • ", rest="    ")
            replies = [
                m for m in messages if m.get("thread_ts") == parent["ts"] and m is not parent
            ]
            for reply in replies:
                text = _message_text(reply)
                if not verbose:
                    text = text.split("\n", 1)[0]
                screen.say(text, first="      ↳ ", rest="        ")


def _print_channel(
    screen: Screen,
    *,
    name: str,
    rank: ChannelRank,
    kinds: list[tuple[str, int]],
    renderer: TemplateRenderer,
) -> None:
    screen.blank()
    screen.say(
        renderer.render(
            "cli/demo_channel.j2",
            channel=f"#{name}",
            round_the_clock=rank.round_the_clock,
            statutory=rank.statutory,
            kinds=kinds,
        )
    )


def _message_text(message: dict[str, Any]) -> str:
    """The mrkdwn a Slack message shows: its blocks' text, else its fallback text."""
    texts: list[str] = []
    for block in message.get("blocks") or []:
        if block.get("type") == "actions":  # buttons, shown as [Label] [Label]
            labels = [element.get("text", {}).get("text", "") for element in block["elements"]]
            texts.append(" ".join(f"[{slack_escape(label)}]" for label in labels))
            continue
        if "text" in block:
            texts.append(block.get("text", {}).get("text", ""))
        texts += [element.get("text", "") for element in block.get("elements", [])]
    shown = "\n".join(text for text in texts if text)
    return shown or str(message.get("text", ""))
