import datetime as dt
from decimal import Decimal

import pytest

from core import create_app
from core.config import ConfigError
from core.formatting import format_date, format_datetime, format_money, format_number, round_money


def test_healthz_checks_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}


def test_healthz_reports_a_broken_database(tmp_path):
    app = create_app({"ENV": "testing", "DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["database"] == "otillgänglig"


def test_production_refuses_to_start_without_secret_key(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("SAMVERKAN_ENV", raising=False)
    monkeypatch.delenv("FLASK_ENV", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app({"DATABASE_URL": "sqlite://"})


def test_production_sets_secure_session_cookies(monkeypatch):
    monkeypatch.delenv("SAMVERKAN_ENV", raising=False)
    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    app = create_app({"ENV": "production", "SECRET_KEY": "x" * 40, "DATABASE_URL": "sqlite://"})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_money_is_formatted_the_swedish_way():
    assert format_money(Decimal("1234.5")) == "1\u00a0234,50\u00a0kr"
    assert format_money(Decimal("-1234567.005")) == "-1\u00a0234\u00a0567,01\u00a0kr"
    assert format_money(0) == "0,00\u00a0kr"
    assert round_money("2.675") == Decimal("2.68")  # half-up, not banker's rounding
    assert format_number(39700) == "39\u00a0700"


def test_dates_are_iso_and_times_local():
    assert format_date(dt.date(2026, 2, 28)) == "2026-02-28"
    # 12:30 UTC in November is 13:30 in Stockholm; in July 14:30.
    assert format_datetime(dt.datetime(2026, 11, 23, 12, 30, tzinfo=dt.UTC)) == "2026-11-23 13:30"
    assert format_datetime(dt.datetime(2026, 7, 1, 12, 30, tzinfo=dt.UTC)) == "2026-07-01 14:30"


def test_unknown_page_is_a_swedish_404(client):
    response = client.get("/finns-inte")
    assert response.status_code == 404
    assert "Hittades inte" in response.get_data(as_text=True)


def test_unknown_api_path_is_json_404(client):
    response = client.get("/api/v1/finns-inte")
    assert response.status_code == 404
    assert set(response.json) == {"code", "status", "message", "errors"}


def test_static_assets_are_local(client):
    html = client.get("/logga-in").get_data(as_text=True)
    assert "https://" not in html and "http://" not in html
    assert client.get("/static/samverkan.css").status_code == 200
    docs = client.get("/api/v1/docs").get_data(as_text=True)
    assert "/api/v1/docs-assets/swagger-ui-bundle.js" in docs
    assert "cdn" not in docs.lower()
    assert client.get("/api/v1/docs-assets/swagger-ui-bundle.js").status_code == 200


def test_layout_has_landmarks_and_skip_link(login_as):
    c = login_as("admin")
    html = c.get("/").get_data(as_text=True)
    assert 'class="skip-link" href="#main"' in html
    assert '<main id="main"' in html
    assert 'aria-label="Huvudmeny"' in html
    assert 'lang="sv"' in html


def test_navigation_follows_roles(login_as):
    auditor_html = login_as("auditor").get("/").get_data(as_text=True)
    finance_html = login_as("finance").get("/").get_data(as_text=True)
    assert "Granskningslogg" in auditor_html
    assert "Granskningslogg" not in finance_html


def test_openapi_lists_municipality_and_user_endpoints(client):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["info"]["title"] == "Samverkan API"
    paths = spec["paths"]
    for path in (
        "/api/v1/municipalities/",
        "/api/v1/municipalities/{municipality_id}",
        "/api/v1/users/",
        "/api/v1/users/{user_id}",
        "/api/v1/users/me",
        "/api/v1/audit/",
    ):
        assert path in paths, path
    assert "patch" in paths["/api/v1/municipalities/{municipality_id}"]
    assert "post" in paths["/api/v1/users/"]
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_a_database_constraint_violation_is_a_409_not_a_500(tmp_path):
    """When two people save the same unique value at once, the loser gets a clear 409, not a 500."""
    from flask import Blueprint

    from core.db import Base, db_session
    from core.models import Municipality
    from core.models_registry import import_all_models

    app = create_app({"ENV": "testing", "DATABASE_URL": f"sqlite:///{tmp_path / 'probe.sqlite3'}"})
    import_all_models()
    Base.metadata.create_all(app.extensions["samverkan_engine"])
    bp = Blueprint("constraint_probe", __name__)

    @bp.post("/api/v1/_probe-duplicate")
    def probe():
        # Two rows with the same kommunkod, bypassing any friendly check, as a concurrent save would.
        db_session.add(Municipality(kommunkod="1480", name="Ett", county_code="14", county_name="X"))
        db_session.add(Municipality(kommunkod="1480", name="Två", county_code="14", county_name="X"))
        db_session.flush()
        return {}

    app.register_blueprint(bp)
    response = app.test_client().post("/api/v1/_probe-duplicate")
    assert response.status_code == 409
    assert "krockar" in response.json["message"]
    app.extensions["samverkan_engine"].dispose()
