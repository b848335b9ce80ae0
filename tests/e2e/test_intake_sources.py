"""POST /intake/<source>: monitoring tools post in their own format, with their own secret."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.web.intake import SIGNATURE_HEADER, sign
from tests.conftest import REPO, Answer, BotUnderTest, http_post, wait_until

EXAMPLES = REPO / "examples" / "sources"
SECRET = "source-secret-0123456789abcdef"
WRONG = "not-the-secret-0123456789abcdef"
ENV = {
    "COMMSBOT_SOURCE_MONITORING_TOKEN": SECRET,
    "COMMSBOT_SOURCE_SMM_SECRET": SECRET,
}
# Each way a source can authenticate, as sources.yaml writes it.
AUTH = {
    "hmac": {"method": "hmac"},
    "bearer": {"method": "bearer"},
    "header": {"method": "header", "header": "X-Inbox-Secret"},
}


def _use_auth(config_dir: Path, source: str, method: str) -> None:
    """Switch a shipped source to another authentication method in the test's config copy."""
    path = config_dir / "sources.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    auth = data["sources"][source]["auth"]
    data["sources"][source]["auth"] = AUTH[method] | {"secret_env": auth["secret_env"]}
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def _headers(method: str, body: bytes, secret: str | None) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    if secret is None:
        return headers
    if method == "hmac":
        return headers | {SIGNATURE_HEADER: sign(body, secret)}
    if method == "bearer":
        return headers | {"Authorization": f"Bearer {secret}"}
    return headers | {"X-Inbox-Secret": secret}


def _post(
    bot: BotUnderTest, source: str, payload: Any, *, method: str, secret: str | None
) -> Answer:
    body = json.dumps(payload).encode("utf-8")
    return http_post(f"{bot.url}/intake/{source}", body, _headers(method, body, secret))


def _example(name: str) -> Any:
    return json.loads((EXAMPLES / name).read_text(encoding="utf-8"))


CASES = [
    ("monitoring", "monitoring.json", "bearer"),
    ("monitoring", "monitoring.json", "hmac"),
    ("smm-inbox", "smm-inbox.json", "header"),
    ("smm-inbox", "smm-inbox.json", "hmac"),
]


@pytest.mark.parametrize(("source", "example", "method"), CASES)
def test_a_shipped_example_is_taken_as_the_tool_sends_it(
    start_bot, config_dir: Path, fake_slack, source: str, example: str, method: str
) -> None:
    _use_auth(config_dir, source, method)
    bot = start_bot(environ=ENV)
    answer = _post(bot, source, _example(example), method=method, secret=SECRET)
    assert answer.status == 202, answer.body
    results = answer.json()["results"]
    assert [r["status"] for r in results] == ["accepted"] * len(results)
    for result in results:
        record = bot.store.get_post_record(result["key"])
        assert record is not None
        wait_until(
            lambda r=result: any(m.get("ts") for m in fake_slack.messages(r["channel"])),
            what=f"the post in {result['channel']}",
        )


def test_the_monitoring_example_maps_every_field(start_bot, fake_slack) -> None:
    bot = start_bot(environ=ENV)
    answer = _post(bot, "monitoring", _example("monitoring.json"), method="bearer", secret=SECRET)
    first, second = answer.json()["results"]
    # The tool's numeric id is kept as text, and twitter is X.
    assert first["key"] == "x:1859123456789012345" and first["id"] == "1859123456789012345"
    record = bot.store.get_post_record(first["key"])
    assert record["account"] == "council" and record["kind"] == "reply"
    assert record["author"]["handle"] == "resident_one"
    assert record["author"]["followers"] == 120
    assert record["posted_at"].startswith("2026-11-20T09:14:00")
    assert second["key"] == "facebook:1859123456789012399"
    assert second["category"] == "foi"


def test_the_platform_example_maps_the_profile_to_its_account(start_bot) -> None:
    bot = start_bot(environ=ENV)
    answer = _post(bot, "smm-inbox", _example("smm-inbox.json"), method="header", secret=SECRET)
    (result,) = answer.json()["results"]
    record = bot.store.get_post_record(result["key"])
    assert result["key"] == "facebook:98765432"
    assert record["account"] == "fire" and record["kind"] == "comment"
    assert record["author"]["followers"] == 312


