"""The shared free-text validator that refuses personal identity and coordination numbers.

Pure functions: no database fixtures, so these run once. Numbers are generated with a computed
Luhn check digit on obviously fictitious dates (12-12-12, 01-01-01 ...), never copied from real people.
"""

from __future__ import annotations

import pytest
from marshmallow import Schema, ValidationError, fields
from stdnum import luhn

from core.personal_numbers import NoPersonalNumber, check_no_personal_number, find_personal_numbers


def pnr(date: str, serial: str = "999", sep: str = "-") -> str:
    """A number with a valid check digit: `date` is YYMMDD or YYYYMMDD, `serial` three digits."""
    check = luhn.calc_check_digit(date[-6:] + serial)
    return f"{date}{sep}{serial}{check}"


def wrong_check(date: str, serial: str = "999", sep: str = "-") -> str:
    """Same as `pnr` but with the check digit off by one."""
    good = pnr(date, serial, sep)
    return good[:-1] + str((int(good[-1]) + 1) % 10)


def refusal_message(text: str) -> str:
    with pytest.raises(ValidationError) as info:
        check_no_personal_number(text)
    (message,) = info.value.messages
    return message


# --- true positives -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "number",
    [
        pnr("121212"),
        pnr("121212", sep=""),
        pnr("010101", "123"),
        pnr("991231", "001"),
        pnr("121212", sep="+"),
        pnr("010101", sep="+"),
    ],
    ids=["hyphen", "no-separator", "start-of-century", "end-of-year", "plus-over-100", "plus-early"],
)
def test_ten_digit_personal_number_is_found(number):
    assert find_personal_numbers(number) == [number]


@pytest.mark.parametrize(
    "number",
    [pnr("19121212"), pnr("19121212", sep=""), pnr("20010101"), pnr("18991231")],
    ids=["hyphen", "no-separator", "2000s", "1800s"],
)
def test_twelve_digit_personal_number_is_found(number):
    assert find_personal_numbers(number) == [number]


@pytest.mark.parametrize(
    "separator",
    [" ", " - ", "- ", " -", "\u2013", "\u2212", "\u2011", "\u00a0", " + "],
    ids=[
        "space",
        "spaced-hyphen",
        "hyphen-space",
        "space-hyphen",
        "en-dash",
        "minus",
        "nb-hyphen",
        "nbsp",
        "spaced-plus",
    ],
)
def test_separator_variations_a_caseworker_might_type_are_found(separator):
    for date in ("121212", "19121212"):
        number = pnr(date, sep=separator)
        assert find_personal_numbers(f"Klienten {number} har ringt.") == [number]


@pytest.mark.parametrize(
    "number",
    [pnr("121272"), pnr("121272", sep=""), pnr("010161"), pnr("010191"), pnr("19121272"), pnr("20010191")],
    ids=["day-72", "day-72-bare", "day-61", "day-91", "twelve-digit", "twelve-digit-day-91"],
)
def test_coordination_number_is_found(number):
    assert find_personal_numbers(number) == [number]


@pytest.mark.parametrize(
    "template",
    [
        "Klienten {} har ringt.",
        "{} har ringt.",
        "Har ringt: {}",
        "Klienten ({}) har ringt.",
        "pnr:{}.",
        "Rad ett\n{}\nrad tre",
        "\u201c{}\u201d",
        "SE{}",
    ],
    ids=[
        "mid-sentence",
        "start",
        "end",
        "parentheses",
        "colon-and-full-stop",
        "own-line",
        "quoted",
        "letters",
    ],
)
def test_number_embedded_in_text_is_found(template):
    number = pnr("121212")
    assert find_personal_numbers(template.format(number)) == [number]


def test_several_numbers_in_one_text_are_all_found_in_order():
    first, second, third = pnr("121212"), pnr("19010101", "123", sep=""), pnr("050572", "456", sep=" ")
    text = f"Klienten {first} och hennes bror {second} samt {third} (samordningsnummer)."
    assert find_personal_numbers(text) == [first, second, third]


