"""HTML pages of the shell: login, start page, the municipality register, users, API tokens and
the audit log. Pages validate with the same schemas and services as the API."""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user
from markupsafe import Markup
from sqlalchemy import func, select

from core import services
from core.audit_queries import audit_query
from core.auth import authenticate
from core.db import db_session, swedish
from core.errors import LoginThrottled, NotFound, ValidationFailed
from core.models import ROLE_LABELS, AuditEntry, Municipality, Role, User
from core.permissions import Permission, can, require

auth_bp = Blueprint("core_auth", __name__)
main_bp = Blueprint("core_main", __name__)
municipalities_bp = Blueprint("core_municipalities", __name__, url_prefix="/kommuner")
users_bp = Blueprint("core_users", __name__, url_prefix="/anvandare")
audit_bp = Blueprint("core_audit", __name__, url_prefix="/granskningslogg")

PAGE_SIZE = 25
ENTITY_LABELS = {
    "municipalities": "Kommun",
    "municipality_populations": "Folkmängd",
    "users": "Användare",
    "user_roles": "Användarroll",
    "api_tokens": "API-nyckel",
}
ACTION_LABELS = {"insert": "Skapad", "update": "Ändrad", "delete": "Borttagen"}
FIELD_LABELS = {
    "kommunkod": "kommunkod",
    "name": "namn",
    "county_code": "länskod",
    "county_name": "län",
    "org_number": "organisationsnummer",
    "peppol_id": "Peppol-id",
    "bankgiro": "Bankgiro",
    "street_address": "adress",
    "postal_code": "postnummer",
    "city": "ort",
    "invoice_email": "e-post för fakturor",
    "created_at": "skapad",
    "updated_at": "ändrad",
    "municipality_id": "kommun",
    "year": "år",
    "population": "folkmängd",
    "reference_date": "referensdatum",
    "source": "källa",
    "email": "e-post",
    "password_hash": "lösenord",
    "active": "aktiv",
    "last_login_at": "senast inloggad",
    "user_id": "användare",
    "role": "roll",
    "prefix": "nyckelns början",
    "token_hash": "nyckel",
    "expires_at": "giltig till",
    "revoked_at": "återkallad",
}


class Page:
    """A page of a select() for HTML lists."""

    def __init__(self, stmt, page: int, size: int = PAGE_SIZE):
        self.total = db_session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        self.pages = max(1, math.ceil(self.total / size))
        self.page = min(max(1, page), self.pages)
        self.items = db_session.scalars(stmt.offset((self.page - 1) * size).limit(size)).all()
        self.first = (self.page - 1) * size + 1 if self.total else 0
        self.last = (self.page - 1) * size + len(self.items)

    def url(self, page: int) -> str:
        args = request.args.to_dict()
        args["sida"] = page
        return url_for(request.endpoint, **(request.view_args or {}), **args)


def page_arg() -> int:
    """The page number of a list (`?sida=N`); anything unreadable means the first page."""
    try:
        return int(request.args.get("sida", 1))
    except ValueError:
        return 1


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


# --- Login --------------------------------------------------------------------------------------


@auth_bp.route("/logga-in", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("core_main.index"))
    error = None
    status = 200
    email = request.form.get("email", "")
    if request.method == "POST":
        try:
            user = authenticate(email, request.form.get("password", ""))
        except LoginThrottled as exc:
            error, status = exc.message, 429
        else:
            if user is None:
                error, status = "Fel e-postadress eller lösenord.", 401
            else:
                session.clear()  # no session fixation
                login_user(user)
                flash(f"Välkommen, {user.name}.", "success")
                return redirect(_safe_next(request.args.get("next")) or url_for("core_main.index"))
    return render_template("core/login.html", error=error, email=email), status


@auth_bp.post("/logga-ut")
def logout():
    logout_user()
    session.clear()
    flash("Du är utloggad.", "info")
    return redirect(url_for("core_auth.login"))


# --- Start page and account ---------------------------------------------------------------------


@main_bp.get("/")
@login_required
def index():
    municipality = current_user.municipality
    user = current_user._get_current_object()
    panels = sorted(current_app.extensions["samverkan_start_panels"], key=lambda p: p[0])
    rendered = [html for _, render in panels if (html := render(user))]
    return render_template("core/index.html", municipality=municipality, panels=rendered)


