"""The legal review of a contract version: submit a draft (the checklist rows are created from the data
file and the automatic pre-checks fill in what the data can tell), a lawyer marks the rows, and approves
the version or sends it back to draft. Also the lists of versions awaiting review and of agreements
whose version in force was approved more than a year ago. Functions add and flush, never commit.

Who may do what: CONTRACT_EDIT (administrators, finance and legal of a party) submit, refresh the
pre-checks and send back to draft; CONTRACT_REVIEW (legal of a party) marks rows and approves. Rows
are written only while the version is in review: the database refuses rows under an approved version,
so approval refreshes the pre-checks and flushes before the status changes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import Session, selectinload

from contracts import versions
from contracts.errors import ApprovalRefused, IllegalVersionTransition, VersionImmutable
from contracts.models import (
    ContractReviewRow,
    ContractVersion,
    ReviewSection,
    ReviewStatus,
    VersionStatus,
)
from contracts.permissions import CONTRACT_EDIT, CONTRACT_READ, CONTRACT_REVIEW
from contracts.review.checklist import ChecklistInvalid, ChecklistRow, load_checklist
from contracts.review.prechecks import PRECHECKS, PrecheckResult, run_prechecks
from contracts.review.schemas import ApproveSchema, ReturnToDraftSchema, ReviewRowMarkSchema
from core.db import utcnow
from core.errors import Conflict, DomainError, NotFound, ValidationFailed
from core.formatting import TIMEZONE
from core.permissions import can_any, require, require_any
from core.services import load_or_raise
from registry.dates import add_months
from registry.models import Agreement, AgreementStatus

# Agreements whose review is re-checked yearly (the Hamburg criteria can drift): those in force.
LIVE_AGREEMENT_STATUSES = (AgreementStatus.ACTIVE, AgreementStatus.RENEGOTIATION)
STALE_AFTER_MONTHS = 12


class ChecklistUnavailable(DomainError):
    """The checklist data file is broken: nothing can be submitted until it is corrected."""

    status_code = 503
    code = "checklist_unavailable"
    default_message = "Granskningslistan kan inte läsas. Kontakta systemförvaltningen."


class ReviewClosed(Conflict):
    code = "review_closed"
    default_message = "Granskningen kan bara ändras medan versionen är under juridisk granskning."


class ReviewRowNotFound(NotFound):
    default_message = "Granskningsraden finns inte."


# --- What a review looks like ----------------------------------------------------------------------

BLOCKING_REASONS = {
    "unmarked": "inte bedömd",
    "missing": "saknas",
    "unanswered": "ja/nej-svar saknas",
    "not_fulfilled": "kriteriet är inte uppfyllt",
}


@dataclass(frozen=True)
class BlockingRow:
    row: ContractReviewRow
    reason: str

    @property
    def key(self) -> str:
        return self.row.key

    @property
    def label(self) -> str:
        return self.row.label

    def __str__(self) -> str:
        return f"{self.row.label} ({self.reason})"


@dataclass(frozen=True)
class ReviewRowInfo:
    row: ContractReviewRow
    hint: str | None
    precheck: str | None
    blocking: str | None

    @property
    def marked_before_submission(self) -> bool:
        """Marked by a reviewer before the version was last submitted (it was sent back meanwhile)."""
        submitted = self.row.version.submitted_at
        return bool(self.row.reviewed_at and submitted and self.row.reviewed_at < submitted)


@dataclass(frozen=True)
class PrecheckInfo:
    key: str
    title: str
    row_key: str | None
    row_label: str | None
    ok: bool
    detail: str
    stored: bool  # the result saved on the row (in review); False: computed now (a draft)


@dataclass(frozen=True)
class Review:
    version: ContractVersion
    rows: list[ReviewRowInfo]
    prechecks: list[PrecheckInfo]
    blocking_rows: list[BlockingRow]
    may_review: bool
    may_edit: bool

    def section(self, section: ReviewSection | str) -> list[ReviewRowInfo]:
        return [info for info in self.rows if info.row.section == ReviewSection(section)]


def blocking_reason(row: ContractReviewRow) -> str | None:
    """Why the row stops approval without an override reason: not marked, marked missing, or a Hamburg
    criterion without a yes/no answer or answered no (procurement law would then apply)."""
    if row.status is None:
        return BLOCKING_REASONS["unmarked"]
    if row.status == ReviewStatus.MISSING:
        return BLOCKING_REASONS["missing"]
    if row.section == ReviewSection.HAMBURG and row.status != ReviewStatus.NOT_APPLICABLE:
        if row.answer is None:
            return BLOCKING_REASONS["unanswered"]
        if row.answer is False:
            return BLOCKING_REASONS["not_fulfilled"]
    return None


def blocking_rows(version: ContractVersion) -> list[BlockingRow]:
    return [BlockingRow(row, reason) for row in version.review_rows if (reason := blocking_reason(row))]


def _checklist() -> list[ChecklistRow]:
    try:
        return load_checklist()
    except ChecklistInvalid as exc:
        raise ChecklistUnavailable(
            f"Granskningslistan kan inte användas: {exc} Rätta filen och försök igen."
        ) from exc


def _checklist_or_empty() -> list[ChecklistRow]:
    """For showing hints: a broken file must not hide the review itself."""
    try:
        return load_checklist()
    except ChecklistInvalid:
        return []


def get_review(session: Session, user, version: ContractVersion) -> Review:
    """The review of a version the user may read (load it with versions.get_version): rows with their
    hints, the pre-checks (as saved on the rows once submitted; computed now for a draft, whose terms
    may have changed since), what blocks approval, and what the user may do."""
    checklist = _checklist_or_empty()
    by_key = {c.key: c for c in checklist}
    row_of_precheck = {c.precheck: c.key for c in checklist if c.precheck}
    rows_by_key = {row.key: row for row in version.review_rows}
    in_review = version.status == VersionStatus.IN_REVIEW
    infos = [
        ReviewRowInfo(
            row=row,
            hint=by_key[row.key].hint if row.key in by_key else None,
            precheck=by_key[row.key].precheck if row.key in by_key else None,
            blocking=blocking_reason(row) if in_review else None,
        )
        for row in version.review_rows
    ]
    live: dict[str, PrecheckResult] | None = None
    prechecks = []
    for key, check in PRECHECKS.items():
        row = rows_by_key.get(row_of_precheck.get(key, ""))
        if row is not None and row.auto_ok is not None and not version.is_draft:
            result, stored = PrecheckResult(row.auto_ok, row.auto_detail or ""), True
        elif version.is_approved:
            continue  # never judge an approved version by today's data
        else:
            live = live if live is not None else run_prechecks(version)
            result, stored = live[key], False
        row_key = row_of_precheck.get(key)
        prechecks.append(
            PrecheckInfo(
                key=key,
                title=check.title,
                row_key=row_key,
                row_label=(row.label if row is not None else by_key[row_key].label if row_key else None),
                ok=result.ok,
                detail=result.detail,
                stored=stored,
            )
        )
    parties = version.agreement.party_municipality_ids
    return Review(
        version=version,
        rows=infos,
        prechecks=prechecks,
        blocking_rows=blocking_rows(version) if in_review else [],
        may_review=can_any(user, CONTRACT_REVIEW, parties),
        may_edit=can_any(user, CONTRACT_EDIT, parties),
    )


# --- Rows and pre-checks ---------------------------------------------------------------------------


def _ensure_rows(version: ContractVersion, checklist: list[ChecklistRow]) -> None:
    """Create the rows the version lacks, label copied from the checklist. Rows it already has (from an
    earlier round before it was sent back) keep their label and marks."""
    existing = {row.key for row in version.review_rows}
    for item in checklist:
        if item.key not in existing:
            version.review_rows.append(
                ContractReviewRow(
                    key=item.key, section=item.section, position=item.position, label=item.label
                )
            )


def _apply_prechecks(version: ContractVersion, checklist: list[ChecklistRow]) -> None:
    """Run the pre-checks and store each result on its row; a row no reviewer has marked takes the
    result as its status (OK or missing). A reviewer's own mark is never overwritten."""
    results = run_prechecks(version)
    precheck_of_row = {c.key: c.precheck for c in checklist if c.precheck}
    now = utcnow()
    for row in version.review_rows:
        key = precheck_of_row.get(row.key)
        if key is None:
            continue
        result = results[key]
        row.auto_ok = result.ok
        row.auto_detail = result.detail
        row.auto_checked_at = now
        if row.reviewed_at is None:
            row.status = ReviewStatus.OK if result.ok else ReviewStatus.MISSING


