"""The deadlines on the start page, in the API and on the command line."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pytest

from registry.cli import registry_cli
from registry.deadlines import services
from registry.deadlines.views import deadline_url

TODAY = dt.date(2026, 4, 10)


@pytest.fixture(autouse=True)
def fixed_today(monkeypatch):
    monkeypatch.setattr(services, "local_today", lambda: TODAY)


@pytest.fixture
def story(make_agreement, make_transfer):
    """Göteborg hosts a jäv agreement with Härryda and Lerum; Lerum asked Göteborg to take a case."""
    agreement = make_agreement(end_date=dt.date(2026, 8, 31), renewal_months=12, notice_months=3)
    transfer = make_transfer(requesting="Lerum", performing="Göteborg", requested_on=dt.date(2026, 4, 1))
    other = make_transfer(requesting="Ale", performing="Kungälv", requested_on=dt.date(2026, 4, 2))
    return agreement, transfer, other


def _text(response) -> str:
    return response.get_data(as_text=True)


# --- Start page ---------------------------------------------------------------------------------


def test_start_page_shows_the_deadlines_grouped(login_as, story):
    agreement, transfer, other = story
    page = _text(login_as("caseworker", kommun="Göteborg").get("/"))
    assert "Kommande tidsfrister" in page
    assert "Tidsfrister för Göteborg de närmaste 90 dagarna" in page
    for caption in (
        "Avtal: uppsägning och avtalstid",
        "Ärendeöverlämningar som väntar på svar",
        "Rapportering till IVO",
    ):
        assert f"<caption>{caption}</caption>" in page
    assert "Beslut och tremånadersgränsen" not in page  # no group without deadlines
    assert "Sista dag för uppsägning av TEST-001 Testavtal 1" in page
    assert f"Svara på begäran {transfer.reference} från Lerum" in page
    assert other.reference not in page
    assert re.search(
        r"<td>2026-05-31</td>\s*<td>Kommande\s*<br><span class=\"muted\">om 51 dagar</span>", page
    )
    assert re.search(
        r"<td>2026-04-01</td>\s*<td>Snart\s*<br><span class=\"muted\">för 9 dagar sedan</span>", page
    )
    assert 'href="/kalender"' in page


def test_start_page_for_another_party_and_for_a_sysadmin(login_as, story):
    agreement, transfer, _ = story
    page = _text(login_as("finance", kommun="Lerum").get("/"))
    assert f"{transfer.reference} väntar på svar från Göteborg" in page
    assert "Sista dag för uppsägning av TEST-001" in page
    page = _text(login_as("sysadmin", kommun=None).get("/"))
    assert "Kommande tidsfrister" not in page


def test_links_go_to_registered_pages_only(app, login_as, story):
    agreement, _, _ = story
    page = _text(login_as("admin", kommun="Göteborg").get("/"))
    title = "Sista dag för uppsägning av TEST-001 Testavtal 1"
    if services.AGREEMENT_ENDPOINT in app.view_functions:
        assert f">{title}</a>" in page
    else:  # the agreements part has not registered its pages: the title is shown without a link
        assert f"<td>{title}</td>" in page


def test_deadline_url_is_none_for_an_unknown_endpoint(app):
    deadline = services.Deadline(
        date=TODAY,
        kind=services.DeadlineKind.NOTICE,
        title="x",
        endpoint="registry_nowhere.page",
        args={"agreement_id": 1},
        severity=services.Severity.INFO,
        uid="x@samverkan",
    )
    with app.test_request_context("/"):
        assert deadline_url(deadline) is None
        other = dataclasses.replace(deadline, endpoint="registry_deadlines.calendar_settings", args={})
        assert deadline_url(other) == "/kalender"


# --- API ----------------------------------------------------------------------------------------


def test_api_lists_the_users_deadlines(login_as, story):
    _, transfer, other = story
    c = login_as("legal", kommun="Göteborg")
    response = c.get("/api/v1/deadlines/")
    assert response.status_code == 200
    assert "X-Pagination" in response.headers
    items = response.json
    assert [(i["date"], i["kind"], i["severity"]) for i in items] == [
        ("2026-04-01", "transfer_to_answer", "soon"),
        ("2026-04-30", "ivo_window_open", "soon"),
        ("2026-05-31", "notice", "info"),
        ("2026-07-01", "ivo_window_next", "info"),
    ]
    assert items[0]["title"] == f"Svara på begäran {transfer.reference} från Lerum"
    assert items[0]["kind_label"] == "Begäran väntar på ert svar"
    assert items[0]["severity_label"] == "Snart"
    assert items[0]["group"] == "transfers"
    assert items[0]["uid"] == f"transfer-answer-{transfer.id}@samverkan"
    short = c.get("/api/v1/deadlines/?horizon_days=30").json
    assert [i["kind"] for i in short] == ["transfer_to_answer", "ivo_window_open"]
    assert c.get("/api/v1/deadlines/?horizon_days=400").status_code == 422


def test_api_needs_login_and_a_municipality(client, login_as):
    assert client.get("/api/v1/deadlines/").status_code == 401
    assert login_as("sysadmin", kommun=None).get("/api/v1/deadlines/").status_code == 403


# --- Command line -------------------------------------------------------------------------------


def test_cli_prints_the_same_list_in_aligned_columns(app, story, db):
    agreement, transfer, _ = story
    result = app.test_cli_runner().invoke(
        registry_cli, ["deadlines", "--municipality", "1480", "--date", "2026-04-10"]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "Tidsfrister för Göteborg (1480) per 2026-04-10, 90 dagar framåt"
    table = [line for line in lines[1:] if line]
    header, rule, *rows = table
    assert header.split() == ["Datum", "Läge", "Typ", "Beskrivning"]
    assert [row[:10] for row in rows] == ["2026-04-01", "2026-04-30", "2026-05-31", "2026-07-01"]
    # Columns line up: the description starts at the same place on every line.
    start = header.index("Beskrivning")
    assert all(row[start - 2 : start] == "  " and row[start] != " " for row in rows)
    assert (
        f"Svara på begäran {transfer.reference} från Lerum – Begärd 2026-04-01, väntat 9 dagar."
        in result.output
    )
    assert "Passerad" not in result.output


def test_cli_horizon_and_errors(app, story):
    runner = app.test_cli_runner()
    result = runner.invoke(
        registry_cli, ["deadlines", "--municipality", "1480", "--date", "2026-04-10", "--days", "0"]
    )
    assert result.exit_code == 0
    assert "2026-05-31" not in result.output and "2026-04-01" in result.output
    result = runner.invoke(registry_cli, ["deadlines", "--municipality", "9999"])
    assert result.exit_code == 1
    assert "Fel: Det finns ingen kommun med kommunkod 9999." in result.output


def test_openapi_lists_the_deadlines_and_shared_roles_endpoints(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert {"get"} <= set(paths["/api/v1/deadlines/"])
    assert {"get", "post"} <= set(paths["/api/v1/shared-roles/"])
    assert {"get", "patch"} <= set(paths["/api/v1/shared-roles/{role_id}"])
    assert {"get", "post"} <= set(paths["/api/v1/shared-roles/{role_id}/allocations"])
