"""Pages of contract terms: an agreement's versions (list, create), the version page (the hub every
part of contracts hangs its panel on), edit forms for each group of terms, service types, compensation
components with their prices, the buyers' references, and the comparison of two versions.

Every page loads the version through `versions.get_version` (404 for non-parties, then the permission
against the parties); edit pages also refuse a version that is not a draft (409)."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

import contracts
from contracts import versions
from contracts.errors import OpenVersionExists, VersionNotFound
from contracts.indexation import ROUNDING_LABELS, Rounding
from contracts.models import (
    CEILING_PER_LABELS,
    COMPENSATION_MODEL_LABELS,
    FEE_PERIOD_LABELS,
    INDEX_KIND_LABELS,
    INDEX_KIND_SHORT,
    INVOICE_FREQUENCY_LABELS,
    PERSONAL_DATA_ROLE_LABELS,
    PRICE_MEANING,
    SERVICE_UNIT_LABELS,
    SHARE_BASIS_LABELS,
    USAGE_MEASURE_LABELS,
    VAT_CATEGORY_LABELS,
    VERSION_STATUS_LABELS,
    CeilingPer,
    CompensationModel,
    FeePeriod,
    IndexKind,
    InvoiceFrequency,
    PersonalDataRole,
    ServiceUnit,
    ShareBasis,
    UsageMeasure,
    VatCategory,
    VersionStatus,
)
from contracts.permissions import CONTRACT_EDIT, CONTRACT_READ
from contracts.terms import services
from core.auth import acting_user
from core.db import db_session
from core.errors import NotFound, ValidationFailed
from core.formatting import local_today
from core.permissions import can_any
from core.schemas import MAX_ID
from registry.models import EXECUTOR_LABELS, Executor

bp = Blueprint("contracts_terms", __name__, template_folder=contracts.TEMPLATES)

_user = acting_user

# Groups of the version's own terms, each with its own edit form: (url part, heading, fields, hint).
TERM_GROUPS = {
    "grunduppgifter": (
        "Grunduppgifter",
        ("title", "effective_from", "change_summary", "scope", "executor"),
        "Versionens rubrik, från vilket datum den gäller och vad avtalet omfattar.",
    ),
    "fakturering": (
        "Fakturering",
        ("invoice_frequency", "payment_terms_days", "invoice_series", "cost_cap_amount"),
        "Hur ofta köparna faktureras, betalningsvillkor och ett eventuellt kostnadstak.",
    ),
    "indexering": (
        "Indexering",
        ("index_kind", "index_edition", "index_effective_from", "index_rounding"),
        "Om och hur priserna räknas upp varje år. Uppräkningen görs sedan som en granskningsbar ändring.",
    ),
    "personuppgifter": (
        "Personuppgifter och självkostnad",
        ("personal_data_role", "claims_cost_coverage"),
        "Vem som är personuppgiftsansvarig, och om ersättningen ska täcka självkostnaden.",
    ),
    "avtalstid": (
        "Avtalstid",
        ("changes_term", "term_end_date", "term_renewal_months", "term_notice_months"),
        "Om versionen ändrar avtalets slutdatum, förlängning eller uppsägningstid. Ändringen förs in "
        "i avtalsregistret när versionen godkänns.",
    ),
}
GROUP_OF_SECTION = {
    "general": "grunduppgifter",
    "invoicing": "fakturering",
    "indexation": "indexering",
    "personal_data": "personuppgifter",
    "term": "avtalstid",
}
TERM_CHECKBOXES = {"claims_cost_coverage", "changes_term"}
SERVICE_TYPE_FIELDS = (
    "code",
    "name",
    "unit",
    "vat_category",
    "vat_rate",
    "vat_exemption_reason_code",
    "vat_exemption_reason",
)
COMPONENT_GENERAL = ("service_type_id", "buyer_municipality_id", "description")
PRICE_FIELDS = ("year", "case_type", "amount")


@bp.before_request
def _signed_in():
    """Every page here needs a signed-in user (as login_required on each view would)."""
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    return None


@bp.context_processor
def _labels():
    return {
        "field_labels": services.FIELD_LABELS,
        "status_labels": VERSION_STATUS_LABELS,
        "model_labels": COMPENSATION_MODEL_LABELS,
        "model_hints": services.MODEL_HINTS,
        "price_meaning": PRICE_MEANING,
        "sections": services.SECTIONS,
        "VersionStatus": VersionStatus,
        "CompensationModel": CompensationModel,
        "ShareBasis": ShareBasis,
    }


def _options(enum_cls, labels) -> list[tuple[str, str]]:
    return [(member.value, labels[member]) for member in enum_cls]


CHOICES = {
    "executor": _options(Executor, EXECUTOR_LABELS),
    "invoice_frequency": _options(InvoiceFrequency, INVOICE_FREQUENCY_LABELS),
    "index_kind": _options(IndexKind, INDEX_KIND_LABELS),
    "index_rounding": _options(Rounding, ROUNDING_LABELS),
    "personal_data_role": _options(PersonalDataRole, PERSONAL_DATA_ROLE_LABELS),
    "unit": _options(ServiceUnit, SERVICE_UNIT_LABELS),
    "vat_category": _options(VatCategory, VAT_CATEGORY_LABELS),
    "time_rounding_minutes": [
        ("15", "Per påbörjad kvart (15 minuter)"),
        ("30", "Per påbörjad halvtimme (30 minuter)"),
    ],
    "ceiling_per": _options(CeilingPer, CEILING_PER_LABELS),
    "fee_period": _options(FeePeriod, FEE_PERIOD_LABELS),
    "in_advance": [
        ("true", "I förskott (i början av perioden)"),
        ("false", "I efterskott (i slutet av perioden)"),
    ],
    "usage_measure": _options(UsageMeasure, USAGE_MEASURE_LABELS),
    "share_basis": _options(ShareBasis, SHARE_BASIS_LABELS),
    "population_ref_year_offset": [
        ("-1", "Året före faktureringsåret"),
        ("0", "Samma år"),
        ("-2", "Två år före"),
    ],
    "month": [(str(i + 1), name.capitalize()) for i, name in enumerate(services.MONTHS)],
}


def form_value(value) -> str:
    """A stored value as a form field shows it: ISO dates, decimal comma, choices by code."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value).replace(".", ",")
    return str(value)


