"""Agreement pages: the list with search and filters, the detail page (status steps, attachments),
and the create and edit forms with their parties. Validation is the services' (and so the API's)."""

from __future__ import annotations

import base64
import re

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required
from sqlalchemy import select

from core.auth import acting_user
from core.db import db_session, swedish
from core.errors import PermissionDenied, ValidationFailed
from core.models import Municipality, User
from core.permissions import can
from core.services import load_or_raise
from core.views import Page, download_response, page_arg
from registry import TEMPLATES
from registry.agreements import services
from registry.agreements.schemas import AgreementQuerySchema
from registry.errors import IllegalTransition
from registry.models import (
    AGREEMENT_STATUS_LABELS,
    AREA_LABELS,
    COOPERATION_FORM_LABELS,
    PARTY_ROLE_LABELS,
    AgreementAttachment,
    AgreementStatus,
    Area,
    CooperationForm,
)
from registry.permissions import AGREEMENT_EDIT, AGREEMENT_READ

bp = Blueprint("registry_agreements", __name__, url_prefix="/avtal", template_folder=TEMPLATES)

# Query parameters of the list page (Swedish, they show in the address bar) and the filter each sets.
FILTER_PARAMS = {
    "q": "q",
    "omrade": "area",
    "part": "party_municipality_id",
    "status": "status",
    "slutar_inom": "ends_within_days",
    "uppsagning_inom": "notice_within_days",
}
FORM_FIELDS = (*services.SCALAR_FIELDS, "owner_id")
# The form's order of fields, for the error summary (the parties' rows and the owner follow).
FORM_ORDER = (*services.SCALAR_FIELDS, "parties")
PARTY_FORM_FIELDS = ("municipality_id", *services.PARTY_FIELDS)
FIELD_LABELS = services.FIELD_LABELS
PARTY_FIELD_LABELS = {
    "municipality_id": "Kommun",
    "board": "Ansvarig nämnd",
    "contact_name": "Kontaktperson",
    "contact_email": "E-post",
    "contact_phone": "Telefon",
    "decision_reference": "Beslut (protokollsparagraf)",
    "decision_date": "Beslutsdatum",
}
MIN_BUYER_ROWS = 3
MAX_BUYER_ROWS = 300  # more than the country's 290 municipalities
_BUYER_KEY = re.compile(r"buyer-(\d+)-\w+")
MORE_ROWS = 3
# Verbs for the status buttons: what the step means for the agreement.
TRANSITION_LABELS = {
    (AgreementStatus.DRAFT, AgreementStatus.ACTIVE): "Gör avtalet gällande",
    (AgreementStatus.ACTIVE, AgreementStatus.RENEGOTIATION): "Markera som under omförhandling",
    (AgreementStatus.RENEGOTIATION, AgreementStatus.ACTIVE): "Omförhandlingen är klar: gällande igen",
    (AgreementStatus.ACTIVE, AgreementStatus.EXPIRED): "Markera som upphört",
    (AgreementStatus.RENEGOTIATION, AgreementStatus.EXPIRED): "Markera som upphört",
}
CONFIRMATIONS = {
    AgreementStatus.TERMINATED: "Säga upp avtalet? Uppsägningen kan inte ångras i systemet.",
    AgreementStatus.EXPIRED: "Markera avtalet som upphört? Det kan inte ångras.",
}


_user = acting_user


@bp.context_processor
def _labels():
    return {
        "status_labels": AGREEMENT_STATUS_LABELS,
        "area_labels": AREA_LABELS,
        "form_labels": COOPERATION_FORM_LABELS,
        "party_role_labels": PARTY_ROLE_LABELS,
        "filesize": services.format_size,
    }


# --- List ---------------------------------------------------------------------------------------


@bp.get("/")
@login_required
def agreement_list():
    user = _user()
    raw = {param: request.args.get(param, "").strip() for param in FILTER_PARAMS}
    errors: dict = {}
    page = None
    today = services.local_today()
    try:
        filters = load_or_raise(
            AgreementQuerySchema(), {FILTER_PARAMS[param]: value for param, value in raw.items() if value}
        )
    except ValidationFailed as exc:
        by_key = {key: param for param, key in FILTER_PARAMS.items()}
        errors = {by_key.get(key, key): messages for key, messages in exc.errors.items()}
    else:
        stmt = services.search_agreements(db_session, user, today=today, **filters)
        page = Page(stmt, page_arg())
    computed = {a.id: services.agreement_dates(a, today) for a in page.items} if page else {}
    return render_template(
        "registry/agreements/list.html",
        page=page,
        computed=computed,
        raw=raw,
        errors=errors,
        today=today,
        areas=list(Area),
        statuses=list(AgreementStatus),
        party_choices=services.party_municipality_choices(db_session, user),
        can_create=can(user, AGREEMENT_EDIT),
    ), (422 if errors else 200)


