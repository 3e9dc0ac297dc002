"""Pages of performed services: the list with filters, totals per unit and the attest selection; the
register and edit forms; a service's page (attest, billing, delete); the CSV import with its example
file. Pages validate with the same schemas and services as the API."""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

import billing
from billing.errors import ImportRejected, ServiceLocked
from billing.permissions import SERVICE_ATTEST, SERVICE_EDIT, SERVICE_READ
from billing.services import importing, services
from billing.services.schemas import STATE_LABELS, PerformedServiceQuerySchema
from contracts.models import SERVICE_UNIT_LABELS, ServiceUnit
from core.db import db_session
from core.errors import ValidationFailed
from core.formatting import format_number
from core.permissions import can, require
from core.services import load_or_raise
from core.views import Page, page_arg

bp = Blueprint("billing_services", __name__, url_prefix="/prestationer", template_folder=billing.TEMPLATES)

PAGE_SIZE = 50
FORM_FIELDS = tuple(services.FIELD_LABELS)
# The list page's Swedish query parameters.
STATE_PARAMS = {"ej-attesterade": "unattested", "attesterade": "attested", "fakturerade": "billed"}
SIDE_PARAMS = {"utforda": "performed", "kopta": "bought"}
UNITS = [u for u in ServiceUnit if u != ServiceUnit.PERIOD]


def _can_edit() -> bool:
    return can(current_user, SERVICE_EDIT, current_user.municipality_id or -1)


def _can_attest() -> bool:
    return can(current_user, SERVICE_ATTEST, current_user.municipality_id or -1)


def _filters() -> dict:
    args = request.args
    raw = {
        "agreement_id": args.get("avtal") or None,
        "buying_municipality_id": args.get("kopare") or None,
        "date_from": args.get("fran") or None,
        "date_to": args.get("till") or None,
        "state": STATE_PARAMS.get(args.get("status", "")),
        "side": SIDE_PARAMS.get(args.get("roll", "")),
    }
    return load_or_raise(PerformedServiceQuerySchema(), {k: v for k, v in raw.items() if v is not None})


def _labels() -> dict:
    return {"unit_labels": SERVICE_UNIT_LABELS, "labels": services.FIELD_LABELS}


@bp.get("/")
@login_required
def service_list():
    require(current_user, SERVICE_READ)
    filters = _filters()
    page = Page(services.search_services(db_session, current_user, **filters), page_arg(), PAGE_SIZE)
    services.annotate_billing(db_session, page.items)
    agreements = services.party_agreements(db_session, current_user)
    return render_template(
        "billing/services/list.html",
        page=page,
        args=request.args,
        filtered=any(request.args.get(k) for k in ("avtal", "kopare", "fran", "till", "status", "roll")),
        totals=services.totals_by_unit(db_session, current_user, **filters),
        agreements=agreements,
        buyers=([current_user.municipality] if current_user.municipality else [])
        + services.counterparties(agreements, current_user),
        state_params={v: k for k, v in STATE_PARAMS.items()},
        state_labels=STATE_LABELS,
        can_edit=_can_edit(),
        can_attest=_can_attest(),
        back=request.full_path.rstrip("?"),
        billing_of=services.billing_info,
        **_labels(),
    )


def _form_context(form: dict, errors: dict, service=None) -> dict:
    agreements = services.performed_agreements(db_session, current_user)
    if service is not None and service.agreement not in agreements:
        agreements = [service.agreement, *agreements]
    ids = [a.id for a in agreements]
    day = services.local_today()
    return {
        "form": form,
        "errors": errors,
        "service": service,
        "agreements": agreements,
        "buyers": services.counterparties(agreements, current_user),
        "transfers": services.transfer_choices(db_session, current_user, ids),
        "roles": services.role_choices(db_session, ids),
        "units": UNITS,
        "summaries": services.terms_summaries(db_session, agreements, day),
        "today": day,
        **_labels(),
    }


def _form_data() -> dict:
    return {name: request.form.get(name, "") for name in FORM_FIELDS}


def _as_form(service) -> dict:
    values = services.current_values(service)
    form = {k: ("" if v is None else v) for k, v in values.items()}
    form["service_date"] = service.service_date.isoformat()
    form["quantity"] = format_number(service.quantity, 2).replace("\u00a0", " ")
    form["unit"] = service.unit.value
    return form


@bp.route("/ny", methods=["GET", "POST"])
@login_required
def service_create():
    services.require_register(current_user)
    errors: dict = {}
    form: dict = {"service_date": services.local_today().isoformat()}
    if request.method == "GET":
        for key, arg in (("agreement_id", "avtal"), ("buying_municipality_id", "kopare")):
            if request.args.get(arg):
                form[key] = request.args[arg]
    if request.method == "POST":
        form = _form_data()
        try:
            service = services.register_service(db_session, current_user, form)
        except ValidationFailed as exc:
            errors = exc.errors
        else:
            flash(
                f"Prestationen är registrerad: {format_number(service.quantity)} "
                f"{SERVICE_UNIT_LABELS[service.unit]} {service.service_type_code} för "
                f"{service.buying_municipality.name} {service.service_date.isoformat()}. Den väntar på attest.",
                "success",
            )
            if request.form.get("action") == "again":
                return redirect(
                    url_for(
                        ".service_create", avtal=service.agreement_id, kopare=service.buying_municipality_id
                    )
                )
            return redirect(url_for(".service_detail", service_id=service.id))
    return render_template("billing/services/form.html", **_form_context(form, errors)), (
        422 if errors else 200
    )