def _assert_in_review(version: ContractVersion) -> None:
    if version.status == VersionStatus.APPROVED:
        raise VersionImmutable()
    if version.status != VersionStatus.IN_REVIEW:
        raise ReviewClosed()


def submit_for_review(session: Session, user, version: ContractVersion) -> ContractVersion:
    """Hand a draft over to legal review: create the checklist rows, run the pre-checks, status in review."""
    require_any(user, CONTRACT_EDIT, version.agreement.party_municipality_ids)
    if version.status != VersionStatus.DRAFT:
        raise IllegalVersionTransition("Bara ett utkast kan lämnas in för juridisk granskning.")
    checklist = _checklist()
    _ensure_rows(version, checklist)
    _apply_prechecks(version, checklist)
    version.review_return_reason = None
    versions.transition_version(version, VersionStatus.IN_REVIEW, user)
    session.flush()
    return version


def return_to_draft(session: Session, user, version: ContractVersion, reason: str | None) -> ContractVersion:
    """Send a version in review back to draft so its terms can be changed; the reason is kept on the
    version (and in the audit log) for whoever edits it."""
    require_any(user, CONTRACT_EDIT, version.agreement.party_municipality_ids)
    values = load_or_raise(ReturnToDraftSchema(), {"reason": reason})
    if version.status != VersionStatus.IN_REVIEW:
        raise IllegalVersionTransition(
            "Bara en version under juridisk granskning kan skickas tillbaka till utkast."
        )
    version.review_return_reason = values["reason"]
    versions.transition_version(version, VersionStatus.DRAFT, user)
    session.flush()
    return version


