"""Personal-data and link flags: what raises them, what must not, and what they reveal."""

from __future__ import annotations

import pytest

from bot.core.flags import detect_flags, mask_personal_data
from bot.core.posts import Flag, FlagHit

EMAIL = "email address"
PHONE = "phone number"
CARD = "payment card number"
POSTCODE = "postcode"
STREET = "street address"
BIRTH = "date of birth"
LINK = "link"

# (text, the one reason it should raise, the data that must not appear in the reason)
POSITIVES = [
    ("Email me at jo.bloggs@example.com please", EMAIL, "jo.bloggs@example.com"),
    ("my email is SAM_99+bins@mail.example.co.uk", EMAIL, "SAM_99+bins@mail.example.co.uk"),
    ("ring me on 07700 900123", PHONE, "07700 900123"),
    ("ring me on 07700900123", PHONE, "07700900123"),
    ("call +44 7700 900123 after 6", PHONE, "+44 7700 900123"),
    ("or +44 (0)1632 960123", PHONE, "+44 (0)1632 960123"),
    ("office 01632 960123", PHONE, "01632 960123"),
    ("office (01632) 960123", PHONE, "(01632) 960123"),
    ("London number 020 7946 0018", PHONE, "020 7946 0018"),
    ("Birmingham 0121 496 0000", PHONE, "0121 496 0000"),
    ("helpline 0300 123 4567", PHONE, "0300 123 4567"),
    ("card 4111 1111 1111 1111 exp 12/28", CARD, "4111 1111 1111 1111"),
    ("card 4111-1111-1111-1111", CARD, "4111-1111-1111-1111"),
    ("card 5555555555554444", CARD, "5555555555554444"),
    ("amex 3782 822463 10005", CARD, "3782 822463 10005"),
    ("we're at AN4 2XY", POSTCODE, "AN4 2XY"),
    ("postcode is sw1a 1aa", POSTCODE, "sw1a 1aa"),
    ("deliver to B338TH", POSTCODE, "B338TH"),
    ("I live at 12 High Street", STREET, "12 High Street"),
    ("Flat 3, 4 Mill Lane, Anyton", STREET, "4 Mill Lane"),
    ("come to 27b orchard road", STREET, "27b orchard road"),
    ("it's 5 St John's Close", STREET, "5 St John's Close"),
    ("DOB 12/03/1980", BIRTH, "12/03/1980"),
    ("my date of birth is 3rd March 1975", BIRTH, "3rd March 1975"),
    ("I was born on the 4th of July 1985", BIRTH, "4th of July 1985"),
    ("D.O.B: 1.3.80", BIRTH, "1.3.80"),
    ("see https://example.com/page?id=4", LINK, "https://example.com/page"),
    ("see http://fal.example/K7hi", LINK, "http://fal.example/K7hi"),
    ("go to www.anyshire.gov.uk/bins", LINK, "www.anyshire.gov.uk"),
    ("details on anyshire.gov.uk", LINK, "anyshire.gov.uk"),
    ("cheap stuff at bargains.shop today", LINK, "bargains.shop"),
    ("<https://evil.example|council.gov.uk>", LINK, "evil.example"),
]


@pytest.mark.parametrize(("text", "reason", "secret"), POSITIVES, ids=[p[0] for p in POSITIVES])
def test_each_kind_is_flagged_without_quoting_it(text: str, reason: str, secret: str) -> None:
    hits = detect_flags(text)
    assert reason in [hit.reason for hit in hits]
    for hit in hits:
        assert secret.lower() not in hit.reason.lower()
        assert not any(char.isdigit() for char in hit.reason)


NEGATIVES = [
    ("The tip is open 24 hours a day, 7 days a week", None),
    ("In 2023 the A14 was shut for 3 days", None),
    ("Council tax went up to £1,250.50 this year", None),
    ("My reference is FOI-2023-0145", None),
    ("Call 999 in an emergency", None),
    ("Opening hours 09:00-17:00, 01/02/2027 onwards", None),
    ("A14 closed until 4pm, back on the A1 2nd time today", POSTCODE),
    ("closed at 5 PM today", POSTCODE),
    ("We waited 3 days on the road and drove an 8 mile drive home", STREET),
    ("the 12 car park spaces are full", STREET),
    ("card 4111 1111 1111 1112", CARD),  # fails the Luhn check
    ("order 1234 5678 9012 3456", CARD),  # fails the Luhn check
    ("0000 0000 0000 0000", CARD),
    ("numbers 1 2 3 4 5 6 7 8 9 10 11 12 13 14", CARD),
    ("I was born and bred in Anyton", BIRTH),
    ("please put my DOB on the form", BIRTH),
    ("e.g. the tip, i.e. the one on Mill Road", LINK),
    ("We closed.Please come back tomorrow", LINK),
    ("version 1.2 of the app", LINK),
    ("email us at @anyshirecc on X", EMAIL),
    ("my ref 0145 2023", PHONE),
]


