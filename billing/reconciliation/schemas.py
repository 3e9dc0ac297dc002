"""marshmallow schemas of the year-end reconciliation: the reported cost (in), reconciliations with
their rows and proposed documents (out). Names carry the part's prefix (one OpenAPI document)."""

from __future__ import annotations

from decimal import Decimal

from marshmallow import ValidationError, fields, validate

from core.personal_numbers import NoPersonalNumber
from core.schemas import BaseSchema, QuerySchema, SwedishDecimal

MAX_COST = Decimal("999999999999.99")  # Numeric(14, 2)


def _invalid(message: str):
    raise ValidationError(message)


class ReportedCostInputSchema(BaseSchema):
    """The reported cost as typed (`1 250 000,50`), validated like every amount (core SwedishDecimal)."""

    amount = SwedishDecimal(
        required=True,
        validate=[
            validate.Range(0, MAX_COST, error="Kostnaden måste vara mellan 0 och 999 999 999 999,99 kr."),
            lambda value: (
                value == value.quantize(Decimal("0.01"))
                or _invalid("Ange kostnaden i kronor med högst två decimaler (ören).")
            ),
        ],
    )
    note = fields.String(
        load_default=None, allow_none=True, validate=[validate.Length(max=2000), NoPersonalNumber()]
    )


class ReconciliationCostInSchema(ReportedCostInputSchema):
    """The year's actual cost as the host's finance reports it (`amount`: "1 250 000,50" or a number)."""


class ReconciliationCostSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    agreement_id = fields.Integer(dump_only=True)
    year = fields.Integer(dump_only=True)
    amount = fields.Decimal(dump_only=True, as_string=True)
    note = fields.String(dump_only=True, allow_none=True)
    reported_by_id = fields.Integer(dump_only=True, allow_none=True)
    reported_at = fields.DateTime(dump_only=True)


class ReconciliationDocumentSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    kind = fields.String(dump_only=True)
    status = fields.String(dump_only=True)
    number = fields.String(dump_only=True, attribute="display_number", allow_none=True)
    total_amount = fields.Decimal(dump_only=True, as_string=True)
    original_invoice_id = fields.Integer(dump_only=True, allow_none=True)


class ReconciliationRowSchema(BaseSchema):
    buyer_municipality_id = fields.Integer(dump_only=True)
    buyer = fields.Function(lambda r: r.buyer.name, dump_only=True)
    share = fields.Decimal(dump_only=True, as_string=True)
    share_text = fields.String(dump_only=True)
    final_amount = fields.Decimal(dump_only=True, as_string=True)
    invoiced_amount = fields.Decimal(dump_only=True, as_string=True)
    difference = fields.Decimal(dump_only=True, as_string=True)
    within_threshold = fields.Boolean(dump_only=True)
    document = fields.Nested(
        ReconciliationDocumentSchema, attribute="invoice", dump_only=True, allow_none=True
    )


class ReconciliationSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    agreement_id = fields.Integer(dump_only=True)
    agreement = fields.Function(lambda r: r.agreement.number, dump_only=True)
    year = fields.Integer(dump_only=True)
    component_id = fields.Integer(dump_only=True)
    contract_version_id = fields.Integer(dump_only=True)
    actual_cost = fields.Decimal(dump_only=True, as_string=True)
    threshold = fields.Decimal(dump_only=True, as_string=True, allow_none=True)
    basis_text = fields.String(dump_only=True)
    status = fields.String(dump_only=True)
    computed_at = fields.DateTime(dump_only=True)
    approved_at = fields.DateTime(dump_only=True, allow_none=True)


class ReconciliationDetailSchema(ReconciliationSchema):
    rows = fields.List(fields.Nested(ReconciliationRowSchema), dump_only=True)


class ReconciliationQuerySchema(QuerySchema):
    year = fields.Integer(load_default=None)
    agreement_id = fields.Integer(load_default=None)