def refresh_prechecks(session: Session, user, version: ContractVersion) -> ContractVersion:
    """Run the pre-checks again (e.g. after a party's organisation number was registered)."""
    require_any(user, CONTRACT_EDIT, version.agreement.party_municipality_ids)
    _assert_in_review(version)
    checklist = _checklist()
    _ensure_rows(version, checklist)
    _apply_prechecks(version, checklist)
    session.flush()
    return version


def _validated_mark(row: ContractReviewRow, data: dict) -> dict:
    """The schema's checks plus the row's rules: a Hamburg criterion needs yes/no and a justification
    (unless not applicable) and cannot be OK when answered no; missing and deviating need a comment."""
    values = load_or_raise(ReviewRowMarkSchema(), data)
    status, answer, comment = values["status"], values.get("answer"), values.get("comment")
    errors: dict[str, list[str]] = {}
    hamburg = row.section == ReviewSection.HAMBURG
    if not hamburg and answer is not None:
        errors["answer"] = ["Bara Hamburgkriterierna besvaras med ja eller nej."]
    if hamburg and status != ReviewStatus.NOT_APPLICABLE:
        if answer is None:
            errors["answer"] = ["Svara ja eller nej: är kriteriet uppfyllt?"]
        if not comment:
            errors["comment"] = ["Motivera svaret."]
        if answer is False and status == ReviewStatus.OK:
            errors["status"] = [
                "Ett kriterium som inte är uppfyllt kan inte vara OK. Välj Avvikande eller Saknas."
            ]
    if status in (ReviewStatus.MISSING, ReviewStatus.DEVIATING) and not comment:
        errors.setdefault("comment", ["Skriv vad som saknas eller avviker."])
    if errors:
        raise ValidationFailed(errors=errors)
    if hamburg and status == ReviewStatus.NOT_APPLICABLE:
        values["answer"] = None
    return {"status": status, "answer": values.get("answer"), "comment": comment}


