"""The iCalendar writer and the secret feed: RFC 5545 text that parses back, scoped to the token owner."""

from __future__ import annotations

import datetime as dt
import re

import icalendar
import pytest
from sqlalchemy import select

from core.auth import hash_token
from registry.deadlines import services
from registry.deadlines.ical import CalendarEvent, render_calendar
from registry.models import CalendarFeed

STAMP = dt.datetime(2026, 4, 10, 8, 30, tzinfo=dt.UTC)
TODAY = dt.date(2026, 4, 10)


# --- A small RFC 5545 reader for the tests ------------------------------------------------------


def unescape(value: str) -> str:
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m[1] in "nN" else m[1], value)


def parse(data: bytes) -> list[dict]:
    """Components as dicts: {"_name": "VEVENT", "SUMMARY": [(params, value)], ...}, outermost last."""
    text = data.decode("utf-8")
    assert text.endswith("\r\n")
    assert "\n" not in text.replace("\r\n", ""), "bare LF in the calendar"
    unfolded = text.replace("\r\n ", "")
    stack: list[dict] = []
    done: list[dict] = []
    for line in unfolded.split("\r\n")[:-1]:
        name_params, value = line.split(":", 1)
        name, *params = name_params.split(";")
        if name == "BEGIN":
            stack.append({"_name": value})
        elif name == "END":
            component = stack.pop()
            assert component["_name"] == value
            done.append(component)
        else:
            stack[-1].setdefault(name, []).append((tuple(params), value))
    assert not stack
    return done


def one(component: dict, name: str) -> str:
    [(params, value)] = component[name]
    return value


# --- The writer ---------------------------------------------------------------------------------


def test_long_lines_are_folded_and_special_characters_survive():
    """Folding at 75 octets (never inside a character) and TEXT escaping, read back by a strict parser."""
    summary = "Sista dag för uppsägning av avtalet om jävsärenden i Göteborgsregionen, del 2; " * 3
    description = "Rad ett\nRad två med \\ och , och ; och €"
    data = render_calendar(
        "Tidsfrister",
        [CalendarEvent(uid="u1@samverkan", day=TODAY, summary=summary, description=description)],
        stamp=STAMP,
    )
    lines = data.split(b"\r\n")
    assert any(line.startswith(b" ") for line in lines), "a long line was not folded"
    for line in lines:
        assert len(line) <= 75
        line.decode("utf-8")  # every physical line is valid UTF-8 on its own
    [event] = icalendar.Calendar.from_ical(data).walk("VEVENT")
    assert str(event["SUMMARY"]) == summary
    assert str(event["DESCRIPTION"]) == description


