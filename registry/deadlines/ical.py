"""The deadline feed as iCalendar (RFC 5545), written with the `icalendar` library: all-day events
(DTSTART;VALUE=DATE, DTEND the day after) with stable UIDs in one VCALENDAR that carries the name
Outlook shows (X-WR-CALNAME) and a refresh hint (REFRESH-INTERVAL, X-PUBLISHED-TTL)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import icalendar

PRODID = "-//Samverkan//Tidsfrister 1.0//SV"


@dataclass(frozen=True)
class CalendarEvent:
    uid: str
    day: dt.date
    summary: str
    description: str | None = None
    url: str | None = None
    categories: tuple[str, ...] = ()


def render_calendar(
    name: str,
    events: Iterable[CalendarEvent],
    stamp: dt.datetime,
    description: str | None = None,
    refresh: dt.timedelta = dt.timedelta(hours=6),
) -> bytes:
    """The whole calendar as UTF-8 bytes with CRLF line endings and folded lines."""
    if stamp.tzinfo is None:
        raise ValueError("DTSTAMP needs a timezone-aware datetime")
    calendar = icalendar.Calendar()
    calendar.add("version", "2.0")
    calendar.add("prodid", PRODID)
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    if description:
        calendar.add("x-wr-caldesc", description)
    calendar.add("refresh-interval", refresh, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", icalendar.vDuration(refresh).to_ical().decode())
    for event in events:
        vevent = icalendar.Event()
        vevent.add("uid", event.uid)
        vevent.add("dtstamp", stamp.astimezone(dt.UTC))
        vevent.add("dtstart", event.day)
        vevent.add("dtend", event.day + dt.timedelta(days=1))
        vevent.add("summary", event.summary)
        if event.description:
            vevent.add("description", event.description)
        if event.url:
            if any(c in event.url for c in "\r\n"):
                raise ValueError("a URI value cannot contain a line break")
            vevent.add("url", event.url)
        if event.categories:
            vevent.add("categories", list(event.categories))
        vevent.add("transp", "TRANSPARENT")
        calendar.add_component(vevent)
    return calendar.to_ical()