def _apply_mark(row: ContractReviewRow, values: dict, user, now: dt.datetime) -> None:
    row.status = values["status"]
    row.answer = values["answer"]
    row.comment = values["comment"]
    row.reviewed_by_id = user.id
    row.reviewed_at = now


def mark_row(
    session: Session,
    user,
    row: ContractReviewRow,
    status: ReviewStatus | str | None,
    comment: str | None = None,
    answer: bool | str | None = None,
) -> ContractReviewRow:
    """A lawyer's judgement of one row: OK, missing, deviating or not applicable, with a comment (and
    for a Hamburg criterion a yes/no answer); the reviewer and the time are recorded."""
    version = row.version
    require_any(user, CONTRACT_REVIEW, version.agreement.party_municipality_ids)
    _assert_in_review(version)
    values = _validated_mark(
        row, {"status": None if status is None else str(status), "answer": answer, "comment": comment}
    )
    _apply_mark(row, values, user, utcnow())
    session.flush()
    return row


def mark_rows(
    session: Session, user, version: ContractVersion, marks: dict[int, dict]
) -> list[ContractReviewRow]:
    """Several rows at once (the review page's form): `marks` maps a row id to its status, answer and
    comment. All are checked before any is saved; errors come keyed `row-<id>-<field>`."""
    require_any(user, CONTRACT_REVIEW, version.agreement.party_municipality_ids)
    _assert_in_review(version)
    rows = {row.id: row for row in version.review_rows}
    checked: list[tuple[ContractReviewRow, dict]] = []
    errors: dict[str, list[str]] = {}
    for row_id, data in marks.items():
        row = rows.get(row_id)
        if row is None:
            raise ReviewRowNotFound()
        try:
            checked.append((row, _validated_mark(row, data)))
        except ValidationFailed as exc:
            for field, messages in exc.errors.items():
                errors[f"row-{row.id}-{field}"] = messages if isinstance(messages, list) else [str(messages)]
    if errors:
        raise ValidationFailed("Granskningen sparades inte. Rätta de markerade raderna.", errors=errors)
    now = utcnow()
    for row, values in checked:
        _apply_mark(row, values, user, now)
    session.flush()
    return [row for row, _ in checked]


def find_row(version: ContractVersion, key: str) -> ContractReviewRow:
    for row in version.review_rows:
        if row.key == key:
            return row
    raise ReviewRowNotFound()


# --- Approval ---------------------------------------------------------------------------------------


