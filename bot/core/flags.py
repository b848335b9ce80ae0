"""Warnings raised on a post whatever its category: personal data and links.

A flag says what *kind* of thing was seen ("UK phone number"), never the thing itself,
so the reason can be shown in Slack and kept in the audit trail without copying the data.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import phonenumbers
from stdnum import iban
from stdnum.gb import nhs

from bot.core.posts import Flag, FlagHit

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\b"
)
_DATE = (
    r"(?:\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})"  # 12/03/1980, 1.3.80
    r"|\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?" + _MONTH + r"(?:,?\s+\d{4})?"  # 12th of March
    r"|" + _MONTH + r"\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4})"  # March 12, 1980
)

_EMAIL = re.compile(
    r"(?<![\w.+-])[\w.+-]+@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9-]+)*\.[a-z]{2,}\b",
    re.IGNORECASE,
)

# 13 to 19 digits written together or in groups of four (or the 4-6-5 of some cards).
_CARD = re.compile(
    r"(?<![\d-])(?:\d{13,19}|\d{4}(?:[ -]\d{4}){2,3}(?:[ -]\d{1,3})?|\d{4}[ -]\d{6}[ -]\d{4,5})"
    r"(?![\d-])"
)

# Outward code, optional space, inward code. The inward letters never use C, I, K, M, O or V,
# which keeps times such as "B4 2PM" and road names such as "A14" from looking like postcodes.
_POSTCODE = re.compile(
    r"\b(?:GIR\s?0AA|[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]?\s?\d[ABD-HJLNP-UW-Z]{2})\b",
    re.IGNORECASE,
)

_STREET_WORDS = r"street|road|lane|avenue|drive|crescent|terrace|gardens|grove|mews|boulevard"
_CAPITALISED_STREET_WORDS = (
    r"St|Rd|Ln|Ave|Dr|Cres|Close|Way|Court|Ct|Place|Pl|Row|Square|Walk|Rise|Hill|Green|Park"
    r"|View|Parade|Vale|Meadow|Meadows|Chase|Wharf|Yard|Approach"
)
# Words that can sit between a number and "road"/"lane" in ordinary sentences
# ("3 days on the road", "an 8 mile drive") and so must not start a street name.
_NOT_STREET_NAME = (
    r"(?i:the|a|an|on|in|of|to|at|for|and|or|by|from|my|our|your|this|that|these|those|more|"
    r"less|other|days?|hours?|weeks?|months?|years?|times?|minutes?|mins?|seconds?|miles?|"
    r"metres?|meters?|yards?|feet|foot|km|mph|cars?|lorries|vehicles?|people|kids|children|"
    r"pounds?|quid|percent|lanes?)\b"
)
_STREET_NAME_WORD = r"(?!" + _NOT_STREET_NAME + r")[A-Za-z][A-Za-z'\u2019.-]+"
_STREET = re.compile(
    r"(?<![\w£$.,/:-])\d{1,4}[A-Za-z]?,?\s+"
    r"(?:" + _STREET_NAME_WORD + r"\s+){1,3}"
    r"(?:(?i:" + _STREET_WORDS + r")|(?:" + _CAPITALISED_STREET_WORDS + r"))\b"
)

_BIRTH_DATE = re.compile(
    r"\b(?:d\.?o\.?b\b\.?|date\s+of\s+birth|birth\s*date|born\s+on|born)"
    r"[\s:,-]*(?:is\s+|was\s+|=\s*)?(?:the\s+)?" + _DATE,
    re.IGNORECASE,
)

# National Insurance numbers (HMRC's format; python-stdnum has no validator for them): two
# prefix letters, six digits, suffix A-D. D, F, I, Q, U and V are never prefix letters, O is
# never the second, and BG, GB, KN, NK, NT, TN and ZZ are not issued.
_NINO = re.compile(
    r"\b(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]"
    r"[ -]?\d{2}[ -]?\d{2}[ -]?\d{2}[ -]?[A-D]\b",
    re.IGNORECASE,
)

# A UK sort code (12-34-56) with an account number (eight digits) near it, either way round.
_SORT_CODE = r"\d{2}[- ]\d{2}[- ]\d{2}"
_ACCOUNT_NUMBER = r"\d{8}"
_BANK = re.compile(
    r"(?<![\d-])(?:"
    + _SORT_CODE
    + r"(?![\d-])\D{0,40}?(?<!\d)"
    + _ACCOUNT_NUMBER
    + r"|"
    + _ACCOUNT_NUMBER
    + r"(?!\d)\D{0,40}?(?<![\d-])"
    + _SORT_CODE
    + r")(?![\d-])"
)
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}(?: ?[A-Z0-9]{1,3})?\b", re.IGNORECASE)
# NHS numbers: ten digits written 3-3-4, checked with python-stdnum's checksum.
_NHS = re.compile(r"(?<![\d-])\d{3}[ -]?\d{3}[ -]?\d{4}(?![\d-])")

_TLDS = (
    r"(?:co|org|gov|ac|nhs|police|sch|ltd|plc|me|net)\.uk|uk|com|org|net|info|biz|io|co|me|ly"
    r"|gov|edu|eu|app|xyz|online|site|shop|store|link|click|top|live|news|tv|ie|de|fr|ru|cn"
)
_LINK = re.compile(
    r"https?://\S+"
    r"|(?<![\w@.-])www\.[a-z0-9-]+\.\S+"
    r"|(?<![\w@.-])(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+(?:" + _TLDS + r")(?![\w-])(?:/\S*)?",
    re.IGNORECASE,
)


def _luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _is_card(match: re.Match[str]) -> bool:
    digits = re.sub(r"\D", "", match.group(0))
    return 13 <= len(digits) <= 19 and len(set(digits)) > 1 and _luhn_ok(digits)


def _phone_spans(text: str) -> Iterator[tuple[int, int]]:
    """Phone numbers found by Google's libphonenumber (UK numbers, or international with +).

    Possible numbers, not only allocated ones: a number in a range Ofcom keeps for drama is
    still written the way a real one is.
    """
    for match in phonenumbers.PhoneNumberMatcher(
        text, "GB", leniency=phonenumbers.Leniency.POSSIBLE
    ):
        number = match.number
        national = str(number.national_number)
        if number.country_code == 44 and len(national) not in (9, 10):
            continue
        if len(national) >= 7 and phonenumbers.is_possible_number(number):
            yield match.start, match.end


def _is_iban(match: re.Match[str]) -> bool:
    return iban.is_valid(match.group(0))


def _is_nhs(match: re.Match[str]) -> bool:
    return nhs.is_valid(match.group(0))


def _is_postcode(match: re.Match[str]) -> bool:
    # "A1 2nd" is a road and an ordinal, not a postcode written in lower case.
    return re.search(r"\d(?:st|nd|rd|th)$", match.group(0)) is None


def _always(match: re.Match[str]) -> bool:
    return True


_DIGIT = re.compile(r"\d")
_LETTER_DIGIT = re.compile(r"[a-z]\d", re.IGNORECASE)
_STREET_WORD = re.compile(
    r"\b(?:" + _STREET_WORDS + r"|" + _CAPITALISED_STREET_WORDS + r")\b", re.IGNORECASE
)
_BIRTH_WORD = re.compile(r"born|d\.?o\.?b|birth", re.IGNORECASE)
_NHS_WORD = re.compile(r"\bnhs\b", re.IGNORECASE)
_DOT_TLD = re.compile(r"\.(?:" + _TLDS + r")(?![\w-])", re.IGNORECASE)  # starts with a literal


def _may_have_email(text: str) -> bool:
    return "@" in text


def _may_have_link(text: str) -> bool:
    lower = text.lower()
    return "http" in lower or "www." in lower or _DOT_TLD.search(text) is not None


@dataclass(frozen=True)
class _Detector:
    """One kind of flag: a cheap precondition, a pattern, and a check on each match."""

    flag: Flag
    reason: str
    pattern: re.Pattern[str] | None
    accept: Callable[[re.Match[str]], bool] = _always
    min_digits: int = 0
    hint: Callable[[str], object] | None = None
    finder: Callable[[str], Iterator[tuple[int, int]]] | None = None

    def spans(self, text: str, digits: int) -> Iterator[tuple[int, int]]:
        """Where this kind of thing is in `text`."""
        if digits < self.min_digits or (self.hint is not None and not self.hint(text)):
            return
        if self.finder is not None:
            yield from self.finder(text)
            return
        assert self.pattern is not None
        for match in self.pattern.finditer(text):
            if self.accept(match):
                yield match.span()


_DETECTORS = (
    _Detector(Flag.PERSONAL_DATA, "email address", _EMAIL, hint=_may_have_email),
    _Detector(Flag.PERSONAL_DATA, "phone number", None, min_digits=7, finder=_phone_spans),
    _Detector(Flag.PERSONAL_DATA, "payment card number", _CARD, _is_card, min_digits=13),
    _Detector(Flag.PERSONAL_DATA, "bank sort code and account number", _BANK, min_digits=14),
    _Detector(Flag.PERSONAL_DATA, "bank account (IBAN)", _IBAN, _is_iban, min_digits=10),
    _Detector(Flag.PERSONAL_DATA, "National Insurance number", _NINO, min_digits=6),
    _Detector(
        Flag.PERSONAL_DATA, "NHS number", _NHS, _is_nhs, min_digits=10, hint=_NHS_WORD.search
    ),
    _Detector(
        Flag.PERSONAL_DATA,
        "postcode",
        _POSTCODE,
        _is_postcode,
        min_digits=2,
        hint=_LETTER_DIGIT.search,
    ),
    _Detector(
        Flag.PERSONAL_DATA, "street address", _STREET, min_digits=1, hint=_STREET_WORD.search
    ),
    _Detector(
        Flag.PERSONAL_DATA, "date of birth", _BIRTH_DATE, min_digits=1, hint=_BIRTH_WORD.search
    ),
    _Detector(Flag.LINK, "link", _LINK, hint=_may_have_link),
)


def _digits(text: str) -> int:
    return len(_DIGIT.findall(text)) if _DIGIT.search(text) else 0


def detect_flags(text: str) -> tuple[FlagHit, ...]:
    """The personal-data and link flags for `text`, one per kind, in a fixed order."""
    digits = _digits(text)
    return tuple(
        FlagHit(flag=detector.flag, reason=detector.reason)
        for detector in _DETECTORS
        if next(detector.spans(text, digits), None) is not None
    )


@dataclass(frozen=True, order=True)
class Found:
    """Where a piece of personal data is in a text, and what kind it is."""

    start: int
    end: int
    reason: str


def personal_data_in(text: str) -> list[Found]:
    """Every piece of personal data in `text`, in order, overlaps merged into the first."""
    digits = _digits(text)
    found = sorted(
        Found(start, end, detector.reason)
        for detector in _DETECTORS
        if detector.flag is Flag.PERSONAL_DATA
        for start, end in detector.spans(text, digits)
    )
    merged: list[Found] = []
    for item in found:
        if merged and item.start < merged[-1].end:
            last = merged[-1]
            merged[-1] = Found(last.start, max(last.end, item.end), last.reason)
        else:
            merged.append(item)
    return merged


def mask_personal_data(text: str, *, label: Callable[[str], str]) -> str:
    """`text` with each piece of personal data replaced by `label(reason)`."""
    out: list[str] = []
    at = 0
    for item in personal_data_in(text):
        out.append(text[at : item.start])
        out.append(label(item.reason))
        at = item.end
    out.append(text[at:])
    return "".join(out)