def test_render_calendar_parses_back():
    events = [
        CalendarEvent(
            uid="notice-7-2026-12-31@samverkan",
            day=dt.date(2026, 6, 30),
            summary="Sista dag för uppsägning av GR-JAV-2024, Jävsärenden; Göteborgsregionen",
            description="Rad ett\nRad två med \\ och , och ;",
            url="https://samverkan.example/avtal/7",
            categories=("Avtal: uppsägning och avtalstid",),
        ),
        CalendarEvent(uid="ivo-2026-q2-opens@samverkan", day=dt.date(2026, 12, 31), summary="Kort"),
    ]
    data = render_calendar(
        "Samverkan: tidsfrister för Göteborg", events, stamp=STAMP, description="Beskrivning"
    )
    assert data.startswith(b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n")
    assert all(len(line) <= 75 for line in data.split(b"\r\n"))
    *vevents, calendar = parse(data)
    assert calendar["_name"] == "VCALENDAR"
    assert one(calendar, "PRODID") == "-//Samverkan//Tidsfrister 1.0//SV"
    assert unescape(one(calendar, "X-WR-CALNAME")) == "Samverkan: tidsfrister för Göteborg"
    assert one(calendar, "REFRESH-INTERVAL") == "PT6H"
    assert [v["_name"] for v in vevents] == ["VEVENT", "VEVENT"]
    first = vevents[0]
    assert one(first, "UID") == "notice-7-2026-12-31@samverkan"
    assert one(first, "DTSTAMP") == "20260410T083000Z"
    assert first["DTSTART"] == [(("VALUE=DATE",), "20260630")]
    assert first["DTEND"] == [(("VALUE=DATE",), "20260701")]
    assert unescape(one(first, "SUMMARY")) == events[0].summary
    assert unescape(one(first, "DESCRIPTION")) == events[0].description
    assert one(first, "URL") == "https://samverkan.example/avtal/7"
    assert one(first, "TRANSP") == "TRANSPARENT"
    assert vevents[1]["DTEND"] == [(("VALUE=DATE",), "20270101")]  # over the year end
    assert "DESCRIPTION" not in vevents[1]


def test_render_calendar_refuses_naive_stamps_and_broken_urls():
    with pytest.raises(ValueError):
        render_calendar("x", [], stamp=dt.datetime(2026, 1, 1))
    with pytest.raises(ValueError):
        render_calendar("x", [CalendarEvent("u", dt.date(2026, 1, 1), "s", url="a\r\nb")], stamp=STAMP)


# --- The feed -----------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def fixed_today(monkeypatch):
    monkeypatch.setattr(services, "local_today", lambda: TODAY)


def _feed_url(client) -> str:
    page = client.post_form("/kalender", {"action": "create"}).get_data(as_text=True)
    match = re.search(r'id="feed-url" type="text" readonly value="([^"]+)"', page)
    assert match, page
    return match[1]


def _path(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def test_feed_holds_the_owners_deadlines_and_parses(app, login_as, make_agreement, make_transfer, db):
    agreement = make_agreement(end_date=dt.date(2026, 8, 31), renewal_months=12, notice_months=3)
    mine = make_transfer(requesting="Härryda", performing="Lerum", requested_on=dt.date(2026, 4, 1))
    theirs = make_transfer(requesting="Göteborg", performing="Mölndal", requested_on=dt.date(2026, 4, 2))
    c = login_as("caseworker", kommun="Härryda")
    url = _feed_url(c)
    assert re.match(r"^http://localhost/kalender/kal_[A-Za-z0-9_-]{43}\.ics$", url)

    response = app.test_client().get(_path(url))  # no login: the token is the secret
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Cache-Control"] == "private, no-store"
    *vevents, calendar = parse(response.data)
    assert unescape(one(calendar, "X-WR-CALNAME")) == "Samverkan: tidsfrister för Härryda"
    expected = services.deadlines_for(db, c.user.municipality_id, TODAY)
    assert len(vevents) == len(expected) == 4
    by_uid = {one(v, "UID"): v for v in vevents}
    assert set(by_uid) == {d.uid for d in expected}
    notice = by_uid[f"notice-{agreement.id}-2026-08-31@samverkan"]
    assert notice["DTSTART"] == [(("VALUE=DATE",), "20260531")]
    assert unescape(one(notice, "SUMMARY")) == "Sista dag för uppsägning av TEST-001 Testavtal 1"
    assert "Uppsägningstid 3 månader." in unescape(one(notice, "DESCRIPTION"))
    assert f"transfer-awaiting-{mine.id}@samverkan" in by_uid
    body = response.get_data(as_text=True)
    assert theirs.reference not in body and "Mölndal" not in body


def test_rotated_deleted_and_unknown_tokens_give_404(app, login_as, db):
    c = login_as("admin", kommun="Härryda")
    anonymous = app.test_client()
    first = _path(_feed_url(c))
    assert anonymous.get(first).status_code == 200
    second = _path(_feed_url(c))
    assert second != first
    old = anonymous.get(first)
    assert old.status_code == 404
    assert "Kalenderadressen finns inte längre" in old.get_data(as_text=True)
    assert anonymous.get(second).status_code == 200
    db.expire_all()
    feeds = db.scalars(select(CalendarFeed).where(CalendarFeed.user_id == c.user.id)).all()
    assert len(feeds) == 1
    assert feeds[0].token_hash == hash_token(second.removeprefix("/kalender/").removesuffix(".ics"))

    assert c.post_form("/kalender", {"action": "delete"}).status_code == 302
    assert anonymous.get(second).status_code == 404
    assert anonymous.get("/kalender/kal_okand.ics").status_code == 404
    assert anonymous.get("/kalender/svk_annan-sorts-nyckel.ics").status_code == 404


def test_feed_of_a_deactivated_user_gives_404(app, login_as, db):
    c = login_as("legal", kommun="Härryda")
    path = _path(_feed_url(c))
    assert app.test_client().get(path).status_code == 200
    c.user.active = False
    db.commit()
    assert app.test_client().get(path).status_code == 404


def test_feed_follows_the_owners_municipality(app, login_as, make_transfer, municipality, db):
    make_transfer(requesting="Härryda", performing="Lerum")
    c = login_as("finance", kommun="Härryda")
    path = _path(_feed_url(c))
    assert "Härryda" in app.test_client().get(path).get_data(as_text=True)
    c.user.municipality_id = municipality("Ale").id  # moved to another municipality
    db.commit()
    body = app.test_client().get(path).get_data(as_text=True)
    assert "tidsfrister för Ale" in body
    assert "väntar på svar från Lerum" not in body


def test_calendar_page(login_as):
    c = login_as("auditor", kommun="Härryda")
    page = c.get("/kalender").get_data(as_text=True)
    assert "Du har ingen kalenderadress." in page
    assert "Prenumerera från webben" in page
    page = c.post_form("/kalender", {"action": "create"}).get_data(as_text=True)
    assert "Din nya kalenderadress – kopiera den nu" in page
    page = c.get("/kalender").get_data(as_text=True)
    assert "Du har en kalenderadress, skapad" in page
    assert 'id="feed-url"' not in page  # the address is shown once
    assert "data-confirm=" in page


def test_calendar_page_needs_login_and_a_municipality(client, login_as):
    assert client.get("/kalender").status_code == 302
    sysadmin = login_as("sysadmin", kommun=None)
    assert sysadmin.get("/kalender").status_code == 403
    assert sysadmin.post_form("/kalender", {"action": "create"}).status_code == 403