# --- Loading --------------------------------------------------------------------------------------


def _version(version_id: int, permission: str = CONTRACT_READ):
    return versions.get_version(db_session, _user(), version_id, permission)


def _editable(version_id: int):
    """A draft the user may edit: 404 for non-parties, 403 without CONTRACT_EDIT, 409 unless a draft."""
    version = _version(version_id, CONTRACT_EDIT)
    versions.assert_editable(version)
    return version


def _child(items, child_id: int, message: str):
    found = next((item for item in items if item.id == child_id), None)
    if found is None:
        raise NotFound(message)
    return found


def _service_type(version, service_type_id: int):
    return _child(version.service_types, service_type_id, "Tjänstetypen finns inte i versionen.")


def _component(version, component_id: int):
    return _child(version.components, component_id, "Ersättningsmodellen finns inte i versionen.")


def _price(version, price_id: int):
    prices = [p for c in version.components for p in c.prices]
    return _child(prices, price_id, "Priset finns inte i versionen.")


def _detail_url(version, anchor: str = "") -> str:
    return url_for(".version_detail", version_id=version.id) + (f"#{anchor}" if anchor else "")


# --- The agreement's versions ---------------------------------------------------------------------


def _render_list(agreement, form: dict, errors: dict, status: int = 200):
    user = _user()
    rows = services.version_rows(db_session, agreement, local_today())
    open_version = next((r.version for r in rows if not r.version.is_approved), None)
    return render_template(
        "contracts/terms/list.html",
        agreement=agreement,
        rows=rows,
        today=local_today(),
        open_version=open_version,
        may_create=can_any(user, CONTRACT_EDIT, agreement.party_municipality_ids) and open_version is None,
        may_edit=can_any(user, CONTRACT_EDIT, agreement.party_municipality_ids),
        latest_approved=max(
            (r.version for r in rows if r.version.is_approved), key=lambda v: v.effective_from, default=None
        ),
        form=form,
        errors=errors,
    ), status