def test_full_width_digits_are_found():
    number = pnr("121212")
    full_width = number.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert find_personal_numbers(f"Klienten {full_width}") == [full_width]


# --- leap days --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "found"),
    [
        (pnr("20000229"), True),
        (pnr("19000229"), False),
        (pnr("20240229"), True),
        (pnr("20230229"), False),
        (pnr("000229"), True),
        (pnr("000229", sep="+"), True),  # 1900 is not a leap year, but 2000 is: valid in some century
        (pnr("960229"), True),
        (pnr("010229"), False),
        (pnr("000289"), True),  # coordination number on 29 February 2000
        (pnr("19000289"), False),
    ],
    ids=[
        "12-digit-2000-02-29",
        "12-digit-1900-02-29",
        "12-digit-2024-02-29",
        "12-digit-2023-02-29",
        "10-digit-000229",
        "10-digit-000229-plus",
        "10-digit-960229",
        "10-digit-010229",
        "10-digit-coordination-000289",
        "12-digit-coordination-19000289",
    ],
)
def test_leap_day_is_valid_only_when_the_year_allows_it(number, found):
    assert find_personal_numbers(number) == ([number] if found else [])


# --- not personal numbers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "number",
    [wrong_check("121212"), wrong_check("121212", sep=""), wrong_check("19121212"), wrong_check("121272")],
    ids=["10-digit", "10-digit-bare", "12-digit", "coordination"],
)
def test_wrong_check_digit_is_not_refused(number):
    assert find_personal_numbers(number) == []
    check_no_personal_number(number)


@pytest.mark.parametrize(
    "number",
    [
        pnr("121312"),  # month 13
        pnr("120012"),  # month 00
        pnr("121200"),  # day 00
        pnr("121232"),  # day 32
        pnr("120431"),  # 31 April
        pnr("120230"),  # 30 February
        pnr("121260"),  # day 60: neither a day nor a coordination day
        pnr("121292"),  # coordination day 92 = 32
        pnr("120491"),  # coordination 31 April
        pnr("19121312"),  # month 13, 12-digit
        pnr("30121212"),  # year 3012
        pnr("17121212"),  # year 1712
    ],
    ids=[
        "month-13",
        "month-00",
        "day-00",
        "day-32",
        "april-31",
        "february-30",
        "day-60",
        "coordination-day-92",
        "coordination-april-31",
        "12-digit-month-13",
        "12-digit-year-3012",
        "12-digit-year-1712",
    ],
)
def test_invalid_date_is_not_refused(number):
    assert find_personal_numbers(number) == []
    check_no_personal_number(number)


@pytest.mark.parametrize(
    "text",
    [
        "7" + pnr("121212", sep=""),  # 11 digits
        pnr("121212", sep="") + "7",
        "7" + pnr("19121212", sep=""),  # 13 digits
        "12345" + pnr("121212", sep="") + "6789",  # OCR reference
        pnr("19121212", sep="")[1:],  # 11 digits ending in a valid 10-digit number
    ],
    ids=["digit-before", "digit-after", "13-digits", "ocr-16-digits", "11-digits"],
)
def test_ten_digit_run_inside_longer_digit_string_is_not_refused(text):
    assert find_personal_numbers(text) == []


@pytest.mark.parametrize(
    "text",
    [
        # amounts
        "1 234 567,89 kr",
        "1234567,50",
        "Beviljat belopp: 12 345 kr per månad, totalt 148 140 kr.",
        "1 234 567 890 kr",
        # dates and times
        "2024-01-15",
        "20240115",
        "15/1 2024",
        "2024-01-15T10:30:00",
        "2024-01-15T10:30:00+01:00",
        "2024-01-15 10:30",
        "Period 2024-01-01 -- 2024-12-31",
        # organisation and VAT numbers
        "212000-1355",
        "2120001355",
        "556016-0680",
        "5560160680",
        "SE212000135501",
        "SE556016068001",
        "16212000-1355",
        # phone numbers written as phone numbers
        "070-123 45 67",
        "031-365 00 00",
        "+46 70 123 45 67",
        "0701-23 45 67",
        "+46701234567",
        "08-123 456 78",
        "070-1234567",
        # payment references
        "5050-1055",
        "Bankgiro 5050-1055, OCR 12345678901234567",
        "OCR 1234567890123",
        # agreements, cases, protocols
        "GR-JAV-2024",
        "JAV-1480-2026-0007",
        "KS 2024/123 § 45",
        "Dnr SN 2024/0123",
        # IVO pseudo-id with a letter
        "19850101-K123",
        "850101-K123",
    ],
)
def test_ordinary_numbers_are_not_refused(text):
    assert find_personal_numbers(text) == []
    check_no_personal_number(text)