# --- Create and edit ----------------------------------------------------------------------------


def _buyer_rows(form: dict) -> int:
    """How many buyer rows the form had: its hidden counter, or more if a later row is filled in."""
    try:
        rows = int(form.get("buyer_rows") or 0)
    except ValueError:
        rows = 0
    filled = [int(m[1]) for key, value in form.items() if (m := _BUYER_KEY.fullmatch(key)) and value.strip()]
    return min(max(rows, max(filled, default=-1) + 1, MIN_BUYER_ROWS), MAX_BUYER_ROWS)


def _data_from_form(form: dict, rows: int) -> tuple[dict, list[str]]:
    """The service's input from the form, and the form prefix of each party in the list it holds
    (to put the service's per-party messages next to the right fields). Empty buyer rows are skipped."""
    data = {name: form.get(name, "") for name in FORM_FIELDS}
    if "owner_id" not in form:
        del data["owner_id"]  # not chosen at all (as opposed to "none"): the service's default applies
    parties = [{**{f: form.get(f"host-{f}", "") for f in PARTY_FORM_FIELDS}, "role": "host"}]
    prefixes = ["host"]
    for index in range(rows):
        prefix = f"buyer-{index}"
        values = {f: form.get(f"{prefix}-{f}", "") for f in PARTY_FORM_FIELDS}
        if not any(value.strip() for value in values.values()):
            continue
        parties.append({**values, "role": "buyer"})
        prefixes.append(prefix)
    data["parties"] = parties
    return data, prefixes


def _form_errors(errors: dict, prefixes: list[str]) -> dict:
    """Flatten the services' errors to the form's field names (`buyer-2-board`, ...)."""
    flat: dict = {}
    for key, messages in errors.items():
        if key == "parties" and isinstance(messages, dict):
            for index, party_errors in messages.items():
                prefix = prefixes[int(index)]
                for name, party_messages in party_errors.items():
                    target = "municipality_id" if name in ("kommunkod", "_schema", "role") else name
                    flat.setdefault(f"{prefix}-{target}", []).extend(party_messages)
        else:
            flat[key] = messages
    return flat


def _error_labels(rows: int) -> dict:
    """Labels for the error summary, in the order the fields appear in the form."""
    labels = {name: FIELD_LABELS[name] for name in FORM_ORDER}
    for prefix, title in [("host", "Utförare")] + [(f"buyer-{i}", f"Köpare {i + 1}") for i in range(rows)]:
        for name, label in PARTY_FIELD_LABELS.items():
            labels[f"{prefix}-{name}"] = f"{title}: {label.lower()}"
    labels["owner_id"] = FIELD_LABELS["owner_id"]
    return labels


def _in_form_order(errors: dict, labels: dict) -> dict:
    order = {name: index for index, name in enumerate(labels)}
    return dict(sorted(errors.items(), key=lambda item: order.get(item[0], len(order))))


def _render_form(agreement, form: dict, errors: dict, rows: int, status: int = 200):
    user = _user()
    # Offer owners from the own municipality and the saved parties only: a municipality picked in an
    # unsaved row must not reveal its staff. The service checks any other owner id on save.
    municipality_ids = {user.municipality_id}
    if agreement is not None:
        municipality_ids |= agreement.party_municipality_ids
    owners = services.owner_choices(db_session, municipality_ids)
    if agreement is not None and agreement.owner is not None and agreement.owner not in owners:
        owners.append(agreement.owner)  # e.g. deactivated since: still shown as the current owner
    municipalities = db_session.execute(
        select(Municipality.id, Municipality.name, Municipality.kommunkod).order_by(
            swedish(Municipality.name)
        )
    ).all()
    labels = _error_labels(rows)
    return render_template(
        "registry/agreements/form.html",
        agreement=agreement,
        form=form,
        errors=_in_form_order(errors, labels),
        labels=labels,
        rows=rows,
        more_rows=MORE_ROWS,
        municipality_options=[(m.id, f"{m.name} ({m.kommunkod})") for m in municipalities],
        owner_options=[(u.id, f"{u.name}, {u.municipality.name}") for u in owners],
        area_options=[(area.value, AREA_LABELS[area]) for area in Area],
        form_options=[(choice.value, COOPERATION_FORM_LABELS[choice]) for choice in CooperationForm],
    ), status


