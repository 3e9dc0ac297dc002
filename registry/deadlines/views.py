"""The start page's "Kommande tidsfrister" panel, the calendar page (/kalender) where a user creates,
replaces or removes their secret feed address, and the feed itself (/kalender/<token>.ics)."""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.routing import BuildError

import registry
from core.db import db_session, utcnow
from core.errors import NotFound
from core.permissions import can
from registry.deadlines import services
from registry.deadlines.ical import CalendarEvent, render_calendar
from registry.permissions import DEADLINES_READ

bp = Blueprint("registry_deadlines", __name__, template_folder=registry.TEMPLATES)

FEED_NOT_FOUND = "Kalenderadressen finns inte längre. Skapa en ny adress under Kalender i Samverkan."


def deadline_url(deadline: services.Deadline, external: bool = False) -> str | None:
    """The page a deadline links to, or None when that page does not exist."""
    if deadline.endpoint is None:
        return None
    try:
        return url_for(deadline.endpoint, _external=external, **deadline.args)
    except BuildError:
        return None


def render_panel(user) -> str | None:
    """The start page's panel for the user's municipality (None for users without one)."""
    if user.municipality_id is None or not can(user, DEADLINES_READ, user.municipality_id):
        return None
    today = services.local_today()
    deadlines = services.deadlines_for_user(db_session, user, today)
    return render_template(
        "registry/deadlines/_panel.html",
        groups=services.group_deadlines(deadlines),
        group_labels=services.GROUP_LABELS,
        horizon_days=services.DEFAULT_HORIZON_DAYS,
        today=today,
        municipality=user.municipality,
        deadline_url=deadline_url,
    )


@bp.route("/kalender", methods=["GET", "POST"])
@login_required
def calendar_settings():
    user = current_user._get_current_object()
    services.require_deadlines_reader(user)
    new_url = None
    if request.method == "POST":
        action = request.form.get("action")
        if action == "create":
            replaced = services.get_calendar_feed(db_session, user) is not None
            _, secret = services.create_calendar_feed(db_session, user)
            new_url = url_for(".calendar_feed", token=secret, _external=True)
            flash(
                "En ny kalenderadress är skapad. Den gamla adressen fungerar inte längre."
                if replaced
                else "Kalenderadressen är skapad.",
                "success",
            )
        elif action == "delete":
            if services.delete_calendar_feed(db_session, user):
                flash(
                    "Kalenderadressen är borttagen. Prenumerationen i Outlook slutar uppdateras.", "success"
                )
            return redirect(url_for(".calendar_settings"))
    return render_template(
        "registry/deadlines/calendar.html",
        feed=services.get_calendar_feed(db_session, user),
        new_url=new_url,
        example_url=f"{url_for('.calendar_settings', _external=True)}/{services.FEED_TOKEN_PREFIX}….ics",
    )


def _calendar_event(deadline: services.Deadline) -> CalendarEvent:
    url = deadline_url(deadline, external=True)
    lines = [f"{deadline.kind_label} ({deadline.severity_label.lower()}).", deadline.detail]
    if url:
        lines.append(f"Öppna i Samverkan: {url}")
    return CalendarEvent(
        uid=deadline.uid,
        day=deadline.date,
        summary=deadline.title,
        description="\n".join(line for line in lines if line),
        url=url,
        categories=(services.GROUP_LABELS[deadline.group],),
    )


@bp.get("/kalender/<token>.ics")
def calendar_feed(token: str):
    """The deadlines of the token owner's municipality as iCalendar. No login: the token is the secret."""
    user = services.calendar_feed_owner(db_session, token)
    if user is None:
        raise NotFound(FEED_NOT_FOUND)
    deadlines = services.deadlines_for_user(db_session, user, services.local_today())
    events = [_calendar_event(d) for d in deadlines]
    body = render_calendar(
        f"Samverkan: tidsfrister för {user.municipality.name}",
        events,
        stamp=utcnow(),
        description=(
            f"Uppsägningsdatum, avtalsslut, ärendeöverlämningar, beslut och IVO-rapportering för "
            f"{user.municipality.name}, {services.DEFAULT_HORIZON_DAYS} dagar framåt."
        ),
    )
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Content-Disposition"] = 'inline; filename="samverkan-tidsfrister.ics"'
    # The URL is a secret: keep it and the answer out of shared caches.
    response.headers["Cache-Control"] = "private, no-store"
    return response