@main_bp.route("/konto", methods=["GET", "POST"])
@login_required
def account():
    new_secret = None
    errors = {}
    if request.method == "POST":
        action = request.form.get("action")
        if action == "create-token":
            days_text = request.form.get("days", "").strip()
            try:
                days = int(days_text) if days_text else None
                token, new_secret = services.create_api_token(
                    db_session, current_user, request.form.get("name", ""), days
                )
            except ValueError:
                errors = {"days": ["Ange antal dagar som ett heltal."]}
            except ValidationFailed as exc:
                errors = exc.errors
            else:
                flash(
                    f"API-nyckeln '{token.name}' är skapad. Kopiera den nu: den visas bara en gång.",
                    "success",
                )
        elif action == "change-password":
            try:
                services.change_own_password(
                    db_session,
                    current_user,
                    request.form.get("current_password", ""),
                    request.form.get("new_password", ""),
                    request.form.get("repeat_password", ""),
                )
            except ValidationFailed as exc:
                errors = exc.errors
            else:
                flash("Ditt lösenord är ändrat.", "success")
                return redirect(url_for("core_main.account"))
        elif action == "revoke-token":
            token_id = request.form.get("token_id", "")
            if not token_id.isdigit() or int(token_id) > 2**31 - 1:
                raise NotFound("API-nyckeln finns inte.")
            token = services.revoke_api_token(db_session, current_user, int(token_id))
            flash(f"API-nyckeln '{token.name}' är återkallad.", "success")
            return redirect(url_for("core_main.account"))
    tokens = sorted(current_user.tokens, key=lambda t: t.created_at, reverse=True)
    return render_template(
        "core/account.html", tokens=tokens, new_secret=new_secret, errors=errors, form=request.form
    ), (422 if errors else 200)


# --- Municipalities -----------------------------------------------------------------------------


@municipalities_bp.get("/")
@login_required
def municipality_list():
    require(current_user, Permission.MUNICIPALITY_READ)
    q = request.args.get("q", "").strip()
    county = request.args.get("lan", "").strip()
    stmt = services.search_municipalities(db_session, q or None, county or None)
    page = Page(stmt, page_arg())
    counties = services.list_counties(db_session)
    return render_template("core/municipalities.html", page=page, q=q, county=county, counties=counties)


@municipalities_bp.get("/<int:municipality_id>")
@login_required
def municipality_detail(municipality_id: int):
    require(current_user, Permission.MUNICIPALITY_READ)
    municipality = services.get_municipality(db_session, municipality_id)
    return render_template(
        "core/municipality_detail.html",
        m=municipality,
        can_edit=can(current_user, Permission.MUNICIPALITY_EDIT, municipality.id),
    )


@municipalities_bp.route("/<int:municipality_id>/redigera", methods=["GET", "POST"])
@login_required
def municipality_edit(municipality_id: int):
    municipality = services.get_municipality(db_session, municipality_id)
    require(current_user, Permission.MUNICIPALITY_EDIT, municipality.id)
    fields = ("org_number", "peppol_id", "bankgiro", "street_address", "postal_code", "city", "invoice_email")
    errors = {}
    if request.method == "POST":
        data = {f: request.form.get(f, "") for f in fields}
        try:
            services.update_municipality(db_session, current_user, municipality, data)
        except ValidationFailed as exc:
            errors = exc.errors
            form = data
        else:
            flash(f"Uppgifterna för {municipality.name} är sparade.", "success")
            return redirect(url_for(".municipality_detail", municipality_id=municipality.id))
    else:
        form = {f: getattr(municipality, f) or "" for f in fields}
    return render_template("core/municipality_edit.html", m=municipality, form=form, errors=errors), (
        422 if errors else 200
    )