@pytest.mark.parametrize(
    ("source", "example", "method"),
    [("monitoring", "monitoring.json", "bearer"), ("smm-inbox", "smm-inbox.json", "header")]
    + [
        (s, e, "hmac")
        for s, e in (("monitoring", "monitoring.json"), ("smm-inbox", "smm-inbox.json"))
    ],
)
def test_a_wrong_or_missing_secret_is_refused_and_nothing_is_stored(
    start_bot, config_dir: Path, fake_slack, source: str, example: str, method: str
) -> None:
    _use_auth(config_dir, source, method)
    bot = start_bot(environ=ENV)
    for secret in (WRONG, None):
        answer = _post(bot, source, _example(example), method=method, secret=secret)
        assert answer.status == 401, secret
        assert answer.json()["error"] == "invalid_signature"
    assert bot.store.get_post_record("x:1859123456789012345") is None
    assert bot.store.get_post_record("facebook:98765432") is None
    assert bot.store.outbox_items() == []


def test_a_source_secret_does_not_open_another_source(start_bot) -> None:
    env = ENV | {"COMMSBOT_SOURCE_SMM_SECRET": "another-secret-0123456789abcdef"}
    bot = start_bot(environ=env)
    answer = _post(bot, "smm-inbox", _example("smm-inbox.json"), method="header", secret=SECRET)
    assert answer.status == 401


def test_mapping_errors_name_the_field_and_the_path(start_bot) -> None:
    bot = start_bot(environ=ENV)
    payload = _example("monitoring.json")
    good, bad = payload["mentions"]
    bad = bad | {"published_at": "yesterday", "content": None}
    del bad["author"]
    answer = _post(
        bot, "monitoring", payload | {"mentions": [good, bad]}, method="bearer", secret=SECRET
    )
    assert answer.status == 202
    body = answer.json()
    assert body["accepted"] == 1 and body["invalid"] == 1
    errors = {e["field"]: e["message"] for e in body["results"][1]["errors"]}
    assert set(errors) == {"posted_at", "text", "author.handle"}
    assert "'yesterday' is not a count of seconds since 1970" in errors["posted_at"]
    assert "published_at" in errors["posted_at"]
    assert "nothing at content" in errors["text"]
    assert "nothing at author.username" in errors["author.handle"]


def test_a_payload_without_the_items_list_is_a_400(start_bot) -> None:
    bot = start_bot(environ=ENV)
    answer = _post(bot, "monitoring", {"alert_id": "a-1"}, method="bearer", secret=SECRET)
    assert answer.status == 400
    assert "nothing at mentions" in answer.json()["message"]


def test_an_unknown_source_is_404(start_bot) -> None:
    bot = start_bot(environ=ENV)
    answer = _post(bot, "no-such-tool", {"id": 1}, method="bearer", secret=SECRET)
    assert answer.status == 404
    assert answer.json()["error"] == "unknown_source"


def test_a_source_without_its_secret_is_off(start_bot) -> None:
    bot = start_bot(environ={})
    answer = _post(bot, "monitoring", _example("monitoring.json"), method="bearer", secret=SECRET)
    assert answer.status == 503
    assert "COMMSBOT_SOURCE_MONITORING_TOKEN" in answer.json()["message"]
    assert bot.store.outbox_items() == []


def test_a_source_keeps_the_intake_limits(start_bot, config_dir: Path) -> None:
    desk = config_dir / "desk.yaml"
    desk.write_text(
        desk.read_text(encoding="utf-8").replace("max_items: 1000", "max_items: 1"),
        encoding="utf-8",
    )
    bot = start_bot(environ=ENV)
    answer = _post(bot, "monitoring", _example("monitoring.json"), method="bearer", secret=SECRET)
    assert answer.status == 413
    assert answer.json()["error"] == "too_many_items"


def test_a_weak_source_secret_stops_start_up(start_bot) -> None:
    from bot.runtime import StartupError

    with pytest.raises(StartupError, match="COMMSBOT_SOURCE_MONITORING_TOKEN"):
        start_bot(environ={"COMMSBOT_SOURCE_MONITORING_TOKEN": "short"})
