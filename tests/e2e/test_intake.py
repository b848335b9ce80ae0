"""POST /intake end to end: signed posts reach the right Slack channel; bad ones are refused."""

from __future__ import annotations

import json

from tests.conftest import BotUnderTest, http_get, http_post, intake_post, wait_until


def test_a_post_is_routed_to_its_team_channel(bot: BotUnderTest, fake_slack) -> None:
    foi = intake_post(
        "2001",
        text="How much did the council spend on agency staff in 2023? Please provide a breakdown by department.",
    )
    answer = bot.intake(foi)
    assert answer.status == 202
    assert answer.json()["results"] == [
        {
            "index": 0,
            "line": 1,
            "id": "2001",
            "status": "accepted",
            "key": "x:2001",
            "category": "foi",
            "channel": "#info-governance-foi",
        }
    ]
    wait_until(
        lambda: fake_slack.messages("#info-governance-foi"), what="the FOI post in its channel"
    )
    [message] = fake_slack.messages("#info-governance-foi")
    shown = json.dumps(message["blocks"])
    assert "agency staff in 2023" in shown
    assert "Possible FOI/EIR request" in shown
    assert "@resident_one" in shown
    assert fake_slack.messages("#comms-enquiries") == []


def test_accepted_post_is_on_disk_before_the_answer(bot: BotUnderTest, fake_slack) -> None:
    fake_slack.go_down()
    answer = bot.intake(intake_post("2002"))
    assert answer.status == 202
    # Read the files themselves, not through the store's memory.
    files = [p.read_text(encoding="utf-8") for p in bot.runtime.settings.data_dir.rglob("*.json")]
    assert any('"x:2002"' in text and "recycling centre" in text for text in files)
    record = bot.store.get_post_record("x:2002")
    assert record is not None
    assert record["category"] == "enquiry"
    assert record["channel"] == "#comms-enquiries"
    assert bot.store.outbox_stats(bot.runtime.services.clock()).pending == 1


def test_bad_signature_is_refused_and_nothing_is_stored(bot: BotUnderTest, fake_slack) -> None:
    answer = bot.intake(intake_post("2003"), secret="not-the-shared-secret-at-all")
    assert answer.status == 401
    body = json.dumps(intake_post("2003")).encode()
    unsigned = http_post(f"{bot.url}/intake", body, {"Content-Type": "application/json"})
    assert unsigned.status == 401
    assert bot.store.get_post_record("x:2003") is None
    assert bot.store.outbox_stats(bot.runtime.services.clock()).pending == 0
    assert fake_slack.calls_to("chat.postMessage") == []


def test_a_repeated_post_is_a_duplicate_and_sent_once(bot: BotUnderTest, fake_slack) -> None:
    first = bot.intake(intake_post("2004"))
    second = bot.intake(intake_post("2004", text="edited text arriving again"))
    assert first.json()["results"][0]["status"] == "accepted"
    assert second.status == 202
    assert second.json()["results"][0]["status"] == "duplicate"
    wait_until(lambda: fake_slack.calls_to("chat.postMessage"), what="the first delivery")
    bot.runtime.outbox.deliver_due()
    assert len(fake_slack.calls_to("chat.postMessage")) == 1
    # The same id on another network is another post.
    third = bot.intake(intake_post("2004", network="facebook"))
    assert third.json()["results"][0]["status"] == "accepted"


def test_batch_reports_each_item_and_keeps_the_good_ones(bot: BotUnderTest, fake_slack) -> None:
    good = intake_post("2005")
    no_author = intake_post("2006")
    del no_author["author"]
    naive_time = intake_post("2007", posted_at="2026-11-20T09:14:00")
    wrong_account = intake_post("2008", account="police")
    answer = bot.intake([good, no_author, naive_time, wrong_account, "not an object"])
    assert answer.status == 202
    body = answer.json()
    assert (body["accepted"], body["invalid"]) == (1, 4)
    results = body["results"]
    assert results[0]["status"] == "accepted"
    assert results[1] == {
        "index": 1,
        "id": "2006",
        "status": "invalid",
        "errors": [{"field": "author", "message": "Field required"}],
    }
    assert results[2]["errors"][0]["field"] == "posted_at"
    assert "UTC offset" in results[2]["errors"][0]["message"]
    assert results[3]["errors"][0]["field"] == "account"
    assert "council" in results[3]["errors"][0]["message"]
    assert results[4]["status"] == "invalid"
    assert bot.store.get_post_record("x:2005") is not None
    assert bot.store.get_post_record("x:2006") is None