@municipalities_bp.post("/<int:municipality_id>/folkmangd")
@login_required
def municipality_population(municipality_id: int):
    municipality = services.get_municipality(db_session, municipality_id)
    from core.schemas import PopulationSchema

    data = {k: request.form.get(k, "").replace(" ", "").replace("\u00a0", "") for k in ("year", "population")}
    data["source"] = request.form.get("source") or None
    try:
        values = services.load_or_raise(PopulationSchema(), data)
        services.set_population(
            db_session,
            current_user,
            municipality,
            values["year"],
            values["population"],
            None,
            values.get("source"),
        )
    except ValidationFailed as exc:
        messages = "; ".join(
            f"{'År' if k == 'year' else 'Folkmängd' if k == 'population' else k}: {' '.join(v)}"
            for k, v in exc.errors.items()
        )
        flash(f"Folkmängden sparades inte. {messages}", "error")
        return redirect(url_for(".municipality_detail", municipality_id=municipality.id) + "#folkmangd")
    flash(f"Folkmängd {values['year']} för {municipality.name} är sparad.", "success")
    return redirect(url_for(".municipality_detail", municipality_id=municipality.id) + "#folkmangd")


@municipalities_bp.route("/folkmangd/import", methods=["GET", "POST"])
@login_required
def population_import():
    if not (current_user.is_sysadmin or current_user.has_role(Role.ADMIN, Role.FINANCE)):
        require(current_user, Permission.MUNICIPALITY_EDIT, -1)
    result = None
    if request.method == "POST":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            flash("Välj en CSV-fil att läsa in.", "error")
            return render_template("core/population_import.html", result=None), 422
        result = services.import_population_csv(db_session, current_user, upload.read())
        if result.ok:
            flash(
                f"Inläsningen är klar: {result.created} nya, {result.updated} ändrade och "
                f"{result.unchanged} oförändrade uppgifter om folkmängd.",
                "success",
            )
            return redirect(url_for(".population_import"))
        return render_template("core/population_import.html", result=result), 422
    return render_template("core/population_import.html", result=result)


# --- Users (system administrators manage; administrators and auditors read their own) ----------


@users_bp.get("/")
@login_required
def user_list():
    q = request.args.get("q", "").strip()
    stmt = services.search_users(db_session, current_user, q or None)
    return render_template(
        "core/users.html",
        page=Page(stmt, page_arg()),
        q=q,
        role_labels=ROLE_LABELS,
        can_manage=can(current_user, Permission.USER_MANAGE),
    )


def _user_form_data() -> dict:
    data = {
        "name": request.form.get("name", ""),
        "municipality_id": request.form.get("municipality_id") or None,
        "roles": request.form.getlist("roles"),
        "active": request.form.get("active") == "on",
    }
    if request.form.get("password"):
        data["password"] = request.form["password"]
    return data


def _municipality_choices():
    return db_session.execute(
        select(Municipality.id, Municipality.name).order_by(swedish(Municipality.name))
    ).all()


@users_bp.route("/ny", methods=["GET", "POST"])
@login_required
def user_create():
    require(current_user, Permission.USER_MANAGE)
    errors, form = {}, {"roles": [], "active": True}
    if request.method == "POST":
        form = _user_form_data() | {"email": request.form.get("email", "")}
        try:
            user = services.create_user(db_session, current_user, form)
        except ValidationFailed as exc:
            errors = exc.errors
        else:
            flash(f"Användaren {user.name} är skapad.", "success")
            return redirect(url_for(".user_list"))
    return render_template(
        "core/user_form.html",
        user=None,
        form=form,
        errors=errors,
        roles=list(Role),
        role_labels=ROLE_LABELS,
        municipalities=_municipality_choices(),
    ), (422 if errors else 200)


@users_bp.route("/<int:user_id>/redigera", methods=["GET", "POST"])
@login_required
def user_edit(user_id: int):
    require(current_user, Permission.USER_MANAGE)
    user = services.get_user(db_session, user_id)
    errors = {}
    if request.method == "POST":
        form = _user_form_data()
        try:
            services.update_user(db_session, current_user, user, form)
        except ValidationFailed as exc:
            errors = exc.errors
        else:
            flash(f"Användaren {user.name} är sparad.", "success")
            return redirect(url_for(".user_list"))
        form["email"] = user.email
    else:
        form = {
            "email": user.email,
            "name": user.name,
            "municipality_id": user.municipality_id,
            "roles": [r.value for r in user.roles],
            "active": user.active,
        }
    return render_template(
        "core/user_form.html",
        user=user,
        form=form,
        errors=errors,
        roles=list(Role),
        role_labels=ROLE_LABELS,
        municipalities=_municipality_choices(),
    ), (422 if errors else 200)


# --- Audit log ----------------------------------------------------------------------------------


