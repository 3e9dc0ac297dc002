"""Computed dates as users see them on the detail page, in the list and in the API: the current end
date after automatic renewals and the last notice date (month ends, leap years, passed notice days,
terminated and expired agreements). The arithmetic itself is tested in test_dates.py."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape

import pytest

from registry.agreements import services
from registry.models import AgreementStatus

D = dt.date


@pytest.fixture
def today(monkeypatch):
    """today(2026, 8, 1) fixes the day the app judges dates on."""

    def _set(*ymd):
        monkeypatch.setattr(services, "local_today", lambda: D(*ymd))

    return _set


@pytest.fixture
def reader(login_as):
    return login_as("finance", kommun="Härryda")


def api_dates(c, agreement) -> tuple:
    body = c.api("get", f"/api/v1/agreements/{agreement.id}").json
    return body["current_end_date"], body["last_notice_date"], body["next_notice_date"]


def facts(c, agreement) -> dict[str, str]:
    html = unescape(c.get(f"/avtal/{agreement.id}").get_data(as_text=True))
    section = html[html.index('id="datum"') :]
    return {
        dt_: re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", dd)).strip()
        for dt_, dd in re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", section, re.S)
    }


CASES = {
    # end, renewal, notice, today -> current end, last notice, next notice
    "before the end, no renewal": (
        (D(2026, 12, 31), None, 6),
        D(2026, 3, 1),
        ("2026-12-31", "2026-06-30", "2026-06-30"),
    ),
    "renewed once": ((D(2025, 12, 31), 12, 6), D(2026, 3, 1), ("2026-12-31", "2026-06-30", "2026-06-30")),
    "end on the end day itself": (
        (D(2025, 12, 31), 12, 6),
        D(2025, 12, 31),
        ("2025-12-31", "2025-06-30", "2026-06-30"),
    ),
    "31 August minus 6 months in a leap year": (
        (D(2023, 8, 31), 12, 6),
        D(2024, 1, 15),
        ("2024-08-31", "2024-02-29", "2024-02-29"),
    ),
    "31 August minus 6 months in a common year": (
        (D(2023, 8, 31), 12, 6),
        D(2024, 9, 1),
        ("2025-08-31", "2025-02-28", "2025-02-28"),
    ),
    "29 February renews to 28 February and back": (
        (D(2024, 2, 29), 12, 3),
        D(2027, 3, 1),
        ("2028-02-29", "2027-11-29", "2027-11-29"),
    ),
    "monthly renewal from the 31st does not drift": (
        (D(2025, 1, 31), 1, 1),
        D(2025, 3, 5),
        ("2025-03-31", "2025-02-28", "2025-03-30"),
    ),
    "notice longer than the renewal period": (
        (D(2024, 12, 31), 6, 9),
        D(2025, 3, 1),
        ("2025-06-30", "2024-09-30", "2025-03-31"),
    ),
    "passed end without renewal": (
        (D(2025, 12, 31), None, 6),
        D(2026, 3, 1),
        ("2025-12-31", "2025-06-30", None),
    ),
    "notice period of zero months": (
        (D(2026, 12, 31), None, 0),
        D(2026, 3, 1),
        ("2026-12-31", "2026-12-31", "2026-12-31"),
    ),
    "open-ended": ((None, None, 6), D(2026, 3, 1), (None, None, None)),
    "no notice period recorded": ((D(2026, 12, 31), 12, None), D(2026, 3, 1), ("2026-12-31", None, None)),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_api_gives_the_computed_dates(reader, make_agreement, today, case):
    (end, renewal, notice), day, expected = CASES[case]
    today(day.year, day.month, day.day)
    agreement = make_agreement(
        end_date=end, renewal_months=renewal, notice_months=notice, start_date=D(2020, 1, 1)
    )
    assert api_dates(reader, agreement) == expected


def test_detail_page_shows_the_dates_and_how_they_are_computed(reader, make_agreement, today):
    today(2024, 1, 15)
    agreement = make_agreement(
        end_date=D(2023, 8, 31), renewal_months=12, notice_months=6, start_date=D(2021, 9, 1)
    )
    shown = facts(reader, agreement)
    assert shown["Aktuellt slutdatum"] == "2024-08-31"
    assert shown["Sista dag för uppsägning"] == "2024-02-29 (45 dagar kvar)"
    html = re.sub(r"\s+", " ", reader.get(f"/avtal/{agreement.id}").get_data(as_text=True))
    assert "när slutdatumet passerar utan uppsägning förlängs avtalet med 12 månader" in html
    assert "31 augusti minus 6 månader blir 28 februari, 29 ett skottår" in html


def test_passed_notice_day_points_to_the_next_one(reader, make_agreement, today):
    today(2026, 8, 1)
    agreement = make_agreement(end_date=D(2026, 12, 31), renewal_months=12, notice_months=6)
    shown = facts(reader, agreement)
    assert shown["Aktuellt slutdatum"] == "2026-12-31"
    assert shown["Sista dag för uppsägning"] == (
        "2026-06-30 – har passerat. Avtalet förlängs till 2027-12-31; nästa sista uppsägningsdag är 2027-06-30."
    )
    row = unescape(reader.get("/avtal/").get_data(as_text=True))
    assert '2026-06-30 <span class="muted">(passerad; nästa 2027-06-30)</span>' in row


def test_open_ended_agreement_says_so(reader, make_agreement, today):
    today(2026, 3, 1)
    agreement = make_agreement(end_date=None, renewal_months=None, notice_months=6)
    shown = facts(reader, agreement)
    assert shown["Aktuellt slutdatum"] == "Tills vidare"
    assert shown["Sista dag för uppsägning"] == "Inget fast datum (avtalet gäller tills vidare)"


@pytest.mark.parametrize(
    ("given", "ends"),
    [
        (D(2026, 6, 30), "2026-12-31"),  # on the last notice day: in time
        (D(2026, 7, 1), "2027-12-31"),  # a day late: the agreement runs one more period
        (D(2027, 2, 1), "2027-12-31"),  # during the renewed period, in time for its end
    ],
)
def test_terminated_agreement_ends_where_the_notice_takes_effect(
    login_as, make_agreement, today, given, ends
):
    today(2027, 3, 1)
    agreement = make_agreement(
        end_date=D(2026, 12, 31), renewal_months=12, notice_months=6, status=AgreementStatus.ACTIVE
    )
    admin = login_as("admin", kommun="Härryda")
    response = admin.api(
        "post",
        f"/api/v1/agreements/{agreement.id}/transition",
        json={"status": "terminated", "reason": "Ny organisation.", "date": given.isoformat()},
    )
    assert response.status_code == 200
    assert (response.json["current_end_date"], response.json["last_notice_date"]) == (ends, None)
    assert facts(admin, agreement)["Avtalet upphör (beräknat)"] == ends


def test_terminated_open_ended_agreement_ends_after_the_notice_period(login_as, make_agreement, today):
    today(2026, 3, 1)
    agreement = make_agreement(end_date=None, renewal_months=None, notice_months=6)
    admin = login_as("admin", kommun="Härryda")
    response = admin.api(
        "post",
        f"/api/v1/agreements/{agreement.id}/transition",
        json={"status": "terminated", "reason": "Uppsägning.", "date": "2026-01-31"},
    )
    assert response.json["current_end_date"] == "2026-07-31"


def test_expired_agreement_shows_the_end_it_reached(reader, make_agreement, today):
    today(2026, 3, 1)
    agreement = make_agreement(
        end_date=D(2024, 12, 31), renewal_months=12, notice_months=6, status=AgreementStatus.EXPIRED
    )
    assert api_dates(reader, agreement) == ("2025-12-31", None, None)
    assert facts(reader, agreement)["Avtalet upphörde"] == "2025-12-31"
