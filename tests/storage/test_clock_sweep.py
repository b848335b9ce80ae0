"""The reminder and escalation sweep with a controllable clock: the stored state decides.

Thresholds fire once; out of hours they wait for the opening; a restart (even one that cut
a sweep short) sends nothing twice; answered themes stop; acknowledging stops the levels.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import pytest

from bot.config import load_config
from bot.core.deadlines import PauseReason
from bot.core.posts import Author, Category, Classification, Network, Post
from bot.desk import Desk
from bot.storage import Store
from bot.storage.atomic import encode, read_data_file, write_atomically
from bot.storage.intents import Intents
from tests.conftest import CONFIG_DIR

MONDAY_10 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # GMT: 10:00 in London
ENQUIRY = Classification(Category.ENQUIRY, "enquiry-question")
FOI = Classification(Category.FOI, "foi-request")
URGENT = Classification(Category.URGENT, "urgent-risk")


@cache
def _config():  # type: ignore[no-untyped-def]
    return load_config(CONFIG_DIR)


def open_store(path: Path, *, officers: bool = False) -> Store:
    config = _config()
    return Store(
        path,
        themes=config.themes,
        clocks=config.clocks,
        escalation=config.escalation if officers else None,
    )


def post(post_id: str, text: str, *, at: datetime = MONDAY_10) -> Post:
    return Post(
        id=post_id,
        network=Network.X,
        account="council",
        author=Author("@someone", "Some One", 5),
        text=text,
        posted_at=at - timedelta(minutes=1),
        url=f"https://x.com/someone/status/{post_id}",
    )


def reminders(store: Store) -> list[tuple[str, str]]:
    return [(i.channel, i.data["threshold"]) for i in store.outbox_items() if i.kind == "reminder"]


def escalation_dms(store: Store) -> list[tuple[str, str]]:
    return [(i.channel, i.data["step"]) for i in store.outbox_items() if i.kind == "escalation"]


def test_a_theme_gets_its_deadline_when_it_opens(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        ref = store.accept_post(
            post("1", "When does the library open?"), ENQUIRY, channel="#e", now=MONDAY_10
        ).theme
        stored = store.theme(ref or "")
        assert stored is not None and stored.clock is not None
        assert (stored.clock.kind, stored.clock.due_at) == ("theme", MONDAY_10 + timedelta(days=1))


def test_each_threshold_fires_once_into_the_thread(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        store.accept_post(
            post("1", "When does the library open?"), ENQUIRY, channel="#e", now=MONDAY_10
        )
        half_time = MONDAY_10 + timedelta(hours=4)
        assert store.sweep_clocks(now=half_time - timedelta(minutes=1)).reminders == 0
        assert store.sweep_clocks(now=half_time).reminders == 1
        assert store.sweep_clocks(now=half_time + timedelta(minutes=1)).reminders == 0
        assert reminders(store) == [("#e", "half_time")]
        item = store.outbox_items()[0]
        assert item.data["thread_of"] and item.data["broadcast"] is True  # no owner


def test_the_owner_is_reminded_by_dm_and_only_the_latest_of_several_is_sent(
    tmp_path: Path,
) -> None:
    with open_store(tmp_path) as store:
        ref = store.accept_post(
            post("1", "When does the library open?"), ENQUIRY, channel="#e", now=MONDAY_10
        ).theme
        store.claim_theme(ref or "", owner="U0OWNER001", now=MONDAY_10)
        # Asleep all day: at 09:30 on Tuesday half time and one hour left have both passed.
        store.sweep_clocks(now=MONDAY_10 + timedelta(hours=23, minutes=30))
        assert reminders(store) == [("#e", "one_hour_left"), ("U0OWNER001", "one_hour_left")]
        audit = [e for e in store.audit_entries(MONDAY_10.date() + timedelta(days=1))]
        sent = [e for e in audit if e["action"] == "reminder.sent"]
        assert sent[0]["passed"] == ["half_time"]


def test_a_reminder_out_of_hours_waits_for_the_opening(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        ref = store.accept_post(
            post("1", "FOI: how much was spent?"), FOI, channel="#foi", now=MONDAY_10
        ).theme
        stored = store.theme(ref or "")
        assert stored is not None and stored.clock is not None
        overdue = next(
            f for f in store.clocks.schedule(stored.clock.item) if f.threshold_id == "overdue"
        )
        assert overdue.deliver_at > overdue.fires_at  # due at the end of a day, at night
        store.sweep_clocks(now=overdue.fires_at + timedelta(hours=1))
        assert "overdue" not in [t for _, t in reminders(store)]
        store.sweep_clocks(now=overdue.deliver_at)
        assert reminders(store)[-1] == ("#foi", "overdue")


def test_urgent_reminders_go_out_at_night(tmp_path: Path) -> None:
    saturday_night = datetime(2026, 3, 7, 23, 0, tzinfo=UTC)
    with open_store(tmp_path) as store:
        store.accept_post(
            post("1", "Someone is on the bridge", at=saturday_night),
            URGENT,
            channel="#urgent",
            now=saturday_night,
        )
        store.sweep_clocks(now=saturday_night + timedelta(minutes=30))
        assert reminders(store) == [("#urgent", "half_time")]


def test_answered_and_closed_themes_stop_reminding(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        ref = store.accept_post(
            post("1", "When does the library open?"), ENQUIRY, channel="#e", now=MONDAY_10
        ).theme
        store.mark_theme_answered(ref or "", by="U0STAFF001", now=MONDAY_10 + timedelta(hours=1))
        store.sweep_clocks(now=MONDAY_10 + timedelta(days=3))
        assert reminders(store) == []
        assert store.waiting_themes(limit=10)[1] == 0


def test_a_restart_sends_nothing_twice(tmp_path: Path) -> None:
    half_time = MONDAY_10 + timedelta(hours=4)
    with open_store(tmp_path) as store:
        store.accept_post(
            post("1", "When does the library open?"), ENQUIRY, channel="#e", now=MONDAY_10
        )
        store.sweep_clocks(now=half_time)
    with open_store(tmp_path) as store:
        store.sweep_clocks(now=half_time + timedelta(minutes=1))
        assert reminders(store) == [("#e", "half_time")]


def test_a_crash_between_queueing_and_recording_sends_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    half_time = MONDAY_10 + timedelta(hours=4)
    with open_store(tmp_path) as store:
        store.accept_post(
            post("1", "When does the library open?"), ENQUIRY, channel="#e", now=MONDAY_10
        )

        def crash(self: Intents, writes: object) -> None:
            raise OSError("power cut")

        monkeypatch.setattr(Intents, "_perform", crash)
        with pytest.raises(OSError):
            store.sweep_clocks(now=half_time)
        monkeypatch.undo()
    with open_store(tmp_path) as store:  # the intent is carried out at start
        assert reminders(store) == [("#e", "half_time")]
        store.sweep_clocks(now=half_time + timedelta(minutes=1))
        assert reminders(store) == [("#e", "half_time")]


def test_intake_escalates_and_acknowledging_stops_the_next_level(tmp_path: Path) -> None:
    with open_store(tmp_path, officers=True) as store:
        ref = (
            store.accept_post(
                post("1", "FOI: how much was spent on consultants?"),
                FOI,
                channel="#foi",
                now=MONDAY_10,
            ).theme
            or ""
        )
        store.sweep_clocks(now=MONDAY_10)
        assert escalation_dms(store) == [("U0EXAMPLE02", "1.1")]  # the FOI lead
        stored = store.theme(ref)
        assert stored is not None
        escalation = stored.escalations[0]
        store.acknowledge_escalation(
            ref, escalation.id, by="U0EXAMPLE02", now=MONDAY_10 + timedelta(hours=1)
        )
        assert not store.acknowledge_escalation(ref, escalation.id, by="U0EXAMPLE02", now=MONDAY_10)
        store.sweep_clocks(now=MONDAY_10 + timedelta(hours=5))  # past the 4 hour wait
        assert escalation_dms(store) == [("U0EXAMPLE02", "1.1")]


def test_without_acknowledgement_the_next_level_is_told(tmp_path: Path) -> None:
    with open_store(tmp_path, officers=True) as store:
        store.accept_post(
            post("1", "FOI: how much was spent on consultants?"), FOI, channel="#foi", now=MONDAY_10
        )
        store.sweep_clocks(now=MONDAY_10)
        store.sweep_clocks(now=MONDAY_10 + timedelta(hours=4))
        assert escalation_dms(store) == [("U0EXAMPLE02", "1.1"), ("U0EXAMPLE01", "1.2")]


def test_a_missed_deadline_starts_the_breach_policy(tmp_path: Path) -> None:
    with open_store(tmp_path, officers=True) as store:
        store.accept_post(
            post("1", "When does the library open?"), ENQUIRY, channel="#e", now=MONDAY_10
        )
        store.sweep_clocks(now=MONDAY_10 + timedelta(days=1, minutes=1))
        assert escalation_dms(store) == [("U0EXAMPLE08", "1.1")]  # the duty manager
        actions = [e["action"] for e in store.audit_entries((MONDAY_10 + timedelta(days=1)).date())]
        assert "deadline.missed" in actions and "escalation.notified" in actions


def test_subject_access_pause_and_resume_move_the_due_date(tmp_path: Path) -> None:
    sar = Classification(Category.SUBJECT_ACCESS, "sar")
    with open_store(tmp_path) as store:
        ref = (
            store.accept_post(
                post("1", "I want all the data you hold about me"),
                sar,
                channel="#ig",
                now=MONDAY_10,
            ).theme
            or ""
        )
        before = store.theme(ref)
        assert before is not None and before.clock is not None
        paused = store.subject_access(
            ref,
            action="pause",
            reason=PauseReason.CLARIFICATION,
            by="U0STAFF001",
            now=MONDAY_10 + timedelta(days=2),
        )
        assert paused.clock is not None and paused.clock.paused
        resumed = store.subject_access(
            ref, action="resume", by="U0STAFF001", now=MONDAY_10 + timedelta(days=6)
        )
        assert resumed.clock is not None and resumed.clock.due_at > before.clock.due_at
        actions = [e["action"] for e in store.audit_entries((MONDAY_10 + timedelta(days=6)).date())]
        assert "subject_access.resume" in actions


def digests(store: Store) -> list[str]:
    return [i.channel for i in store.outbox_items() if i.kind == "due_digest"]


def test_the_daily_digest_goes_once_a_day_even_across_a_restart(tmp_path: Path) -> None:

    friday = MONDAY_10 - timedelta(days=3)
    opening = MONDAY_10 - timedelta(hours=1, seconds=-30)  # 09:00:30 on Monday
    with open_store(tmp_path) as store:
        store.accept_post(
            post("1", "When does the library open?", at=friday), ENQUIRY, channel="#e", now=friday
        )
        desk = Desk(config=_config(), store=store)
        assert desk.daily_digest(now=opening) == 1
        assert desk.daily_digest(now=opening + timedelta(minutes=5)) == 0
    with open_store(tmp_path) as store:  # restarted inside the job's grace time
        desk = Desk(config=_config(), store=store)
        assert desk.daily_digest(now=opening + timedelta(minutes=10)) == 0
        assert digests(store) == ["#e"]
        assert desk.daily_digest(now=opening + timedelta(days=1)) == 1  # Tuesday's
        assert digests(store) == ["#e", "#e"]


def test_a_crash_while_queueing_the_digest_sends_it_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:

    opening = MONDAY_10 - timedelta(hours=1)
    with open_store(tmp_path) as store:
        store.accept_post(
            post("1", "When does the library open?", at=opening - timedelta(days=3)),
            ENQUIRY,
            channel="#e",
            now=opening - timedelta(days=3),
        )

        def crash(self: Intents, writes: object) -> None:
            raise OSError("power cut")

        monkeypatch.setattr(Intents, "_perform", crash)
        with pytest.raises(OSError):
            Desk(config=_config(), store=store).daily_digest(now=opening)
        monkeypatch.undo()
    with open_store(tmp_path) as store:  # the intent is carried out at start
        assert Desk(config=_config(), store=store).daily_digest(now=opening) == 0
        assert digests(store) == ["#e"]


@pytest.mark.parametrize(
    ("category", "kind"),
    [("foi", "foi"), ("subject_access", "subject_access"), ("urgent", "urgent")],
)
def test_recategorising_a_theme_gives_it_the_deadline_of_its_new_kind_from_receipt(
    tmp_path: Path, category: str, kind: str
) -> None:
    clocks = _config().clocks
    with open_store(tmp_path) as store:
        ref = store.accept_post(
            post("1", "Please send me what you hold"), ENQUIRY, channel="#e", now=MONDAY_10
        ).theme
        later = MONDAY_10 + timedelta(days=1)
        store.recategorise_theme(
            ref or "", category=category, channels=("#foi",), by="U0STAFF001", now=later
        )
        stored = store.theme(ref or "")
        assert stored is not None and stored.clock is not None
        expected = clocks.deadline(kind, received_at=MONDAY_10).due_at
        assert (stored.clock.kind, stored.clock.received_at) == (kind, MONDAY_10)
        assert stored.clock.due_at == expected
        assert (stored.clock.sar is not None) == (kind == "subject_access")
        entry = [
            e for e in store.audit_entries(later.date()) if e["action"] == "theme.recategorised"
        ]
        assert entry[-1]["new_deadline"] == {"kind": kind, "due_at": expected.isoformat()}
        assert entry[-1]["deadline"]["kind"] == "theme"


def test_a_theme_stored_before_clocks_existed_gets_one_from_its_first_post(
    tmp_path: Path,
) -> None:
    friday = MONDAY_10 - timedelta(days=3)
    with open_store(tmp_path) as store:
        ref = store.accept_post(
            post("1", "FOI: how much was spent?", at=friday), FOI, channel="#foi", now=friday
        ).theme
    path = next(tmp_path.rglob(f"open/{ref}.json"))
    data = read_data_file(path)
    assert data is not None
    data["theme"].pop("clock")  # as an older commsbot stored it
    write_atomically(path, encode(data))
    with open_store(tmp_path) as store:
        assert store.theme(ref or "").clock is None  # type: ignore[union-attr]
        store.sweep_clocks(now=MONDAY_10)
        stored = store.theme(ref or "")
        assert stored is not None and stored.clock is not None
        expected = _config().clocks.deadline("foi", received_at=friday).due_at
        assert (stored.clock.received_at, stored.clock.due_at) == (friday, expected)
        assert [t.theme.ref for t in store.waiting_themes(limit=5)[0]] == [ref]
        started = [
            e for e in store.audit_entries(MONDAY_10.date()) if e["action"] == "deadline.started"
        ]
        assert started[0]["due_at"] == expected.isoformat()