def _form_value(value) -> str:
    """A stored value as a form field shows it: dates ISO, choices by their code, None empty."""
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value.value if hasattr(value, "value") else value)


def _form_from_agreement(agreement) -> dict:
    form = {name: _form_value(getattr(agreement, name)) for name in FORM_FIELDS}
    rows = [("host", agreement.host)] + [(f"buyer-{i}", p) for i, p in enumerate(_sorted_buyers(agreement))]
    for prefix, party in rows:
        if party is not None:
            form.update({f"{prefix}-{name}": _form_value(getattr(party, name)) for name in PARTY_FORM_FIELDS})
    return form


def _sorted_buyers(agreement):
    return [party for party in services.ordered_parties(agreement) if party is not agreement.host]


def _handle_form_post(agreement, save):
    """POST of the create or edit form: 'more rows' re-renders, otherwise validate and save."""
    form = request.form.to_dict()
    form.pop("csrf_token", None)
    rows = _buyer_rows(form)
    if request.form.get("action") == "fler-rader":
        return _render_form(agreement, form, {}, min(rows + MORE_ROWS, MAX_BUYER_ROWS))
    data, prefixes = _data_from_form(form, rows)
    try:
        saved = save(data)
    except ValidationFailed as exc:
        return _render_form(agreement, form, _form_errors(exc.errors, prefixes), rows, 422)
    return saved


@bp.route("/ny", methods=["GET", "POST"])
@login_required
def agreement_create():
    user = _user()
    if not can(user, AGREEMENT_EDIT):
        raise PermissionDenied("Bara administratörer kan registrera avtal.")
    if request.method == "GET":
        form = {"host-municipality_id": str(user.municipality_id or ""), "owner_id": str(user.id)}
        return _render_form(None, form, {}, MIN_BUYER_ROWS)

    def save(data):
        agreement = services.register_agreement(db_session, user, data)
        flash(
            f"Avtalet {agreement.number} är registrerat som utkast. Ladda upp det undertecknade avtalet "
            "och gör det gällande när det är beslutat.",
            "success",
        )
        return redirect(url_for(".agreement_detail", agreement_id=agreement.id))

    return _handle_form_post(None, save)


@bp.route("/<int:agreement_id>/redigera", methods=["GET", "POST"])
@login_required
def agreement_edit(agreement_id: int):
    user = _user()
    agreement = services.get_agreement_for(db_session, user, agreement_id)
    if not services.can_edit(user, agreement):
        raise PermissionDenied("Bara administratörer i avtalets parter kan ändra avtalet.")
    if request.method == "GET":
        rows = max(len(agreement.buyers) + 2, MIN_BUYER_ROWS)
        return _render_form(agreement, _form_from_agreement(agreement), {}, rows)

    def save(data):
        services.update_agreement(db_session, user, agreement, data)
        flash(f"Ändringarna i avtal {agreement.number} är sparade.", "success")
        return redirect(url_for(".agreement_detail", agreement_id=agreement.id))

    return _handle_form_post(agreement, save)


# --- Detail, status and attachments -------------------------------------------------------------


def _swedish_list(names: list[str]) -> str:
    """'A', 'A och B', 'A, B och C'."""
    return " och ".join(filter(None, [", ".join(names[:-1]), names[-1]])) if names else ""