def _create_defaults(agreement, rows_count: int) -> dict:
    if rows_count == 0:
        return {"title": services.FIRST_VERSION_TITLE, "effective_from": agreement.start_date.isoformat()}
    return {"title": f"Tilläggsavtal {rows_count}"}


@bp.get("/avtal/<int:agreement_id>/versioner")
def version_list(agreement_id: int):
    agreement = versions.get_agreement(db_session, _user(), agreement_id)
    count = len(versions.versions_of(db_session, agreement.id))
    return _render_list(agreement, _create_defaults(agreement, count), {})


@bp.post("/avtal/<int:agreement_id>/versioner")
def version_create(agreement_id: int):
    user = _user()
    agreement = versions.get_agreement(db_session, user, agreement_id, CONTRACT_EDIT)
    form = {f: request.form.get(f, "") for f in ("title", "effective_from", "change_summary")}
    try:
        version = services.create_contract_version(db_session, user, agreement, form)
    except OpenVersionExists as exc:
        return _render_list(agreement, form, {"title": [exc.message]}, 409)
    except ValidationFailed as exc:
        return _render_list(agreement, form, exc.errors, 422)
    copied = f" Villkoren är kopierade från version {version.based_on.number}." if version.based_on else ""
    flash(f"Version {version.number} ({version.title}) är skapad som utkast.{copied}", "success")
    return redirect(_detail_url(version))


@bp.get("/avtal/<int:agreement_id>/versioner/jamfor")
def version_compare_choose(agreement_id: int):
    """The list page's comparison form: two version numbers -> the comparison page."""
    agreement = versions.get_agreement(db_session, _user(), agreement_id)
    by_id = {v.id: v for v in versions.versions_of(db_session, agreement.id)}
    try:
        first, second = int(request.args.get("version", "")), int(request.args.get("med", ""))
    except ValueError:
        first = second = 0
    if first not in by_id or second not in by_id:
        flash("Välj två versioner av avtalet att jämföra.", "error")
        return redirect(url_for(".version_list", agreement_id=agreement.id))
    return redirect(url_for(".version_compare", version_id=first, med=second))


# --- The version page -----------------------------------------------------------------------------


@bp.get("/avtalsversioner/<int:version_id>")
def version_detail(version_id: int):
    user = _user()
    version = _version(version_id)
    in_force = versions.version_in_force(db_session, version.agreement_id, local_today(), load=False)
    others = [v for v in versions.versions_of(db_session, version.agreement_id) if v.id != version.id]
    return render_template(
        "contracts/terms/detail.html",
        version=version,
        agreement=version.agreement,
        can_edit=versions.can_edit_terms(user, version),
        may_edit_role=can_any(user, CONTRACT_EDIT, version.agreement.party_municipality_ids),
        superseded=versions.superseded_on(db_session, version),
        in_force_today=in_force is not None and in_force.id == version.id,
        today=local_today(),
        others=others,
        header=services.header_terms(version),
        group_of_section=GROUP_OF_SECTION,
        components=sorted(version.components, key=lambda c: (c.position, c.id)),
        component_title=services.component_title,
        component_details=services.component_details,
        vat_display=services.vat_display,
        buyer_terms={t.municipality_id: t for t in version.buyer_terms},
        buyers=sorted(version.agreement.buyers, key=lambda p: p.municipality.name),
        index_short=INDEX_KIND_SHORT,
        priceless=services.PRICELESS_MODELS,
    )