@audit_bp.get("/")
@login_required
def audit_list():
    from core.schemas import AuditQuerySchema

    raw = {
        "entity": request.args.get("entitet") or None,
        "user_id": request.args.get("anvandare") or None,
        "date_from": request.args.get("fran") or None,
        "date_to": request.args.get("till") or None,
    }
    filters = services.load_or_raise(AuditQuerySchema(), {k: v for k, v in raw.items() if v is not None})
    stmt = audit_query(current_user, **filters)
    page = Page(stmt, page_arg())
    user_ids = {e.user_id for e in page.items if e.user_id}
    users = (
        {u.id: u for u in db_session.scalars(select(User).where(User.id.in_(user_ids)))} if user_ids else {}
    )
    entities = db_session.scalars(select(AuditEntry.entity).distinct().order_by(AuditEntry.entity)).all()
    # The people an auditor may filter on: the users they may see (their own municipality's).
    user_choices = db_session.scalars(services.search_users(db_session, current_user)).all()
    return render_template(
        "core/audit.html",
        page=page,
        raw=raw,
        users=users,
        entities=entities,
        user_choices=user_choices,
        entity_labels=ENTITY_LABELS,
        action_labels=ACTION_LABELS,
        field_labels=FIELD_LABELS,
    )


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: str
    order: int = 50
    visible: Callable[[Any], bool] = lambda user: True


def add_nav_item(app: Flask, endpoint: str, label: str, order: int = 50, visible=None) -> None:
    """Packages add their pages to the main menu; `visible(user)` decides per role."""
    app.extensions["samverkan_nav"].append(NavItem(endpoint, label, order, visible or (lambda user: True)))


def add_start_panel(app: Flask, render: Callable[[Any], str | None], order: int = 50) -> None:
    """Packages add panels to the start page: `render(user)` returns HTML or None."""
    app.extensions["samverkan_start_panels"].append((order, render))


def add_detail_panel(
    app: Flask, kind: str, render: Callable[[Any, Any], str | None], order: int = 50
) -> None:
    """Higher packages add sections to a lower package's detail page without being imported by it
    (e.g. contracts adds the contract versions to the registry's agreement page). The page calls
    `detail_panels(kind, obj)`; `render(user, obj)` returns HTML or None."""
    app.extensions["samverkan_detail_panels"].setdefault(kind, []).append((order, render))


def _detail_panels(kind: str, obj) -> Markup:
    user = current_user._get_current_object() if current_user and current_user.is_authenticated else None
    if user is None:
        return Markup("")
    panels = sorted(current_app.extensions["samverkan_detail_panels"].get(kind, []), key=lambda p: p[0])
    return Markup("").join(Markup(html) for _, render in panels if (html := render(user, obj)))


def register_views(app: Flask) -> None:
    for bp in (auth_bp, main_bp, municipalities_bp, users_bp, audit_bp):
        app.register_blueprint(bp)
    app.extensions["samverkan_nav"] = []
    app.extensions["samverkan_start_panels"] = []
    app.extensions["samverkan_detail_panels"] = {}
    app.jinja_env.globals["detail_panels"] = _detail_panels
    add_nav_item(app, "core_main.index", "Start", order=0)
    add_nav_item(app, "core_municipalities.municipality_list", "Kommuner", order=80)
    add_nav_item(app, "core_users.user_list", "Användare", 85, lambda u: can(u, Permission.USER_READ))
    add_nav_item(app, "core_audit.audit_list", "Granskningslogg", 90, lambda u: can(u, Permission.AUDIT_READ))
    add_nav_item(app, "core_main.account", "Mitt konto", order=99)

    @app.context_processor
    def _navigation():
        user = current_user if current_user and current_user.is_authenticated else None
        nav = []
        if user is not None:
            items = sorted(app.extensions["samverkan_nav"], key=lambda item: item.order)
            nav = [(item.endpoint, item.label) for item in items if item.visible(user)]
        return {"nav_items": nav, "role_labels": ROLE_LABELS, "Permission": Permission, "can": can}


def download_response(content: bytes, media_type: str, filename: str):
    """Bytes as a file download: an attachment with its name, never cached (case and invoice files are
    the parties' business only), not sniffed. The one place every package's downloads go through."""
    response = send_file(
        io.BytesIO(content),
        mimetype=media_type,
        as_attachment=True,
        download_name=filename,
        etag=False,
        max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response