def _render_detail(agreement, status: int = 200, **forms):
    user = _user()
    today = services.local_today()
    uploader_ids = {a.uploaded_by_id for a in agreement.attachments if a.uploaded_by_id}
    uploaders = (
        {u.id: u for u in db_session.scalars(select(User).where(User.id.in_(uploader_ids)))}
        if uploader_ids
        else {}
    )
    buyers = _sorted_buyers(agreement)
    steps = [
        (target, TRANSITION_LABELS.get((agreement.status, target)), CONFIRMATIONS.get(target))
        for target in services.allowed_transitions(agreement)
    ]
    return render_template(
        "registry/agreements/detail.html",
        a=agreement,
        buyers=buyers,
        buyer_list=_swedish_list([party.municipality.name for party in buyers]),
        dates=services.agreement_dates(agreement, today),
        today=today,
        steps=steps,
        can_edit=services.can_edit(user, agreement),
        uploaders=uploaders,
        max_attachment=services.max_attachment_bytes(),
        transition_errors=forms.get("transition_errors") or {},
        transition_form=forms.get("transition_form") or {},
        upload_errors=forms.get("upload_errors") or {},
        upload_form=forms.get("upload_form") or {},
        AgreementStatus=AgreementStatus,
    ), status


@bp.get("/<int:agreement_id>")
@login_required
def agreement_detail(agreement_id: int):
    return _render_detail(services.get_agreement_for(db_session, _user(), agreement_id))


@bp.post("/<int:agreement_id>/status")
@login_required
def agreement_transition(agreement_id: int):
    user = _user()
    agreement = services.get_agreement_for(db_session, user, agreement_id)
    form = request.form.to_dict()
    try:
        services.transition_agreement(
            db_session,
            user,
            agreement,
            form.get("status", ""),
            reason=form.get("reason") or None,
            on=form.get("date") or None,
        )
    except IllegalTransition as exc:
        return _render_detail(agreement, 409, transition_errors={"status": [exc.message]})
    except ValidationFailed as exc:
        return _render_detail(agreement, 422, transition_errors=exc.errors, transition_form=form)
    flash(f"Avtal {agreement.number} har nu status {AGREEMENT_STATUS_LABELS[agreement.status]}.", "success")
    return redirect(url_for(".agreement_detail", agreement_id=agreement.id))


@bp.post("/<int:agreement_id>/bilagor")
@login_required
def attachment_upload(agreement_id: int):
    user = _user()
    agreement = services.get_agreement_for(db_session, user, agreement_id)
    if not services.can_edit(user, agreement):
        raise PermissionDenied("Bara administratörer i avtalets parter kan ladda upp bilagor.")
    upload = request.files.get("file")
    form = {"description": request.form.get("description", "")}
    if upload is None or not upload.filename:
        return _render_detail(
            agreement, 422, upload_errors={"file": ["Välj en fil att ladda upp."]}, upload_form=form
        )
    # Read one byte past the limit: enough to know the file is too large without reading all of it.
    content = upload.stream.read(services.max_attachment_bytes() + 1)
    try:
        attachment = services.add_attachment(
            db_session, user, agreement, upload.filename, content, form["description"] or None
        )
    except ValidationFailed as exc:
        return _render_detail(agreement, 422, upload_errors=exc.errors, upload_form=form)
    flash(f"Bilagan {attachment.filename} är uppladdad (SHA-256 {attachment.sha256}).", "success")
    return redirect(url_for(".agreement_detail", agreement_id=agreement.id) + "#bilagor")


def attachment_response(attachment: AgreementAttachment):
    """The stored bytes as a download: stored media type, the (cleaned) original name, no sniffing,
    not cached by shared caches, and the sha256 so the receiver can check the file."""
    response = download_response(attachment.content, attachment.media_type, attachment.filename)
    digest = base64.b64encode(bytes.fromhex(attachment.sha256)).decode("ascii")
    response.headers["Repr-Digest"] = f"sha-256=:{digest}:"
    return response


@bp.get("/<int:agreement_id>/bilagor/<int:attachment_id>")
@login_required
def attachment_download(agreement_id: int, attachment_id: int):
    return attachment_response(services.get_attachment(db_session, _user(), agreement_id, attachment_id))


@bp.post("/<int:agreement_id>/bilagor/<int:attachment_id>/ta-bort")
@login_required
def attachment_delete(agreement_id: int, attachment_id: int):
    user = _user()
    attachment = services.get_attachment(db_session, user, agreement_id, attachment_id)
    name = attachment.filename
    services.remove_attachment(db_session, user, attachment)
    flash(f"Bilagan {name} är borttagen.", "success")
    return redirect(url_for(".agreement_detail", agreement_id=agreement_id) + "#bilagor")


def nav_visible(user) -> bool:
    return can(user, AGREEMENT_READ)