@bp.post("/avtalsversioner/<int:version_id>/ta-bort")
def version_delete(version_id: int):
    version = _version(version_id, CONTRACT_EDIT)
    agreement_id, number = version.agreement_id, version.number
    services.delete_version(db_session, _user(), version)
    flash(f"Utkastet version {number} är borttaget.", "success")
    return redirect(url_for(".version_list", agreement_id=agreement_id))


# --- The version's own terms ----------------------------------------------------------------------


def _render_terms_form(version, group: str, form: dict, errors: dict, status: int = 200):
    heading, names, hint = TERM_GROUPS[group]
    return render_template(
        "contracts/terms/terms_form.html",
        version=version,
        agreement=version.agreement,
        group=group,
        heading=heading,
        names=names,
        hint=hint,
        form=form,
        errors=errors,
        choices=CHOICES,
        agreement_term=services.term_defaults_from_agreement(version),
    ), status


@bp.route("/avtalsversioner/<int:version_id>/villkor/<group>", methods=["GET", "POST"])
def version_terms_edit(version_id: int, group: str):
    if group not in TERM_GROUPS:
        abort(404)
    version = _editable(version_id)
    names = TERM_GROUPS[group][1]
    if request.method == "GET":
        form = {name: form_value(getattr(version, name)) for name in names}
        if group == "avtalstid" and not version.changes_term:
            form.update({k: form_value(v) for k, v in services.term_defaults_from_agreement(version).items()})
        return _render_terms_form(version, group, form, {})
    form = {name: request.form.get(name, "") for name in names}
    for name in TERM_CHECKBOXES & set(names):
        form[name] = "true" if request.form.get(name) else "false"
    try:
        services.update_version_terms(db_session, _user(), version, form)
    except ValidationFailed as exc:
        return _render_terms_form(version, group, form, exc.errors, 422)
    flash(f"{TERM_GROUPS[group][0]} är sparade.", "success")
    return redirect(_detail_url(version, group))


# --- Service types --------------------------------------------------------------------------------


def _render_service_type_form(version, service_type, form: dict, errors: dict, status: int = 200):
    return render_template(
        "contracts/terms/service_type_form.html",
        version=version,
        agreement=version.agreement,
        service_type=service_type,
        form=form,
        errors=errors,
        choices=CHOICES,
        vatex_o_code=services.VATEX_O_CODE,
        vatex_o_text=services.VATEX_O_TEXT,
    ), status


@bp.route("/avtalsversioner/<int:version_id>/tjanstetyper/ny", methods=["GET", "POST"])
def service_type_create(version_id: int):
    version = _editable(version_id)
    if request.method == "GET":
        return _render_service_type_form(version, None, {"vat_category": "O", "unit": "hour"}, {})
    form = {name: request.form.get(name, "") for name in SERVICE_TYPE_FIELDS}
    try:
        service_type = services.add_service_type(db_session, _user(), version, form)
    except ValidationFailed as exc:
        return _render_service_type_form(version, None, form, exc.errors, 422)
    flash(f"Tjänstetypen {service_type.name} är tillagd.", "success")
    return redirect(_detail_url(version, "tjanstetyper"))


@bp.route("/avtalsversioner/<int:version_id>/tjanstetyper/<int:service_type_id>", methods=["GET", "POST"])
def service_type_edit(version_id: int, service_type_id: int):
    version = _editable(version_id)
    service_type = _service_type(version, service_type_id)
    if request.method == "GET":
        form = {name: form_value(getattr(service_type, name)) for name in SERVICE_TYPE_FIELDS}
        return _render_service_type_form(version, service_type, form, {})
    form = {name: request.form.get(name, "") for name in SERVICE_TYPE_FIELDS}
    try:
        services.update_service_type(db_session, _user(), service_type, form)
    except ValidationFailed as exc:
        return _render_service_type_form(version, service_type, form, exc.errors, 422)
    flash(f"Tjänstetypen {service_type.name} är sparad.", "success")
    return redirect(_detail_url(version, "tjanstetyper"))