def test_organisation_number_with_valid_check_digit_is_not_refused_because_month_is_20_or_more():
    # Third digit >= 2 means an organisation; the Luhn digit is valid but the "month" is not.
    assert luhn.is_valid("2120001355")
    assert find_personal_numbers("Leverantör: 212000-1355 (kommunen)") == []


def test_bare_ten_digit_phone_number_that_looks_like_a_personal_number_is_refused():
    # The documented trade-off: 070123 is 2007-01-23. The message suggests separators.
    phone = pnr("070123", "456", sep="")
    assert find_personal_numbers(f"Ring {phone}") == [phone]
    message = refusal_message(f"Ring {phone}")
    assert "telefonnummer" in message
    assert "070-123 45 67" in message
    assert find_personal_numbers(f"Ring {phone[:3]}-{phone[3:6]} {phone[6:8]} {phone[8:]}") == []


@pytest.mark.parametrize("text", [None, "", "Inga nummer här.", "   "])
def test_empty_or_harmless_text_passes(text):
    assert find_personal_numbers(text) == []
    assert check_no_personal_number(text) is None


# --- the message ------------------------------------------------------------------------------------


def test_message_is_swedish_and_masks_the_number():
    number = pnr("121212", "345")
    message = refusal_message(f"Klienten {number} har ringt.")
    assert message.startswith("Texten innehåller ett personnummer eller samordningsnummer (121212-****).")
    assert "Klientens identitet får inte registreras här" in message
    assert "pseudonyma referens" in message
    assert number not in message
    assert number[-4:] not in message


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        (pnr("121212", sep=""), "121212-****"),
        (pnr("121212", sep=" "), "121212-****"),
        (pnr("121212", sep="\u2013"), "121212-****"),
        (pnr("121212", sep="+"), "121212+****"),
        (pnr("19121212"), "19121212-****"),
        (pnr("19121212", sep=""), "19121212-****"),
        (pnr("121272"), "121272-****"),
    ],
    ids=["bare", "space", "en-dash", "plus", "12-digit", "12-digit-bare", "coordination"],
)
def test_message_shows_only_the_date_part(number, masked):
    message = refusal_message(number)
    assert f"({masked})" in message
    assert number[-4:] not in message


def test_message_lists_several_numbers_once_each():
    first, second = pnr("121212"), pnr("010101", "123")
    message = refusal_message(f"{first}, {second} och igen {first}")
    assert message.startswith(
        "Texten innehåller personnummer eller samordningsnummer (121212-****, 010101-****)."
    )
    assert first not in message and second not in message


# --- marshmallow ------------------------------------------------------------------------------------


class NoteSchema(Schema):
    note = fields.String(validate=NoPersonalNumber(), allow_none=True)


def test_validator_in_schema_reports_message_under_the_field_key():
    number = pnr("121212")
    with pytest.raises(ValidationError) as info:
        NoteSchema().load({"note": f"Klienten {number} har ringt."})
    assert list(info.value.messages) == ["note"]
    (message,) = info.value.messages["note"]
    assert "121212-****" in message
    assert number not in message


@pytest.mark.parametrize("note", [None, "", "Klienten har ringt om bidrag, 1 234 kr.", "070-123 45 67"])
def test_validator_in_schema_lets_ordinary_text_through(note):
    assert NoteSchema().load({"note": note}) == {"note": note}


def test_validator_returns_the_value_it_was_given():
    validator = NoPersonalNumber()
    assert validator("Inget nummer") == "Inget nummer"
    assert validator(None) is None
