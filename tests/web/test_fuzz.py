"""Fuzzing /intake and /slack/events with hostile bodies: never a 5xx; accepted means stored.

Bounded for the suite (a fixed, repeatable set of examples). For a longer run:

    COMMSBOT_FUZZ_EXAMPLES=3000 .venv/bin/python -m pytest tests/web/test_fuzz.py -p no:cacheprovider

which draws new random examples each time and prints how many answers of each status came.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.fakeslack import FakeSlack
from bot.runtime import Runtime, build_runtime
from bot.settings import Settings
from bot.web.intake import SIGNATURE_HEADER, sign
from tests.conftest import (
    BOT_TOKEN,
    CONFIG_DIR,
    INTAKE_SECRET,
    SIGNING_SECRET,
    http_post,
    intake_post,
)

LONG_RUN = "COMMSBOT_FUZZ_EXAMPLES" in os.environ
EXAMPLES = int(os.environ.get("COMMSBOT_FUZZ_EXAMPLES", "100"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not LONG_RUN,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
STATUSES: dict[str, Counter[int]] = {"/intake": Counter(), "/slack/events": Counter()}


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    root = tmp_path_factory.mktemp("fuzz")
    shutil.copytree(CONFIG_DIR, root / "config")
    with FakeSlack(bot_token=BOT_TOKEN) as slack:
        settings_ = Settings(
            bot_token=BOT_TOKEN,
            signing_secret=SIGNING_SECRET,
            app_token=None,
            intake_secret=INTAKE_SECRET,
            api_url=slack.url,
            config_dir=root / "config",
            data_dir=root / "data",
            port=0,
        )
        running = build_runtime(settings_, host="127.0.0.1", outbox_idle_seconds=0.2)
        running.start()
        yield running
        running.stop()
    if LONG_RUN:
        for path, counts in STATUSES.items():
            print(
                f"\n{path}: {sum(counts.values())} bodies, answers {dict(sorted(counts.items()))}"
            )


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)
FIELDS = ["id", "network", "account", "author", "text", "url", "posted_at", "kind"]
awkward_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=60
) | st.sampled_from(
    ["", " ", "x\x00", "\u2028", "<!channel>", "9" * 5000, "[" * 3000, "2026-11-20T09:14:00+00:00"]
)


@st.composite
def mutated_posts(draw: st.DrawFn) -> dict[str, Any]:
    """A valid post with some fields replaced by anything at all."""
    post = intake_post(draw(st.text(min_size=1, max_size=12)))
    for field in draw(st.lists(st.sampled_from(FIELDS), max_size=3, unique=True)):
        post[field] = draw(json_values | awkward_text)
    if draw(st.booleans()):
        post["author"] = draw(
            st.dictionaries(
                st.sampled_from(["handle", "name", "followers"]), json_values | awkward_text
            )
        )
    return post


def _body(value: Any) -> bytes:
    return json.dumps(value).encode("utf-8")


intake_bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(_body),
    mutated_posts().map(_body),
    st.lists(mutated_posts() | json_values, min_size=1, max_size=8).map(_body),
    st.lists(mutated_posts(), min_size=1, max_size=5).map(
        lambda posts: "\n".join(json.dumps(p) for p in posts).encode()
    ),
    awkward_text.map(lambda text: text.encode("utf-8")),
)


def _post(url: str, body: bytes, headers: dict[str, str], path: str) -> int:
    answer = http_post(url, body, headers)
    STATUSES[path][answer.status] += 1
    assert answer.status < 500, (answer.status, body[:300], answer.body[:300])
    return answer.status


@FUZZ
@given(body=intake_bodies)
def test_intake_never_answers_5xx_and_stores_what_it_accepts(runtime: Runtime, body: bytes) -> None:
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, INTAKE_SECRET)}
    answer = http_post(f"{runtime.base_url}/intake", body, headers)
    STATUSES["/intake"][answer.status] += 1
    assert answer.status in (202, 400, 413), (answer.status, body[:300], answer.body[:300])
    if answer.status == 202:
        for result in answer.json()["results"]:
            if result["status"] in ("accepted", "duplicate"):
                assert runtime.services.store.get_post_record(result["key"]) is not None


slack_forms = st.dictionaries(
    st.sampled_from(["command", "user_id", "text", "team_id", "channel_id", "payload", "ssl_check"])
    | st.text(max_size=8),
    awkward_text,
    max_size=6,
).map(lambda form: urlencode(form).encode())
slash_commands = st.builds(
    lambda text, user: urlencode(
        {"command": "/comms", "user_id": user, "text": text, "team_id": "T0COMMS"}
    ).encode(),
    st.one_of(awkward_text, awkward_text.map(lambda t: "flag " + t)),
    st.text(min_size=1, max_size=12),
)
events = st.builds(
    lambda event, event_id, kind: _body(
        {"type": kind, "event_id": event_id, "team_id": "T0COMMS", "event": event}
    ),
    st.dictionaries(
        st.sampled_from(["type", "user", "tab", "channel", "text"]) | st.text(max_size=6),
        json_values | awkward_text,
        max_size=5,
    ),
    st.text(max_size=12),
    st.sampled_from(["event_callback", "url_verification", "app_rate_limited", "block_actions"])
    | st.text(max_size=10),
)
payloads = json_values.map(lambda value: urlencode({"payload": json.dumps(value)}).encode())
slack_bodies = st.tuples(
    st.one_of(
        st.binary(max_size=300),
        json_values.map(_body),
        slack_forms,
        slash_commands,
        events,
        payloads,
    ),
    st.sampled_from(["application/json", "application/x-www-form-urlencoded", "text/plain", ""]),
)


@FUZZ
@given(request=slack_bodies)
def test_slack_events_never_answer_5xx(runtime: Runtime, request: tuple[bytes, str]) -> None:
    body, content_type = request
    headers = _signed(body) | ({"Content-Type": content_type} if content_type else {})
    _post(f"{runtime.base_url}/slack/events", body, headers, "/slack/events")


def _signed(body: bytes) -> dict[str, str]:
    """Slack's headers for raw bytes (which need not be UTF-8)."""
    stamp = str(int(time.time()))
    base = b"v0:" + stamp.encode() + b":" + body
    digest = hmac.new(SIGNING_SECRET.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}
