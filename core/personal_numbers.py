"""Refuse Swedish personal identity numbers in free text.

The system holds secret case data and must never store a client's personal identity number
(personnummer) or coordination number (samordningsnummer). Every free-text field in the app is
validated with `check_no_personal_number` / `NoPersonalNumber`, which refuse text that contains
one.

What counts as a number
-----------------------
A run of digits bounded by non-digits (a 10-digit run inside a longer digit string is not a match)
in one of these shapes:

* ``YYMMDD-NNNN``, ``YYMMDD+NNNN`` (over 100 years old) or ``YYMMDDNNNN``;
* ``YYYYMMDD-NNNN`` or ``YYYYMMDDNNNN``.

Instead of the hyphen a caseworker may type a space (``850101 1234``), a hyphen with a space on
either side, or an en dash, minus sign or non-breaking hyphen/space pasted from a word processor;
all are accepted. Digits from other scripts (e.g. full-width digits) count as digits.

A candidate is refused only if it also

* has a valid date: month 01-12 and a day that exists in that month. For coordination numbers the
  day is 61-91 (day + 60). A 12-digit form must have a year 1800-2099 and the day must exist in
  that year (so 2000-02-29 is valid, 1900-02-29 is not). A 10-digit form has no century, so the
  day need only exist in some century (``000229`` is valid because 2000 was a leap year);
* has a valid Luhn check digit over the 10-digit form ``YYMMDDNNNN``.

This is why organisation numbers (``212000-1355``: third digit >= 2, i.e. month >= 20), VAT numbers,
dates, amounts, Bankgiro numbers, OCR references longer than 12 digits and phone numbers written with
their usual separators (``070-123 45 67``) are not refused.

Why not just ``stdnum.se.personnummer.validate``
------------------------------------------------
We use python-stdnum for the Luhn check (`stdnum.luhn`) and for the calendar check
(`personnummer.get_birth_date` on an explicit 12-digit form), but not `personnummer.validate`
itself, because it (a) rejects coordination numbers (day 61-91 is not a calendar date) and
(b) picks a single century for a 10-digit form from today's date and the separator, so e.g.
``000229+NNNN`` (read as 1900, not a leap year) would slip through.

Trade-off: bare 10-digit phone numbers
--------------------------------------
A bare 10-digit string such as ``0701234567`` is indistinguishable from a personal identity number
(2007-01-23) when it happens to have a valid Luhn digit (about one in ten of those with a valid
date do). It is refused, even if the caseworker meant a phone number: letting a real personal
identity number through is worse than asking someone to retype a phone number. The error message
therefore tells the user to write phone numbers with separators, e.g. ``070-123 45 67``, which are
never matched. The same goes, because a space is accepted as separator, for a compact date followed
by a time (``20240115 1030``) when the digits happen to pass the Luhn check; ``2024-01-15 10:30`` is
never matched.
"""

from __future__ import annotations

import re
import unicodedata

from marshmallow import ValidationError, validate
from stdnum import luhn
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.se import personnummer

__all__ = ["NoPersonalNumber", "check_no_personal_number", "find_personal_numbers"]

# Dash-like characters a caseworker may type or paste instead of a hyphen-minus: hyphen, non-breaking
# hyphen, figure dash, en dash, em dash, minus sign.
_DASHES = "\\-\u2010\u2011\u2012\u2013\u2014\u2212"
# Horizontal spaces: space, tab, no-break space, thin space, narrow no-break space.
_SPACES = " \t\u00a0\u2009\u202f"

_CANDIDATE_RE = re.compile(
    rf"""
    (?<!\d)
    (?P<date>\d{{8}}|\d{{6}})
    (?P<sep>
        [{_SPACES}]?[{_DASHES}+][{_SPACES}]?   # hyphen or plus, maybe with a space either side
      | [{_SPACES}]                            # or a single space instead of the hyphen
    )?
    (?P<serial>\d{{4}})
    (?!\d)
    """,
    re.VERBOSE,
)

# Centuries tried for a 10-digit form. 1900 and 2000 between them cover every day that exists in
# some century (29 February of year 00 exists only in 2000).
_TEN_DIGIT_CENTURIES = ("19", "20")
_TWELVE_DIGIT_CENTURIES = ("18", "19", "20")
_COORDINATION_OFFSET = 60

MESSAGE_ONE = (
    "Texten innehåller ett personnummer eller samordningsnummer ({masked}). "
    "Klientens identitet får inte registreras här: använd ärendets pseudonyma referens i stället. "
    "Om det är ett telefonnummer, skriv det med mellanrum eller bindestreck, t.ex. 070-123 45 67."
)
MESSAGE_MANY = (
    "Texten innehåller personnummer eller samordningsnummer ({masked}). "
    "Klientens identitet får inte registreras här: använd ärendets pseudonyma referens i stället. "
    "Om det är telefonnummer, skriv dem med mellanrum eller bindestreck, t.ex. 070-123 45 67."
)


def _ascii_digits(digits: str) -> str:
    """'８５' -> '85': digits from any script as ASCII digits."""
    return "".join(str(unicodedata.decimal(ch)) for ch in digits)


def _has_valid_date(date_digits: str) -> bool:
    """Whether YYMMDD / YYYYMMDD (day + 60 for a coordination number) is a real date."""
    if len(date_digits) == 8:
        centuries = (date_digits[:2],) if date_digits[:2] in _TWELVE_DIGIT_CENTURIES else ()
        yymmdd = date_digits[2:]
    else:
        centuries = _TEN_DIGIT_CENTURIES
        yymmdd = date_digits
    day = int(yymmdd[4:])
    if day > _COORDINATION_OFFSET:
        day -= _COORDINATION_OFFSET
    birth = f"{yymmdd[:4]}{day:02d}"
    for century in centuries:
        try:
            # Only the date is checked here ("0000" is a placeholder serial); get_birth_date
            # raises InvalidComponent for a month or day that does not exist in that year.
            personnummer.get_birth_date(f"{century}{birth}-0000")
        except StdnumError:
            continue
        return True
    return False


def _is_personal_number(date_digits: str, serial: str) -> bool:
    return luhn.is_valid(date_digits[-6:] + serial) and _has_valid_date(date_digits)


def _candidates(text: str):
    for match in _CANDIDATE_RE.finditer(text):
        date_digits = _ascii_digits(match["date"])
        if _is_personal_number(date_digits, _ascii_digits(match["serial"])):
            yield match, date_digits


def find_personal_numbers(text: str | None) -> list[str]:
    """The substrings of `text` that are personal identity or coordination numbers, in order."""
    if not text:
        return []
    return [match.group(0) for match, _ in _candidates(text)]


def _masked(text: str) -> list[str]:
    """'850101-1234' -> '850101-****', one per distinct number, in order of appearance."""
    masked: list[str] = []
    for match, date_digits in _candidates(text):
        separator = "+" if "+" in (match["sep"] or "") else "-"
        shown = f"{date_digits}{separator}****"
        if shown not in masked:
            masked.append(shown)
    return masked


def check_no_personal_number(text: str | None) -> None:
    """Raise ValidationError (in Swedish, number masked) if `text` contains a personal identity number."""
    if not text:
        return
    masked = _masked(text)
    if not masked:
        return
    template = MESSAGE_ONE if len(masked) == 1 else MESSAGE_MANY
    raise ValidationError(template.format(masked=", ".join(masked)))


class NoPersonalNumber(validate.Validator):
    """Marshmallow validator: ``fields.String(validate=NoPersonalNumber())``. None and "" pass."""

    def __call__(self, value: str | None) -> str | None:
        check_no_personal_number(value)
        return value