def test_ndjson_body_reports_bad_lines_by_number(bot: BotUnderTest) -> None:
    lines = [json.dumps(intake_post("2101")), "{not json", "", json.dumps(intake_post("2102"))]
    answer = bot.intake(None, raw="\n".join(lines).encode())
    assert answer.status == 202
    results = answer.json()["results"]
    assert [(r.get("line"), r["status"]) for r in results] == [
        (1, "accepted"),
        (2, "invalid"),
        (4, "accepted"),
    ]


def test_wholly_invalid_body_is_a_400_naming_the_fields(bot: BotUnderTest) -> None:
    answer = bot.intake({"id": "", "network": "myspace", "text": "hi"})
    assert answer.status == 400
    fields = {e["field"] for e in answer.json()["results"][0]["errors"]}
    assert {"id", "network", "account", "author", "posted_at"} <= fields
    garbage = bot.intake(None, raw=b"[1, 2")
    assert garbage.status == 400
    assert garbage.json()["error"] == "invalid_body"


def test_oversized_body_is_refused_with_413(bot: BotUnderTest) -> None:
    big = intake_post("2201", text="x" * 100) | {"padding": "y" * (1024 * 1024 + 10)}
    answer = bot.intake(big)
    assert answer.status == 413
    assert bot.store.get_post_record("x:2201") is None


def test_public_text_cannot_ping_or_forge_links(bot: BotUnderTest, fake_slack) -> None:
    sneaky = intake_post(
        "2301",
        text="<!channel> urgent!! see <https://evil.example|www.anyshire.gov.uk> & <@U0HEAD>",
        author={"handle": "<!here>", "name": "<https://evil.example|Council>"},
    )
    assert bot.intake(sneaky).status == 202
    wait_until(lambda: fake_slack.calls_to("chat.postMessage"), what="delivery")
    call = fake_slack.calls_to("chat.postMessage")[0]
    everything = json.dumps(call.params)
    for forbidden in ("<!channel>", "<!here>", "<https://evil.example", "<@U0HEAD>"):
        assert forbidden not in everything
    assert "&lt;!channel&gt;" in everything
    assert "&amp;" in everything


def test_healthz_reports_storage_workers_and_backlog(bot: BotUnderTest, fake_slack) -> None:
    fake_slack.go_down()
    bot.intake(intake_post("2401"))
    answer = http_get(f"{bot.url}/healthz")
    assert answer.status == 200
    body = answer.json()
    assert body["status"] == "ok"
    assert body["storage"] == "ok"
    assert body["outbox_worker"] == "running"
    assert body["scheduler"] == "running"
    assert body["outbox"]["pending"] == 1


def test_unknown_paths_and_methods(bot: BotUnderTest) -> None:
    assert http_get(f"{bot.url}/nope").status == 404
    assert http_get(f"{bot.url}/intake").status == 405


def test_a_post_from_a_network_the_account_is_not_on_is_invalid(bot: BotUnderTest) -> None:
    answer = bot.intake(intake_post("2501", account="fire", network="linkedin"))
    assert answer.status == 400
    [error] = answer.json()["results"][0]["errors"]
    assert error["field"] == "network"
    assert "'fire' is not on linkedin" in error["message"]
    assert bot.intake(intake_post("2502", account="fire", network="other")).status == 202


def test_names_cannot_fake_the_message_layout(bot: BotUnderTest, fake_slack) -> None:
    # A handle is an identifier: a line break in it is refused, not quietly cleaned.
    forged = intake_post("2601", author={"handle": "bob*\n\n:rotating_light: *Urgent*"})
    answer = bot.intake(forged)
    assert answer.status == 400
    assert answer.json()["results"][0]["errors"][0]["field"] == "author.handle"
    # A display name is shown inline with its control characters made spaces.
    post = intake_post("2602", author={"handle": "@bob", "name": "A\tB\x07C"})
    assert bot.intake(post).status == 202
    record = bot.store.get_post_record("x:2602")
    assert record["author"] == {"handle": "@bob", "name": "A B C", "followers": None}


def test_posted_at_must_be_iso_text(bot: BotUnderTest) -> None:
    answer = bot.intake(intake_post("2701", posted_at=1700000000))
    assert answer.status == 400
    [error] = answer.json()["results"][0]["errors"]
    assert error["field"] == "posted_at" and "ISO 8601" in error["message"]


def test_oversized_slack_request_is_refused(bot: BotUnderTest) -> None:
    answer = http_post(f"{bot.url}/slack/events", b"x" * (1024 * 1024 + 1), {})
    assert answer.status == 413
