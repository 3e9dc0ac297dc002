"""Contract versions, the part every other part of contracts builds on: loading with the party scope,
the version in force on a date, creating the original and amendments (a copy of the terms of the
version it is based on), the status machine, and the editability rule. Functions add and flush, never
commit (the request or `unit_of_work()` owns the transaction).

Billing asks `version_in_force(session, agreement_id, day)`: the approved version with the latest
effective date on or before the day. A version that takes effect on 1 March is in force on 1 March,
its predecessor on 28 February.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import false, func, select
from sqlalchemy.orm import Session, selectinload

from contracts.errors import IllegalVersionTransition, OpenVersionExists, VersionImmutable, VersionNotFound
from contracts.models import (
    VERSION_STATUS_LABELS,
    VERSION_TRANSITIONS,
    CompensationComponent,
    ContractBuyerTerms,
    ContractFixedShare,
    ContractPrice,
    ContractServiceType,
    ContractVersion,
    ContractVersionDocument,
    DocumentKind,
    VersionStatus,
)
from contracts.permissions import CONTRACT_EDIT, CONTRACT_READ
from core.db import db_session, utcnow
from core.errors import ValidationFailed
from core.permissions import can_any, require, require_any
from registry.models import Agreement, AgreementParty

# Everything a version page, the comparison, the PDF or billing reads, loaded in a few queries.
VERSION_LOAD = (
    selectinload(ContractVersion.agreement)
    .selectinload(Agreement.parties)
    .selectinload(AgreementParty.municipality),
    selectinload(ContractVersion.service_types),
    selectinload(ContractVersion.components).selectinload(CompensationComponent.prices),
    selectinload(ContractVersion.components).selectinload(CompensationComponent.fixed_shares),
    selectinload(ContractVersion.components).selectinload(CompensationComponent.buyer),
    selectinload(ContractVersion.components).selectinload(CompensationComponent.shared_role),
    selectinload(ContractVersion.buyer_terms).selectinload(ContractBuyerTerms.municipality),
    selectinload(ContractVersion.review_rows),
    selectinload(ContractVersion.documents).selectinload(ContractVersionDocument.attachment),
    selectinload(ContractVersion.price_indexations),
)


def visible_to(user):
    """Query condition: versions of agreements the user's municipality is a party to."""
    if user.municipality_id is None:
        return false()
    return ContractVersion.agreement.has(
        Agreement.parties.any(AgreementParty.municipality_id == user.municipality_id)
    )


def refuse_non_parties() -> None:
    """before_request of every contracts blueprint (pages and API): a URL naming a version or an
    agreement the user's municipality is not a party to answers 404 before anything else is looked
    at, so a non-party never sees a 403, a 409 or a 422 that depends on the body or the query.
    (Each view still loads the version through get_version, which checks the same and the role.)"""
    from flask import request
    from flask_login import current_user

    args = request.view_args or {}
    user = current_user
    if not getattr(user, "is_authenticated", False) or not ({"version_id", "agreement_id"} & set(args)):
        return  # the view (login_required) or the API's require_login answers first
    if "version_id" in args:
        found = db_session.scalar(
            select(ContractVersion.id).where(ContractVersion.id == args["version_id"], visible_to(user))
        )
        if found is None:
            raise VersionNotFound()
    if "agreement_id" in args:
        found = db_session.scalar(
            select(Agreement.id).where(Agreement.id == args["agreement_id"], agreement_visible_to(user))
        )
        if found is None:
            from registry.errors import AgreementNotFound

            raise AgreementNotFound()


def get_version(session: Session, user, version_id: int, permission: str = CONTRACT_READ) -> ContractVersion:
    """The version with its terms, if the user's municipality is a party; otherwise 404. Then
    `permission` is checked against the parties (403 when e.g. a caseworker tries to edit)."""
    require(user, CONTRACT_READ)
    version = session.scalar(
        select(ContractVersion)
        .where(ContractVersion.id == version_id, visible_to(user))
        .options(*VERSION_LOAD)
    )
    if version is None:
        raise VersionNotFound()
    if permission != CONTRACT_READ:
        require_any(user, permission, version.agreement.party_municipality_ids)
    return version


def agreement_visible_to(user):
    """Query condition: agreements the user's municipality is a party to (none without a municipality)."""
    if user.municipality_id is None:
        return false()
    return Agreement.parties.any(AgreementParty.municipality_id == user.municipality_id)