@bp.post("/avtalsversioner/<int:version_id>/tjanstetyper/<int:service_type_id>/ta-bort")
def service_type_delete(version_id: int, service_type_id: int):
    version = _version(version_id, CONTRACT_EDIT)
    service_type = _service_type(version, service_type_id)
    name = service_type.name
    services.delete_service_type(db_session, _user(), service_type)
    flash(f"Tjänstetypen {name} är borttagen.", "success")
    return redirect(_detail_url(version, "tjanstetyper"))


# --- Compensation components ----------------------------------------------------------------------


def _component_form_data(model: CompensationModel) -> tuple[dict, dict, list[int]]:
    """(raw form, service input, municipality ids of the fixed-share rows given)."""
    raw = request.form.to_dict()
    raw.pop("csrf_token", None)
    data = {name: raw.get(name, "") for name in COMPONENT_GENERAL}
    basis = raw.get("share_basis") or None
    try:
        basis = ShareBasis(basis) if basis else None
    except ValueError:
        pass
    names = services.model_fields(model, basis if isinstance(basis, ShareBasis) else None)
    if model == CompensationModel.PRELIMINARY:
        names = tuple(dict.fromkeys(("share_basis", *names)))
    for name in names:
        if name == "include_host":
            data[name] = "true" if raw.get(name) else "false"
            raw[name] = data[name]
        else:
            data[name] = raw.get(name, "")
    share_ids: list[int] = []
    if model == CompensationModel.PRELIMINARY and basis == ShareBasis.FIXED:
        shares = []
        for key, value in raw.items():
            if key.startswith("share-") and key[6:].isascii() and key[6:].isdigit() and value.strip():
                share_ids.append(int(key[6:]))
                shares.append({"municipality_id": int(key[6:]), "percent": value})
        data["fixed_shares"] = shares
    if model in services.SHARE_MODELS:
        data.pop("buyer_municipality_id")
    return raw, data, share_ids


def _flat_errors(errors: dict, share_ids: list[int]) -> dict:
    flat = {}
    for key, messages in errors.items():
        if key == "fixed_shares" and isinstance(messages, dict):
            for index, share_errors in messages.items():
                target = f"share-{share_ids[int(index)]}" if int(index) < len(share_ids) else "fixed_shares"
                for share_messages in share_errors.values():
                    flat.setdefault(target, []).extend(share_messages)
        else:
            flat[key] = messages
    return flat


def _component_form_from(component) -> dict:
    names = COMPONENT_GENERAL + services.MODEL_SPECIFIC
    form = {name: form_value(getattr(component, name)) for name in names}
    for share in component.fixed_shares:
        form[f"share-{share.municipality_id}"] = form_value(share.percent)
    return form


def _render_component_form(
    version, component, model, form: dict, errors: dict, status: int = 200, price_form=None, price_errors=None
):
    agreement = version.agreement
    parties = sorted(agreement.parties, key=lambda p: (p.role.value != "host", p.municipality.name))
    return render_template(
        "contracts/terms/component_form.html",
        version=version,
        agreement=agreement,
        component=component,
        model=model,
        form=form,
        errors=errors,
        choices=CHOICES,
        service_type_options=[
            (str(st.id), f"{st.name} ({st.code}, {st.unit_label})") for st in version.service_types
        ],
        buyer_options=[
            (str(p.municipality_id), p.municipality.name)
            for p in sorted(agreement.buyers, key=lambda p: p.municipality.name)
        ],
        shared_role_options=[
            (str(r.id), f"{r.title} ({r.employer.name})")
            for r in services.shared_role_choices(db_session, version)
        ],
        parties=parties,
        share_models=services.SHARE_MODELS,
        error_labels={
            **services.FIELD_LABELS,
            **{f"share-{p.municipality_id}": f"Andel för {p.municipality.name}" for p in parties},
        },
        price_form=price_form or {},
        price_errors=price_errors or {},
        component_title=services.component_title,
        component_details=services.component_details,
        price_label=services.price_label,
        priceless=services.PRICELESS_MODELS,
    ), status