@bp.get("/<int:service_id>")
@login_required
def service_detail(service_id: int):
    service = services.get_service(db_session, current_user, service_id)
    info = services.billing_info(service)
    performer = service.performing_municipality_id == current_user.municipality_id
    return render_template(
        "billing/services/detail.html",
        s=service,
        billing=info,
        performer=performer,
        may_change=performer
        and info is None
        and can(current_user, SERVICE_EDIT, service.performing_municipality_id),
        may_attest=performer and can(current_user, SERVICE_ATTEST, service.performing_municipality_id),
        back=request.path,
        **_labels(),
    )


@bp.route("/<int:service_id>/redigera", methods=["GET", "POST"])
@login_required
def service_edit(service_id: int):
    service = services.get_service(db_session, current_user, service_id)
    require(current_user, SERVICE_EDIT, service.performing_municipality_id)
    if services.is_billed(db_session, service):
        raise ServiceLocked()
    errors: dict = {}
    form = _as_form(service)
    if request.method == "POST":
        form = _form_data()
        was_attested = service.attested_at is not None
        try:
            services.update_service(db_session, current_user, service, form)
        except ValidationFailed as exc:
            errors = exc.errors
        else:
            message = "Ändringarna är sparade."
            if was_attested and service.attested_at is None:
                message += " Attesten är borttagen: prestationen behöver attesteras igen."
            flash(message, "success")
            return redirect(url_for(".service_detail", service_id=service.id))
    return render_template("billing/services/form.html", **_form_context(form, errors, service)), (
        422 if errors else 200
    )


@bp.post("/<int:service_id>/ta-bort")
@login_required
def service_delete(service_id: int):
    service = services.get_service(db_session, current_user, service_id)
    services.delete_service(db_session, current_user, service)
    flash(f"Prestation {service_id} är borttagen.", "success")
    return redirect(url_for(".service_list"))


def _back(default: str) -> str:
    target = request.form.get("tillbaka", "")
    if target.startswith(bp.url_prefix + "/") or target == bp.url_prefix:
        if "//" not in target and "\\" not in target:
            return target
    return default


@bp.post("/attest")
@login_required
def service_attest():
    """The checkbox list's "Attestera markerade" (and "Ta bort attest"), and the buttons on a service's page."""
    back = _back(url_for(".service_list"))
    ids = []
    for value in request.form.getlist("ids"):
        if not value.isdigit() or int(value) > 2**31 - 1:
            flash("Urvalet innehåller en ogiltig prestation. Ladda om sidan och försök igen.", "error")
            return redirect(back)
        ids.append(int(value))
    if not ids:
        flash("Markera de prestationer som ska attesteras.", "error")
        return redirect(back)
    if request.form.get("action") == "unattest":
        changed = services.unattest_services(db_session, current_user, ids)
        flash(
            f"Attesten är borttagen för {len(changed)} {'prestation' if len(changed) == 1 else 'prestationer'}.",
            "success",
        )
    else:
        changed = services.attest_services(db_session, current_user, ids)
        already = len(set(ids)) - len(changed)
        message = f"{len(changed)} {'prestation' if len(changed) == 1 else 'prestationer'} attesterade."
        if already:
            message += f" {already} var redan attesterade."
        flash(message, "success")
    return redirect(back)


@bp.route("/import", methods=["GET", "POST"])
@login_required
def service_import():
    services.require_register(current_user)
    rejected = None
    status = 200
    if request.method == "POST":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            flash("Välj en CSV-fil att importera.", "error")
            status = 422
        else:
            data = upload.stream.read(importing.MAX_IMPORT_BYTES + 1)
            try:
                done = importing.import_services_csv(db_session, current_user, upload.filename, data)
            except ImportRejected as exc:
                rejected, status = exc, 422
            else:
                flash(
                    f"{done.row_count} {'rad' if done.row_count == 1 else 'rader'} importerade från {done.filename}. "
                    "Prestationerna väntar på attest.",
                    "success",
                )
                return redirect(url_for(".service_import"))
    recent = db_session.scalars(services.list_imports(db_session, current_user).limit(10)).all()
    return render_template(
        "billing/services/import.html",
        rejected=rejected,
        columns=importing.COLUMNS,
        example_header=importing.EXAMPLE_HEADER,
        max_mb=importing.MAX_IMPORT_BYTES // 1024 // 1024,
        recent=recent,
    ), status


@bp.get("/import/exempel.csv")
@login_required
def service_import_example():
    services.require_register(current_user)
    data = importing.example_csv(db_session, current_user)
    name = f"prestationer-exempel-{services.local_today().isoformat()}.csv"
    return Response(
        data,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
