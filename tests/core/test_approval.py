"""Who may approve which version of a suggested reply, and what the publisher may send."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bot.core.approval import (
    COMMSBOT,
    ApprovalPolicy,
    Refusal,
    SuggestionRecord,
    SuggestionStatus,
    Version,
    add_version,
    approve,
    publishable,
    requirement_for,
    text_hash,
    word_diff,
)
from bot.core.people import People, is_one_of

NOW = datetime(2025, 3, 3, 10, tzinfo=UTC)
GROUPS = {"S0APPROVERS": frozenset({"U0INGROUP1"})}
POLICY = ApprovalPolicy(
    approvers=People(frozenset({"U0APPROVE1", "U0APPROVE2"}), frozenset({"S0APPROVERS"})),
    two_approvers=frozenset({"complaint"}),
    political_approvers=People(frozenset({"U0POLITIC1"})),
    crisis_approver=People(frozenset({"U0CRISIS01"})),
)


def member(user: str, people: People) -> bool:
    return is_one_of(user, people, usergroup_members=GROUPS)


def record(*, category: str = "enquiry", author: str = COMMSBOT, fits: bool = True):
    version = Version(n=1, text="Hello, thanks.", template="t", author=author, at=NOW, fits=fits)
    return SuggestionRecord(
        id="T-0001.1",
        theme="T-0001",
        account="council",
        network="x",
        channel="#c",
        category=category,
        versions=(version,),
    )


def approvals(rec, users, *, political=False, crisis=False):
    requirement = requirement_for(POLICY, category=rec.category, political=political, crisis=crisis)
    verdict = None
    for user in users:
        rec, verdict = approve(
            rec, version=rec.latest.n, user=user, requirement=requirement, is_one_of=member, now=NOW
        )
    return rec, verdict, requirement


@pytest.mark.parametrize(
    ("what", "category", "author", "users", "political", "crisis", "refusal", "approved"),
    [
        ("named approver", "enquiry", COMMSBOT, ["U0APPROVE1"], False, False, None, True),
        (
            "approver through a user group",
            "enquiry",
            COMMSBOT,
            ["U0INGROUP1"],
            False,
            False,
            None,
            True,
        ),
        (
            "stranger",
            "enquiry",
            COMMSBOT,
            ["U0STRANGER"],
            False,
            False,
            Refusal.NOT_APPROVER,
            False,
        ),
        (
            "own edit",
            "enquiry",
            "U0APPROVE1",
            ["U0APPROVE1"],
            False,
            False,
            Refusal.OWN_VERSION,
            False,
        ),
        (
            "two-approver category, one",
            "complaint",
            COMMSBOT,
            ["U0APPROVE1"],
            False,
            False,
            None,
            False,
        ),
        (
            "two-approver category, same twice",
            "complaint",
            COMMSBOT,
            ["U0APPROVE1", "U0APPROVE1"],
            False,
            False,
            None,
            False,
        ),
        (
            "two-approver category, two",
            "complaint",
            COMMSBOT,
            ["U0APPROVE1", "U0APPROVE2"],
            False,
            False,
            None,
            True,
        ),
        (
            "political, ordinary approver",
            "enquiry",
            COMMSBOT,
            ["U0APPROVE1"],
            True,
            False,
            Refusal.NEEDS_ROLE,
            False,
        ),
        (
            "political, political approver",
            "enquiry",
            COMMSBOT,
            ["U0POLITIC1"],
            True,
            False,
            None,
            True,
        ),
        (
            "political, two needed, ordinary then political",
            "complaint",
            COMMSBOT,
            ["U0APPROVE1", "U0POLITIC1"],
            True,
            False,
            None,
            True,
        ),
        (
            "crisis, ordinary approver",
            "enquiry",
            COMMSBOT,
            ["U0APPROVE1"],
            False,
            True,
            Refusal.NEEDS_CRISIS_APPROVER,
            False,
        ),
        ("crisis, crisis approver", "enquiry", COMMSBOT, ["U0CRISIS01"], False, True, None, True),
    ],
)
def test_who_may_approve_what(what, category, author, users, political, crisis, refusal, approved):
    rec, verdict, _ = approvals(
        record(category=category, author=author), users, political=political, crisis=crisis
    )
    assert verdict.refusal is refusal, what
    assert (rec.status is SuggestionStatus.APPROVED) is approved, what


def test_over_length_text_cannot_be_approved() -> None:
    _, verdict, _ = approvals(record(fits=False), ["U0APPROVE1"])
    assert verdict.refusal is Refusal.DOES_NOT_FIT


def test_nobody_configured_means_nobody_may_approve() -> None:
    requirement = requirement_for(
        ApprovalPolicy(), category="enquiry", political=False, crisis=False
    )
    _, verdict = approve(
        record(), version=1, user="U0APPROVE1", requirement=requirement, is_one_of=member, now=NOW
    )
    assert verdict.refusal is Refusal.NOT_APPROVER


def test_publishable_only_with_an_approval_of_exactly_the_text() -> None:
    rec, _, requirement = approvals(record(), ["U0APPROVE1"])
    allowed = publishable(rec, requirement=requirement, is_one_of=member)
    assert allowed is not None and allowed.text == "Hello, thanks."
    assert allowed.hash == text_hash("Hello, thanks.")
    tampered = replace(rec, versions=(replace(rec.latest, text="Hello, thanks!"),))
    assert publishable(tampered, requirement=requirement, is_one_of=member) is None
    edited = add_version(rec, text="Other", template="t", author="U0APPROVE2", now=NOW, fits=True)
    assert publishable(edited, requirement=requirement, is_one_of=member) is None
    stricter = requirement_for(POLICY, category="complaint", political=False, crisis=False)
    assert publishable(rec, requirement=stricter, is_one_of=member) is None


def test_an_approval_by_someone_no_longer_an_approver_counts_for_nothing() -> None:
    rec, verdict, _ = approvals(record(category="complaint"), ["U0APPROVE1"])
    assert verdict.still_needed == 1
    fewer = replace(POLICY, approvers=People(frozenset({"U0APPROVE2", "U0APPROVE3"})))
    now = requirement_for(fewer, category="complaint", political=False, crisis=False)
    rec, verdict = approve(
        rec, version=1, user="U0APPROVE2", requirement=now, is_one_of=member, now=NOW
    )
    assert not verdict.complete and verdict.still_needed == 1
    assert rec.status is SuggestionStatus.PENDING
    forced = replace(rec, status=SuggestionStatus.APPROVED)  # even if it were marked approved
    assert publishable(forced, requirement=now, is_one_of=member) is None
    rec, verdict = approve(
        rec, version=1, user="U0APPROVE3", requirement=now, is_one_of=member, now=NOW
    )
    allowed = publishable(rec, requirement=now, is_one_of=member)
    assert verdict.complete and allowed is not None
    assert set(allowed.approved_by) == {"U0APPROVE2", "U0APPROVE3"}


def test_an_edit_is_shown_word_by_word() -> None:
    parts = [(p.op.value, p.text) for p in word_diff("We will reply soon.", "We will reply today.")]
    assert ("removed", "soon.") in parts and ("added", "today.") in parts
