"""marshmallow schemas of case transfers: the API representations and the validation shared with the
request form and the step forms. Every free-text field refuses personal identity numbers."""

from __future__ import annotations

import enum

from marshmallow import fields, validate

from core.personal_numbers import NoPersonalNumber
from core.schemas import BaseSchema, BlankToNoneMixin, Id, QuerySchema
from registry.models import (
    AGREEMENT_STATUS_LABELS,
    CASE_AREA_LABELS,
    EXECUTOR_LABELS,
    JAV_GROUND_LABELS,
    RESOLUTION_TYPE_LABELS,
    TRANSFER_STATUS_LABELS,
    CaseArea,
    Executor,
    JavGround,
    ResolutionType,
    TransferStatus,
)

SIDES = ("requesting", "performing")


def _choice(enum_cls: type[enum.Enum], **kwargs) -> fields.Enum:
    """An enum field that loads and dumps the stored value, with a Swedish message."""
    values = ", ".join(m.value for m in enum_cls)
    return fields.Enum(
        enum_cls,
        by_value=True,
        error_messages={"unknown": f"Välj ett av: {values}."},
        **kwargs,
    )


def _label(labels: dict, attribute: str):
    return fields.Function(lambda obj: labels[getattr(obj, attribute)] if getattr(obj, attribute) else None)


class MunicipalityRefSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    kommunkod = fields.String(dump_only=True)
    name = fields.String(dump_only=True)


class AgreementRefSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    number = fields.String(dump_only=True)
    title = fields.String(dump_only=True)
    status = fields.String(dump_only=True)
    status_label = _label(AGREEMENT_STATUS_LABELS, "status")


class NextStepSchema(BaseSchema):
    target = fields.String(dump_only=True, metadata={"description": "Status att skicka som `target`"})
    label = fields.String(dump_only=True)
    sides = fields.Function(
        lambda step: sorted(s.value for s in step.sides),
        dump_only=True,
        metadata={"description": "Vilken part som får ta steget: requesting och/eller performing"},
    )
    needs_reason = fields.Boolean(dump_only=True)


def _next_steps(transfer):
    from registry.transfers.services import next_steps

    return NextStepSchema(many=True).dump(next_steps(transfer))


def _days_waiting(transfer):
    from registry.transfers.services import days_waiting

    return days_waiting(transfer)


class TransferSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    reference = fields.String(
        dump_only=True, metadata={"description": "Pseudonym ärendereferens, t.ex. JAV-1480-2026-0007"}
    )
    status = fields.String(dump_only=True)
    status_label = _label(TRANSFER_STATUS_LABELS, "status")
    status_before_interruption = fields.String(dump_only=True, allow_none=True)
    requesting_municipality = fields.Nested(MunicipalityRefSchema, dump_only=True)
    performing_municipality = fields.Nested(MunicipalityRefSchema, dump_only=True)
    agreement = fields.Nested(AgreementRefSchema, dump_only=True, allow_none=True)
    jav_ground = fields.String(dump_only=True)
    jav_ground_label = _label(JAV_GROUND_LABELS, "jav_ground")
    resolution_type = fields.String(dump_only=True)
    resolution_type_label = _label(RESOLUTION_TYPE_LABELS, "resolution_type")
    case_area = fields.String(dump_only=True)
    case_area_label = _label(CASE_AREA_LABELS, "case_area")
    executor = fields.String(dump_only=True)
    executor_label = _label(EXECUTOR_LABELS, "executor")
    delegation_decision = fields.String(dump_only=True, allow_none=True)
    note = fields.String(dump_only=True, allow_none=True)
    requested_on = fields.Date(dump_only=True)
    answered_on = fields.Date(dump_only=True, allow_none=True)
    decline_reason = fields.String(dump_only=True, allow_none=True)
    closed_on = fields.Date(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)
    days_waiting = fields.Function(
        _days_waiting, dump_only=True, metadata={"description": "Dagar utan svar (endast begärda)"}
    )
    next_steps = fields.Function(
        _next_steps, dump_only=True, metadata={"description": "Tillåtna nästa steg och vem som får ta dem"}
    )


class TransferCreateSchema(BlankToNoneMixin, BaseSchema):
    """A request, made by the signed-in user's municipality (which keeps responsibility)."""

    performing_municipality_id = Id(required=True)
    agreement_id = Id(allow_none=True, load_default=None)
    jav_ground = _choice(JavGround, required=True)
    resolution_type = _choice(ResolutionType, required=True)
    case_area = _choice(CaseArea, required=True)
    executor = _choice(Executor, required=True)
    delegation_decision = fields.String(
        allow_none=True,
        load_default=None,
        validate=[validate.Length(max=200), NoPersonalNumber()],
        metadata={"description": "Delegationsbeslutet, t.ex. nämnd, datum och paragraf"},
    )
    note = fields.String(
        allow_none=True, load_default=None, validate=[validate.Length(max=4000), NoPersonalNumber()]
    )
    requested_on = fields.Date(
        allow_none=True, load_default=None, metadata={"description": "Standard: i dag"}
    )


class TransitionSchema(BlankToNoneMixin, BaseSchema):
    """One step in a transfer's lifecycle; resuming means `target` = the status before the interruption."""

    target = _choice(TransferStatus, required=True)
    on = fields.Date(
        allow_none=True, load_default=None, metadata={"description": "Datum då steget gäller; standard i dag"}
    )
    comment = fields.String(
        allow_none=True,
        load_default=None,
        validate=[validate.Length(max=2000), NoPersonalNumber()],
        metadata={"description": "Kommentar; vid avböjande skälet (obligatoriskt)"},
    )


class TransferQuerySchema(QuerySchema):
    status = _choice(TransferStatus, load_default=None)
    side = fields.String(
        load_default=None,
        validate=validate.OneOf(SIDES),
        metadata={"description": "requesting = begärda av oss, performing = utförs av oss"},
    )
    q = fields.String(
        load_default=None, validate=validate.Length(max=40), metadata={"description": "Referens"}
    )
    waiting_for_answer = fields.Boolean(load_default=False, metadata={"description": "Bara obesvarade"})


class TransferEventSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    from_status = fields.String(dump_only=True, allow_none=True)
    from_label = _label(TRANSFER_STATUS_LABELS, "from_status")
    to_status = fields.String(dump_only=True)
    to_label = _label(TRANSFER_STATUS_LABELS, "to_status")
    effective_on = fields.Date(dump_only=True)
    occurred_at = fields.DateTime(dump_only=True)
    user_id = Id(dump_only=True, allow_none=True)
    user = fields.Function(lambda e: e.user.name if e.user else None, dump_only=True)
    municipality = fields.Function(
        lambda e: e.user.municipality.name if e.user and e.user.municipality else None, dump_only=True
    )
    comment = fields.String(dump_only=True, allow_none=True)


class InsightEntrySchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    viewed_at = fields.DateTime(dump_only=True)
    user_id = Id(dump_only=True, allow_none=True)
    user_label = fields.String(dump_only=True)
    municipality_id = Id(dump_only=True)
    municipality = fields.Function(lambda e: e.municipality.name, dump_only=True)
    channel = fields.String(dump_only=True)