@bp.route("/avtalsversioner/<int:version_id>/ersattning/ny", methods=["GET", "POST"])
def component_create(version_id: int):
    version = _editable(version_id)
    raw_model = request.values.get("modell") or request.values.get("model")
    try:
        model = CompensationModel(raw_model) if raw_model else None
    except ValueError:
        model = None
    if model is None:
        return render_template(
            "contracts/terms/component_model.html",
            version=version,
            agreement=version.agreement,
            models=list(CompensationModel),
        ), (422 if request.method == "POST" else 200)
    if request.method == "GET":
        form = {"include_host": "true"}
        if len(version.service_types) == 1:
            form["service_type_id"] = str(version.service_types[0].id)
        if model in (CompensationModel.POPULATION_SHARE, CompensationModel.PRELIMINARY):
            form.update(population_ref_month="11", population_ref_day="1", population_ref_year_offset="-1")
        if model == CompensationModel.PRELIMINARY:
            form.update(reconciliation_deadline_month="3", reconciliation_deadline_day="31")
        return _render_component_form(version, None, model, form, {})
    raw, data, share_ids = _component_form_data(model)
    data["model"] = model.value
    try:
        component = services.add_component(db_session, _user(), version, data)
    except ValidationFailed as exc:
        return _render_component_form(version, None, model, raw, _flat_errors(exc.errors, share_ids), 422)
    if model in services.PRICELESS_MODELS:
        flash(f"{services.component_title(component)} är tillagd.", "success")
        return redirect(_detail_url(version, "ersattning"))
    flash(f"{services.component_title(component)} är tillagd. Lägg till priserna per år nedan.", "success")
    return redirect(url_for(".component_edit", version_id=version.id, component_id=component.id) + "#priser")


@bp.route("/avtalsversioner/<int:version_id>/ersattning/<int:component_id>", methods=["GET", "POST"])
def component_edit(version_id: int, component_id: int):
    version = _editable(version_id)
    component = _component(version, component_id)
    if request.method == "GET":
        return _render_component_form(
            version, component, component.model, _component_form_from(component), {}
        )
    raw, data, share_ids = _component_form_data(component.model)
    try:
        services.update_component(db_session, _user(), component, data)
    except ValidationFailed as exc:
        return _render_component_form(
            version, component, component.model, raw, _flat_errors(exc.errors, share_ids), 422
        )
    flash(f"{services.component_title(component)} är sparad.", "success")
    return redirect(_detail_url(version, "ersattning"))


@bp.post("/avtalsversioner/<int:version_id>/ersattning/<int:component_id>/ta-bort")
def component_delete(version_id: int, component_id: int):
    version = _version(version_id, CONTRACT_EDIT)
    component = _component(version, component_id)
    title = services.component_title(component)
    services.delete_component(db_session, _user(), component)
    flash(f"{title} är borttagen med sina priser.", "success")
    return redirect(_detail_url(version, "ersattning"))


# --- Prices ---------------------------------------------------------------------------------------


@bp.post("/avtalsversioner/<int:version_id>/ersattning/<int:component_id>/priser")
def price_create(version_id: int, component_id: int):
    version = _editable(version_id)
    component = _component(version, component_id)
    form = {name: request.form.get(name, "") for name in PRICE_FIELDS}
    try:
        price = services.add_price(db_session, _user(), component, form)
    except ValidationFailed as exc:
        return _render_component_form(
            version,
            component,
            component.model,
            _component_form_from(component),
            {},
            422,
            price_form=form,
            price_errors=exc.errors,
        )
    flash(f"{services.price_label(component, price)} är sparat.", "success")
    return redirect(url_for(".component_edit", version_id=version.id, component_id=component.id) + "#priser")


