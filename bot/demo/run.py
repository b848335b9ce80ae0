"""`commsbot demo`: the real bot against a local Slack stand-in, fed the sample posts."""

from __future__ import annotations

import json
import re
import secrets
import tempfile
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import IO, Any

from bot.demo.slack_requests import signed_headers, slash_command
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


def _plain(mrkdwn: str) -> str:
    """Slack mrkdwn made readable in a terminal."""
    text = re.sub(r"<([^|>]+)\|([^>]+)>", r"\2 (\1)", mrkdwn)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _message_lines(message: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for block in message.get("blocks") or []:
        texts = [block.get("text", {}).get("text", "")] if "text" in block else []
        if block.get("type") == "actions":  # buttons: shown as [Label] [Label]
            labels = [f"[{e.get('text', {}).get('text', '')}]" for e in block.get("elements", [])]
            lines.append(" ".join(labels))
            continue
        texts += [element.get("text", "") for element in block.get("elements", [])]
        for text in texts:
            lines.extend(_plain(text).splitlines())
    return lines or [_plain(message.get("text", ""))]


def run_demo(*, config_dir: Path, out: IO[str], timeout: float = 30.0) -> int:
    """Run the demo and print what each Slack channel shows; 0 when every post arrived."""
    started = time.monotonic()
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
            print(
                f"commsbot is running at {runtime.base_url}; Slack stand-in at {slack.url}",
                file=out,
            )
            body = sample_posts(now=datetime.now(UTC))
            status, answer = post(
                f"{runtime.base_url}/intake",
                body,
                {
                    "Content-Type": "application/x-ndjson",
                    SIGNATURE_HEADER: sign(body, intake_secret),
                },
            )
            result = json.loads(answer)
            count = len(result.get("results", []))
            print(
                f"\nPOST /intake with {count} sample posts -> HTTP {status}: "
                f"{result.get('accepted', 0)} accepted, {result.get('duplicate', 0)} duplicate, "
                f"{result.get('invalid', 0)} invalid",
                file=out,
            )
            command, content_type = slash_command(f"flag {DEMO_FLAG}")
            status, answer = post(
                f"{runtime.base_url}/slack/events",
                command,
                {"Content-Type": content_type}
                | signed_headers(command, signing_secret=signing_secret),
            )
            reply = json.loads(answer).get("text", "") if answer else ""
            print(
                f"\n/comms flag {DEMO_FLAG}\n"
                f"  -> HTTP {status}, commsbot replied privately: {_plain(reply)}",
                file=out,
            )
            expected = result.get("accepted", 0) + 1
            store = runtime.services.store
            deadline = time.monotonic() + timeout
            while store.outbox_stats(datetime.now(UTC)).pending and time.monotonic() < deadline:
                time.sleep(0.05)
            _print_channels(slack, out)
            shown = _posts_shown(slack, store)
            themes = len(store.open_themes())
            print(
                f"\n{shown} of {expected} posts shown in Slack, in {themes} themes and cases, in "
                f"{time.monotonic() - started:.1f}s. Try `commsbot triage` on your own posts next.",
                file=out,
            )
            return 0 if shown >= expected else 1
        finally:
            runtime.stop()


def _posts_shown(slack: FakeSlack, store: Store) -> int:
    """How many posts are shown in Slack: in a theme whose message is in its channel."""
    shown: set[str] = set()
    for stored in store.open_themes():
        for channel in stored.theme.channel_names:
            text = json.dumps(slack.messages(channel), ensure_ascii=False)
            if f"*{stored.theme.ref}*" in text:
                shown.update(doc["key"] for doc in store.theme_posts(stored.theme.ref, channel))
    return len(shown)


def _print_channels(slack: FakeSlack, out: IO[str]) -> None:
    for name, channel_id in sorted(slack.channels().items()):
        messages = slack.messages(channel_id)
        parents = [m for m in messages if m.get("thread_ts", m["ts"]) == m["ts"]]
        if not parents:
            continue
        count = len(parents)
        print(f"\n#{name} ({count} theme{'s' if count != 1 else ''} and cases)", file=out)
        print("-" * (len(name) + 1), file=out)
        for parent in parents:
            lines = _message_lines(parent)
            print(f"  • {lines[0]}", file=out)
            for line in lines[1:]:
                print(f"    {line}", file=out)
            for reply in messages:
                if reply.get("thread_ts") == parent["ts"] and reply is not parent:
                    reply_lines = _message_lines(reply)
                    print(f"      ↳ {reply_lines[0]}", file=out)
                    for line in reply_lines[1:]:
                        print(f"        {line}", file=out)