def approve_version(
    session: Session,
    user,
    version: ContractVersion,
    override_reason: str | None = None,
    approved_at: dt.datetime | None = None,
) -> ContractVersion:
    """Legal's sign-off. Refused (ApprovalRefused, 409) while a row is missing or not yet marked (or a
    Hamburg criterion is unanswered or not fulfilled), unless an override reason is given: it is stored
    on the version and so lands in the audit log. Approval applies the version's term changes to the
    agreement; after it, the version and everything under it is immutable. `approved_at` (services only,
    e.g. the demo and imports of agreements signed earlier) records an earlier approval time."""
    require_any(user, CONTRACT_REVIEW, version.agreement.party_municipality_ids)
    values = load_or_raise(ApproveSchema(), {"override_reason": override_reason})
    if version.status != VersionStatus.IN_REVIEW:
        raise IllegalVersionTransition("Bara en version under juridisk granskning kan godkännas.")
    # Rows are written now, in their own flush: the database refuses rows under an approved version.
    checklist = _checklist()
    _ensure_rows(version, checklist)
    _apply_prechecks(version, checklist)
    session.flush()
    blocking = blocking_rows(version)
    reason = values.get("override_reason")
    if blocking and not reason:
        raise ApprovalRefused(
            "Versionen kan inte godkännas: " + "; ".join(str(b) for b in blocking) + ". Rätta raderna eller "
            "ange ett skäl att godkänna ändå.",
            errors={
                "rows": [str(b) for b in blocking],
                "override_reason": [
                    "Ange ett skäl för att godkänna trots raderna ovan, eller bedöm dem först."
                ],
            },
        )
    clash = session.scalar(
        select(ContractVersion.id).where(
            ContractVersion.agreement_id == version.agreement_id,
            ContractVersion.status == VersionStatus.APPROVED,
            ContractVersion.effective_from == version.effective_from,
            ContractVersion.id != version.id,
        )
    )
    if clash is not None:
        raise ApprovalRefused(
            f"En annan godkänd version av avtalet gäller redan från {version.effective_from.isoformat()}. "
            "Skicka tillbaka versionen till utkast och ändra dess datum."
        )
    version.approval_override_reason = reason if blocking else None
    versions.transition_version(version, VersionStatus.APPROVED, user, at=approved_at)
    versions.apply_term_changes(version)
    session.flush()
    return version


# --- Lists -------------------------------------------------------------------------------------------


def versions_awaiting_review(session: Session, user) -> Select:
    """Versions in review of agreements the user's municipality is a party to, oldest submission first."""
    require(user, CONTRACT_READ)
    return (
        select(ContractVersion)
        .where(ContractVersion.status == VersionStatus.IN_REVIEW, versions.visible_to(user))
        .options(selectinload(ContractVersion.agreement), selectinload(ContractVersion.submitted_by))
        .order_by(ContractVersion.submitted_at, ContractVersion.id)
    )


def stale_cutoff(today: dt.date) -> dt.datetime:
    """Approved before this moment (the start of the same Swedish day a year ago) is "more than a year ago"."""
    day = add_months(today, -STALE_AFTER_MONTHS)
    return dt.datetime.combine(day, dt.time.min, tzinfo=ZoneInfo(TIMEZONE)).astimezone(dt.UTC)


def stale_approvals(session: Session, user, today: dt.date) -> Select:
    """Versions in force today of agreements that are active or under renegotiation, approved more than a
    year ago: their review (and the Hamburg criteria) should be checked again. Oldest approval first."""
    require(user, CONTRACT_READ)
    in_force = (
        select(
            ContractVersion.agreement_id.label("agreement_id"),
            func.max(ContractVersion.effective_from).label("effective_from"),
        )
        .where(ContractVersion.status == VersionStatus.APPROVED, ContractVersion.effective_from <= today)
        .group_by(ContractVersion.agreement_id)
        .subquery()
    )
    return (
        select(ContractVersion)
        .join(
            in_force,
            and_(
                ContractVersion.agreement_id == in_force.c.agreement_id,
                ContractVersion.effective_from == in_force.c.effective_from,
            ),
        )
        .join(Agreement, Agreement.id == ContractVersion.agreement_id)
        .where(
            ContractVersion.status == VersionStatus.APPROVED,
            ContractVersion.approved_at < stale_cutoff(today),
            Agreement.status.in_(LIVE_AGREEMENT_STATUSES),
            versions.visible_to(user),
        )
        .options(selectinload(ContractVersion.agreement), selectinload(ContractVersion.approved_by))
        .order_by(ContractVersion.approved_at, ContractVersion.id)
    )


def count(session: Session, stmt: Select) -> int:
    return session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0


def open_version_agreement_ids(session: Session, agreement_ids: set[int]) -> set[int]:
    """Which of these agreements already have a new version in the works (draft or in review)."""
    if not agreement_ids:
        return set()
    return set(
        session.scalars(
            select(ContractVersion.agreement_id).where(
                ContractVersion.agreement_id.in_(agreement_ids),
                ContractVersion.status != VersionStatus.APPROVED,
            )
        )
    )