@bp.route("/avtalsversioner/<int:version_id>/priser/<int:price_id>", methods=["GET", "POST"])
def price_edit(version_id: int, price_id: int):
    version = _editable(version_id)
    price = _price(version, price_id)
    component = price.component
    form = {name: form_value(getattr(price, name)) for name in PRICE_FIELDS}
    errors: dict = {}
    if request.method == "POST":
        form = {name: request.form.get(name, "") for name in PRICE_FIELDS}
        try:
            services.update_price(db_session, _user(), price, form)
        except ValidationFailed as exc:
            errors = exc.errors
        else:
            flash(f"{services.price_label(component, price)} är sparat.", "success")
            return redirect(
                url_for(".component_edit", version_id=version.id, component_id=component.id) + "#priser"
            )
    return render_template(
        "contracts/terms/price_form.html",
        version=version,
        agreement=version.agreement,
        component=component,
        price=price,
        form=form,
        errors=errors,
        component_title=services.component_title,
    ), (422 if errors else 200)


@bp.post("/avtalsversioner/<int:version_id>/priser/<int:price_id>/ta-bort")
def price_delete(version_id: int, price_id: int):
    version = _version(version_id, CONTRACT_EDIT)
    price = _price(version, price_id)
    component = price.component
    label = services.price_label(component, price)
    services.delete_price(db_session, _user(), price)
    flash(f"{label} är borttaget.", "success")
    return redirect(url_for(".component_edit", version_id=version.id, component_id=component.id) + "#priser")


# --- Buyer references -----------------------------------------------------------------------------


@bp.route("/avtalsversioner/<int:version_id>/kopare", methods=["GET", "POST"])
def buyer_terms_edit(version_id: int):
    version = _editable(version_id)
    buyers = sorted(version.agreement.buyers, key=lambda p: p.municipality.name)
    existing = {t.municipality_id: t.buyer_reference for t in version.buyer_terms}
    form = {str(p.municipality_id): existing.get(p.municipality_id, "") for p in buyers}
    errors: dict = {}
    if request.method == "POST":
        form = {str(p.municipality_id): request.form.get(f"ref-{p.municipality_id}", "") for p in buyers}
        try:
            services.save_buyer_references(db_session, _user(), version, {int(k): v for k, v in form.items()})
        except ValidationFailed as exc:
            errors = exc.errors
        else:
            flash("Köparnas referenser är sparade.", "success")
            return redirect(_detail_url(version, "kopare"))
    return render_template(
        "contracts/terms/buyer_terms_form.html",
        version=version,
        agreement=version.agreement,
        buyers=buyers,
        form=form,
        errors=errors,
    ), (422 if errors else 200)


# --- Comparison -----------------------------------------------------------------------------------


@bp.get("/avtalsversioner/<int:version_id>/jamfor")
def version_compare(version_id: int):
    version = _version(version_id)
    all_versions = versions.versions_of(db_session, version.agreement_id)
    comparison = None
    errors: dict = {}
    other_id = request.args.get("med", "")
    if other_id:
        if not (other_id.isascii() and other_id.isdigit()) or int(other_id) > MAX_ID:
            raise VersionNotFound()
        other = _version(int(other_id))
        first, second = sorted((version, other), key=lambda v: v.number)
        try:
            comparison = services.compare_versions(first, second)
        except ValidationFailed as exc:
            errors = exc.errors
    return render_template(
        "contracts/terms/compare.html",
        version=version,
        agreement=version.agreement,
        all_versions=all_versions,
        other_id=other_id,
        comparison=comparison,
        errors=errors,
    ), (422 if errors else 200)


# --- The agreement page's panel -------------------------------------------------------------------


def render_agreement_panel(user, agreement) -> str | None:
    """The contract versions section on the registry's agreement page (parties only)."""
    if not can_any(user, CONTRACT_READ, agreement.party_municipality_ids):
        return None
    rows = services.version_rows(db_session, agreement, local_today())
    return render_template(
        "contracts/terms/_agreement_panel.html",
        agreement=agreement,
        rows=rows,
        may_edit=can_any(user, CONTRACT_EDIT, agreement.party_municipality_ids),
        status_labels=VERSION_STATUS_LABELS,
    )


__all__ = ["bp", "render_agreement_panel"]