def get_agreement(session: Session, user, agreement_id: int, permission: str = CONTRACT_READ) -> Agreement:
    """The agreement, if the user's municipality is a party; otherwise 404 (as the registry does)."""
    require(user, CONTRACT_READ)
    agreement = session.scalar(
        select(Agreement)
        .where(Agreement.id == agreement_id, agreement_visible_to(user))
        .options(selectinload(Agreement.parties).selectinload(AgreementParty.municipality))
    )
    if agreement is None:
        from registry.errors import AgreementNotFound

        raise AgreementNotFound()
    if permission != CONTRACT_READ:
        require_any(user, permission, agreement.party_municipality_ids)
    return agreement


def ends_before(agreement: Agreement, day: dt.date) -> bool:
    """Whether the agreement has ended before `day`. One that renews automatically (tyst förlängning)
    runs on past its first end date, so amendments may take effect after it."""
    return agreement.end_date is not None and not agreement.renewal_months and day > agreement.end_date


def can_edit_terms(user, version: ContractVersion) -> bool:
    return version.is_draft and can_any(user, CONTRACT_EDIT, version.agreement.party_municipality_ids)


def versions_of(session: Session, agreement_id: int) -> list[ContractVersion]:
    return list(
        session.scalars(
            select(ContractVersion)
            .where(ContractVersion.agreement_id == agreement_id)
            .order_by(ContractVersion.number)
        )
    )


def version_in_force(
    session: Session, agreement_id: int, on: dt.date, *, load: bool = True
) -> ContractVersion | None:
    """The approved version in force on `on`: the latest effective date on or before it. None before
    the first approved version takes effect. Billing must use this and nothing else."""
    query = (
        select(ContractVersion)
        .where(
            ContractVersion.agreement_id == agreement_id,
            ContractVersion.status == VersionStatus.APPROVED,
            ContractVersion.effective_from <= on,
        )
        .order_by(ContractVersion.effective_from.desc())
        .limit(1)
    )
    if load:
        query = query.options(*VERSION_LOAD)
    return session.scalar(query)


def superseded_on(session: Session, version: ContractVersion) -> dt.date | None:
    """The day a later approved version took over from this one (None: still the latest)."""
    if not version.is_approved:
        return None
    return session.scalar(
        select(func.min(ContractVersion.effective_from)).where(
            ContractVersion.agreement_id == version.agreement_id,
            ContractVersion.status == VersionStatus.APPROVED,
            ContractVersion.effective_from > version.effective_from,
        )
    )


# --- Status and editability ----------------------------------------------------------------------


def assert_editable(version: ContractVersion) -> None:
    """Terms change only in a draft. An approved version is immutable; one in review must be sent back
    to draft first (so the reviewer never approves something other than what was reviewed)."""
    if version.status == VersionStatus.APPROVED:
        raise VersionImmutable()
    if version.status != VersionStatus.DRAFT:
        raise VersionImmutable(
            "Versionen är under juridisk granskning och kan inte ändras. Skicka tillbaka den till utkast först."
        )


def transition_version(
    version: ContractVersion, new_status: VersionStatus | str, user=None, at: dt.datetime | None = None
) -> None:
    """The only place a version's status changes; illegal moves raise IllegalVersionTransition. `at`
    records when it happened if not now (registering an agreement signed before the system was used)."""
    new_status = VersionStatus(new_status)
    if new_status not in VERSION_TRANSITIONS[version.status]:
        raise IllegalVersionTransition(
            f"En version med status {VERSION_STATUS_LABELS[version.status].lower()} kan inte bli "
            f"{VERSION_STATUS_LABELS[new_status].lower()}."
        )
    acting = user if getattr(user, "is_authenticated", False) else None
    when = at or utcnow()
    if new_status == VersionStatus.IN_REVIEW:
        version.submitted_at = when
        version.submitted_by_id = acting.id if acting else None
    if new_status == VersionStatus.APPROVED:
        version.approved_at = when
        version.approved_by_id = acting.id if acting else None
    version.status = new_status


def apply_term_changes(version: ContractVersion) -> None:
    """On approval: a version that changes the term writes the new end date, renewal and notice to the
    registry's agreement (the audit log keeps the old values; the versions are the history)."""
    if not version.changes_term:
        return
    agreement = version.agreement
    agreement.end_date = version.term_end_date
    agreement.renewal_months = version.term_renewal_months
    agreement.notice_months = version.term_notice_months


# --- Creating versions -----------------------------------------------------------------------------


