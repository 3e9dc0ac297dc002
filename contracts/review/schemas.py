"""marshmallow schemas of the legal review: marking a row, approving, returning to draft (input, shared by
the pages and the API) and the review's JSON representation. Rules that depend on the row (a Hamburg
criterion needs yes/no, missing and deviating need a comment) live in services.py."""

from __future__ import annotations

from marshmallow import fields, post_load, validate

from contracts.models import REVIEW_STATUS_LABELS, VERSION_STATUS_LABELS, ReviewStatus
from core.personal_numbers import NoPersonalNumber
from core.schemas import BaseSchema, BlankToNoneMixin

MAX_TEXT = 4000


def _text(required: bool = False, **kwargs) -> fields.String:
    lengths = validate.Length(min=1, max=MAX_TEXT) if required else validate.Length(max=MAX_TEXT)
    return fields.String(
        required=required, allow_none=not required, validate=[lengths, NoPersonalNumber()], **kwargs
    )


class _Strip:
    @post_load
    def _strip(self, data, **kwargs):
        return {k: (v.strip() or None if isinstance(v, str) else v) for k, v in data.items()}


_STATUS_CHOICES = ", ".join(f"{s.value} ({REVIEW_STATUS_LABELS[s]})" for s in ReviewStatus)


# --- Input --------------------------------------------------------------------------------------


class ReviewRowMarkSchema(_Strip, BlankToNoneMixin, BaseSchema):
    status = fields.Enum(
        ReviewStatus,
        by_value=True,
        required=True,
        error_messages={"unknown": f"Välj ett av: {_STATUS_CHOICES}.", "null": "Välj en bedömning."},
        metadata={"description": "; ".join(f"`{s.value}`: {REVIEW_STATUS_LABELS[s]}" for s in ReviewStatus)},
    )
    answer = fields.Boolean(
        allow_none=True,
        load_default=None,
        metadata={"description": "Hamburgkriterierna: är kriteriet uppfyllt (ja/nej)? Bara för dem."},
    )
    comment = _text(
        load_default=None,
        metadata={
            "description": "Kommentar; krävs för Saknas och Avvikande, och som motivering för ett "
            "Hamburgkriterium"
        },
    )


class ApproveSchema(_Strip, BlankToNoneMixin, BaseSchema):
    override_reason = _text(
        load_default=None,
        metadata={
            "description": "Skäl att godkänna trots rader som saknas eller inte är bedömda; "
            "sparas och syns i granskningsloggen"
        },
    )


class ReturnToDraftSchema(_Strip, BlankToNoneMixin, BaseSchema):
    reason = _text(required=True, metadata={"description": "Varför versionen skickas tillbaka till utkast"})


# --- Output -------------------------------------------------------------------------------------


def _name(user) -> str | None:
    return user.name if user is not None else None


class ReviewRowSchema(BaseSchema):
    id = fields.Integer(dump_only=True, attribute="row.id")
    key = fields.String(dump_only=True, attribute="row.key")
    section = fields.String(dump_only=True, attribute="row.section")
    position = fields.Integer(dump_only=True, attribute="row.position")
    label = fields.String(dump_only=True, attribute="row.label")
    hint = fields.String(dump_only=True, allow_none=True)
    status = fields.String(dump_only=True, allow_none=True, attribute="row.status")
    status_label = fields.String(dump_only=True, attribute="row.status_label")
    answer = fields.Boolean(dump_only=True, allow_none=True, attribute="row.answer")
    comment = fields.String(dump_only=True, allow_none=True, attribute="row.comment")
    reviewed_by = fields.Function(lambda r: _name(r.row.reviewed_by), dump_only=True, allow_none=True)
    reviewed_at = fields.DateTime(dump_only=True, allow_none=True, attribute="row.reviewed_at")
    auto_ok = fields.Boolean(dump_only=True, allow_none=True, attribute="row.auto_ok")
    auto_detail = fields.String(dump_only=True, allow_none=True, attribute="row.auto_detail")
    auto_checked_at = fields.DateTime(dump_only=True, allow_none=True, attribute="row.auto_checked_at")
    blocking = fields.String(
        dump_only=True,
        allow_none=True,
        metadata={"description": "Varför raden hindrar godkännande (null: hindrar inte)"},
    )


class PrecheckSchema(BaseSchema):
    key = fields.String(dump_only=True)
    title = fields.String(dump_only=True)
    row_key = fields.String(dump_only=True, allow_none=True)
    ok = fields.Boolean(dump_only=True)
    detail = fields.String(dump_only=True)


class BlockingRowSchema(BaseSchema):
    key = fields.String(dump_only=True)
    label = fields.String(dump_only=True)
    reason = fields.String(dump_only=True)


class ReviewSchema(BaseSchema):
    version_id = fields.Integer(dump_only=True, attribute="version.id")
    version_number = fields.Integer(dump_only=True, attribute="version.number")
    title = fields.String(dump_only=True, attribute="version.title")
    effective_from = fields.Date(dump_only=True, attribute="version.effective_from")
    agreement_id = fields.Integer(dump_only=True, attribute="version.agreement_id")
    agreement_number = fields.String(dump_only=True, attribute="version.agreement.number")
    status = fields.String(dump_only=True, attribute="version.status")
    status_label = fields.Function(lambda r: VERSION_STATUS_LABELS[r.version.status], dump_only=True)
    submitted_at = fields.DateTime(dump_only=True, allow_none=True, attribute="version.submitted_at")
    submitted_by = fields.Function(lambda r: _name(r.version.submitted_by), dump_only=True, allow_none=True)
    approved_at = fields.DateTime(dump_only=True, allow_none=True, attribute="version.approved_at")
    approved_by = fields.Function(lambda r: _name(r.version.approved_by), dump_only=True, allow_none=True)
    approval_override_reason = fields.String(
        dump_only=True, allow_none=True, attribute="version.approval_override_reason"
    )
    review_return_reason = fields.String(
        dump_only=True, allow_none=True, attribute="version.review_return_reason"
    )
    rows = fields.List(fields.Nested(ReviewRowSchema), dump_only=True)
    prechecks = fields.List(fields.Nested(PrecheckSchema), dump_only=True)
    blocking_rows = fields.List(fields.Nested(BlockingRowSchema), dump_only=True)
    may_review = fields.Boolean(dump_only=True)
    may_edit = fields.Boolean(dump_only=True)


class ReviewQueueItemSchema(BaseSchema):
    version_id = fields.Integer(dump_only=True, attribute="id")
    version_number = fields.Integer(dump_only=True, attribute="number")
    title = fields.String(dump_only=True)
    effective_from = fields.Date(dump_only=True)
    status = fields.String(dump_only=True)
    agreement_id = fields.Integer(dump_only=True)
    agreement_number = fields.String(dump_only=True, attribute="agreement.number")
    agreement_title = fields.String(dump_only=True, attribute="agreement.title")
    submitted_at = fields.DateTime(dump_only=True, allow_none=True)
    submitted_by = fields.Function(lambda v: _name(v.submitted_by), dump_only=True, allow_none=True)
    approved_at = fields.DateTime(dump_only=True, allow_none=True)
    approved_by = fields.Function(lambda v: _name(v.approved_by), dump_only=True, allow_none=True)