@pytest.mark.parametrize(("text", "kind"), NEGATIVES, ids=[n[0] for n in NEGATIVES])
def test_ordinary_numbers_and_words_are_not_flagged(text: str, kind: str | None) -> None:
    reasons = [hit.reason for hit in detect_flags(text)]
    if kind is None:
        assert reasons == []
    else:
        assert kind not in reasons


def test_one_hit_per_kind_in_a_fixed_order() -> None:
    text = (
        "See https://a.example and www.b.example. I'm at 4 Mill Lane AN4 2XY and 9 High Street "
        "AN1 1AA, DOB 01/02/1990, card 4111111111111111, 07700 900123 or 07700 900456, "
        "a@example.com and b@example.com"
    )
    assert detect_flags(text) == (
        FlagHit(Flag.PERSONAL_DATA, EMAIL),
        FlagHit(Flag.PERSONAL_DATA, PHONE),
        FlagHit(Flag.PERSONAL_DATA, CARD),
        FlagHit(Flag.PERSONAL_DATA, POSTCODE),
        FlagHit(Flag.PERSONAL_DATA, STREET),
        FlagHit(Flag.PERSONAL_DATA, BIRTH),
        FlagHit(Flag.LINK, LINK),
    )


def test_an_email_address_is_not_also_a_link() -> None:
    assert detect_flags("write to jo@anyshire.gov.uk") == (FlagHit(Flag.PERSONAL_DATA, EMAIL),)


def test_plain_text_has_no_flags() -> None:
    assert detect_flags("Thanks for the quick reply, the bins were emptied this morning") == ()


NI = "National Insurance number"
BANK = "bank sort code and account number"
IBAN = "bank account (IBAN)"
NHS = "NHS number"

MORE_POSITIVES = [
    ("my NI number is JT 12 34 56 C", NI),
    ("NI: AB123456D", NI),
    ("sort code 20-45-77 account 12345678", BANK),
    ("acc 12345678, sort code 20 45 77", BANK),
    ("pay into GB33BUKB20201555555555 please", IBAN),
    ("my NHS number is 943 476 5919", NHS),
    ("DOB: 12/03/1980", BIRTH),
    ("born on 3rd March 1975", BIRTH),
]


@pytest.mark.parametrize(("text", "reason"), MORE_POSITIVES, ids=[p[0] for p in MORE_POSITIVES])
def test_national_insurance_bank_and_nhs_numbers_are_flagged(text: str, reason: str) -> None:
    assert reason in [hit.reason for hit in detect_flags(text)]


MORE_NEGATIVES = [
    ("my ref QQ 12 34 56 C", NI),  # Q is never a prefix letter (QQ is HMRC's example)
    ("prefix GB 12 34 56 A is never issued", NI),
    ("the score was 20-45-77 and 12 points", BANK),
    ("GB33BUKB20201555555556", IBAN),  # bad checksum
    ("NHS number 943 476 5918", NHS),  # bad checksum
    ("ring 01632 960123", NHS),
]


@pytest.mark.parametrize(("text", "kind"), MORE_NEGATIVES, ids=[n[0] for n in MORE_NEGATIVES])
def test_lookalike_numbers_are_not_flagged(text: str, kind: str) -> None:
    assert kind not in [hit.reason for hit in detect_flags(text)]


def test_masking_replaces_each_piece_of_personal_data_with_its_kind() -> None:
    text = "I'm Jo, 07700 900123, jo@example.com, NI JT123456C, 12 High Street"
    masked = mask_personal_data(text, label=lambda reason: f"[{reason}]")
    assert masked == (
        "I'm Jo, [phone number], [email address], NI [National Insurance number], [street address]"
    )
    assert mask_personal_data("nothing here", label=str.upper) == "nothing here"