def create_version(
    session: Session,
    user,
    agreement: Agreement,
    *,
    title: str,
    effective_from: dt.date,
    change_summary: str | None = None,
    based_on: ContractVersion | None = None,
) -> ContractVersion:
    """A new draft version. The first is the original; later ones are amendments that start as a copy of
    `based_on` (default: the latest approved version), so only what changes needs editing."""
    require_any(user, CONTRACT_EDIT, agreement.party_municipality_ids)
    errors = {}
    title = (title or "").strip()
    if not title:
        errors["title"] = ["Ange en rubrik för versionen."]
    if effective_from is None:
        errors["effective_from"] = ["Ange från vilket datum versionen gäller."]
    elif effective_from < agreement.start_date:
        errors["effective_from"] = ["Versionen kan inte gälla från före avtalets startdatum."]
    elif ends_before(agreement, effective_from):
        errors["effective_from"] = ["Versionen kan inte gälla från efter avtalets slutdatum."]
    if errors:
        raise ValidationFailed(errors=errors)
    existing = versions_of(session, agreement.id)
    if any(v.status != VersionStatus.APPROVED for v in existing):
        raise OpenVersionExists()
    approved = [v for v in existing if v.is_approved]
    if any(v.effective_from == effective_from for v in approved):
        raise ValidationFailed(
            errors={
                "effective_from": ["En godkänd version gäller redan från det datumet. Välj ett annat datum."]
            }
        )
    if based_on is None and approved:
        based_on = max(approved, key=lambda v: v.effective_from)
    if based_on is not None and based_on.agreement_id != agreement.id:
        raise ValidationFailed(errors={"based_on_id": ["Versionen hör till ett annat avtal."]})
    acting = user if getattr(user, "is_authenticated", False) else None
    version = ContractVersion(
        agreement=agreement,
        number=max((v.number for v in existing), default=0) + 1,
        title=title,
        effective_from=effective_from,
        change_summary=change_summary,
        status=VersionStatus.DRAFT,
        created_by_id=acting.id if acting else None,
    )
    if based_on is not None:
        copy_terms(based_on, version)
    session.add(version)
    session.flush()
    return version


_VERSION_FIELDS = (
    "scope",
    "executor",
    "invoice_frequency",
    "payment_terms_days",
    "invoice_series",
    "cost_cap_amount",
    "index_kind",
    "index_edition",
    "index_effective_from",
    "index_rounding",
    "personal_data_role",
    "claims_cost_coverage",
)
_SERVICE_TYPE_FIELDS = (
    "code",
    "name",
    "unit",
    "vat_category",
    "vat_rate",
    "vat_exemption_reason_code",
    "vat_exemption_reason",
)
_COMPONENT_FIELDS = (
    "position",
    "model",
    "buyer_municipality_id",
    "description",
    "time_rounding_minutes",
    "ceiling_hours",
    "ceiling_per",
    "fee_period",
    "in_advance",
    "population_ref_month",
    "population_ref_day",
    "population_ref_year_offset",
    "equal_split_percent",
    "include_host",
    "usage_measure",
    "shared_role_id",
    "share_basis",
    "reconciliation_deadline_month",
    "reconciliation_deadline_day",
    "reconciliation_threshold",
)


def copy_terms(source: ContractVersion, target: ContractVersion) -> None:
    """Copy every term of `source` into the (new, draft) `target`: version fields, service types,
    components with prices and fixed shares, buyer references, and the linked PUB-avtal and cost
    calculation (not signed scans: those belong to the version that was signed). The term dates are
    not copied: a version changes them only when it says so."""
    for field in _VERSION_FIELDS:
        setattr(target, field, getattr(source, field))
    target.based_on = source
    service_types = {}
    for st in source.service_types:
        copy = ContractServiceType(**{f: getattr(st, f) for f in _SERVICE_TYPE_FIELDS})
        service_types[st.id] = copy
        target.service_types.append(copy)
    for component in source.components:
        copy = CompensationComponent(**{f: getattr(component, f) for f in _COMPONENT_FIELDS})
        copy.service_type = service_types[component.service_type_id]
        copy.prices = [
            ContractPrice(year=p.year, case_type=p.case_type, amount=p.amount) for p in component.prices
        ]
        copy.fixed_shares = [
            ContractFixedShare(municipality_id=s.municipality_id, percent=s.percent)
            for s in component.fixed_shares
        ]
        target.components.append(copy)
    for terms in source.buyer_terms:
        target.buyer_terms.append(
            ContractBuyerTerms(municipality_id=terms.municipality_id, buyer_reference=terms.buyer_reference)
        )
    for document in source.documents:
        if document.kind != DocumentKind.SIGNED_SCAN:
            target.documents.append(
                ContractVersionDocument(
                    attachment_id=document.attachment_id, kind=document.kind, added_by_id=document.added_by_id
                )
            )
