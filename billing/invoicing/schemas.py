"""marshmallow schemas of invoicing: runs, invoices and their lines (out), the run, credit and payment
requests (in), and the list filters. The pages validate with the same schemas."""

from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema
from sqlalchemy.orm import object_session

from billing.models import InvoiceKind, InvoiceStatus, PeriodKind, RunStatus
from core.personal_numbers import NoPersonalNumber
from core.schemas import BaseSchema, BlankToNoneMixin, Id, QuerySchema

_PERIOD_DESCRIPTION = "Månad 2026-10, kvartal 2026-Q4 eller år 2026"


class InvoicePartySchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    kommunkod = fields.String(dump_only=True)
    name = fields.String(dump_only=True)


class InvoiceAgreementSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    number = fields.String(dump_only=True)
    title = fields.String(dump_only=True)


class VatRowSchema(BaseSchema):
    category = fields.String(dump_only=True)
    rate = fields.Decimal(dump_only=True, as_string=True)
    exemption_reason_code = fields.String(dump_only=True, allow_none=True)
    exemption_reason = fields.String(dump_only=True, allow_none=True)
    taxable_amount = fields.Decimal(dump_only=True, as_string=True)
    vat_amount = fields.Decimal(dump_only=True, as_string=True)


class InvoiceLineSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    position = fields.Integer(dump_only=True)
    service_type_code = fields.String(dump_only=True, allow_none=True)
    description = fields.String(dump_only=True)
    computation = fields.String(dump_only=True)
    quantity = fields.Decimal(dump_only=True, as_string=True)
    unit = fields.String(dump_only=True)
    unit_price = fields.Decimal(dump_only=True, as_string=True)
    amount = fields.Decimal(dump_only=True, as_string=True)
    vat_category = fields.String(dump_only=True)
    vat_rate = fields.Decimal(dump_only=True, as_string=True)
    vat_exemption_reason_code = fields.String(dump_only=True, allow_none=True)
    vat_exemption_reason = fields.String(dump_only=True, allow_none=True)
    credited_line_id = fields.Integer(dump_only=True, allow_none=True)


class InvoiceSchema(BaseSchema):
    """An invoice or credit note (list representation)."""

    id = fields.Integer(dump_only=True)
    kind = fields.String(dump_only=True)
    status = fields.String(dump_only=True)
    number = fields.String(dump_only=True, attribute="display_number", allow_none=True)
    series = fields.Function(lambda i: i.series.code if i.series else None, dump_only=True)
    sequence_number = fields.Integer(dump_only=True, attribute="number", allow_none=True)
    run_id = fields.Integer(dump_only=True, allow_none=True)
    charge_kind = fields.String(dump_only=True)
    vat_group = fields.String(dump_only=True)
    seller = fields.Nested(InvoicePartySchema, dump_only=True)
    buyer = fields.Nested(InvoicePartySchema, dump_only=True)
    agreement = fields.Nested(InvoiceAgreementSchema, dump_only=True)
    contract_version_id = fields.Integer(dump_only=True, allow_none=True)
    period_start = fields.Date(dump_only=True)
    period_end = fields.Date(dump_only=True)
    issue_date = fields.Date(dump_only=True, allow_none=True)
    due_date = fields.Date(dump_only=True, allow_none=True)
    payment_terms_days = fields.Integer(dump_only=True)
    ocr = fields.String(dump_only=True, allow_none=True)
    buyer_reference = fields.String(dump_only=True, allow_none=True)
    currency = fields.String(dump_only=True)
    net_amount = fields.Decimal(dump_only=True, as_string=True)
    vat_amount = fields.Decimal(dump_only=True, as_string=True)
    total_amount = fields.Decimal(dump_only=True, as_string=True)
    original_invoice_id = fields.Integer(dump_only=True, allow_none=True)
    credit_reason = fields.String(dump_only=True, allow_none=True)
    note = fields.String(dump_only=True, allow_none=True)
    approved_at = fields.DateTime(dump_only=True, allow_none=True)
    issued_at = fields.DateTime(dump_only=True, allow_none=True)
    paid_on = fields.Date(dump_only=True, allow_none=True)


class InvoiceWithLinesSchema(InvoiceSchema):
    """An invoice with its lines and VAT summary (a run's preview)."""

    lines = fields.List(fields.Nested(InvoiceLineSchema), dump_only=True)
    vat_summary = fields.Method("_vat_summary", dump_only=True)

    def _vat_summary(self, invoice):
        from billing.invoicing.services import vat_summary

        return VatRowSchema(many=True).dump(vat_summary(invoice.lines))


class InvoiceDetailSchema(InvoiceWithLinesSchema):
    """An invoice with its lines, VAT summary and the credit notes that refer to it."""

    credit_note_ids = fields.Method("_credit_note_ids", dump_only=True)

    def _credit_note_ids(self, invoice):
        from billing.invoicing.services import credit_notes_of

        return [c.id for c in credit_notes_of(object_session(invoice), invoice)]


class RunProblemSchema(BaseSchema):
    agreement_id = fields.Integer(dump_only=True)
    buyer_municipality_id = fields.Integer(dump_only=True, allow_none=True)
    message = fields.String(dump_only=True)


class InvoiceRunSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    status = fields.String(dump_only=True)
    seller = fields.Nested(InvoicePartySchema, dump_only=True)
    period_kind = fields.String(dump_only=True)
    period = fields.Function(lambda r: _period_code(r), dump_only=True)
    period_start = fields.Date(dump_only=True)
    period_end = fields.Date(dump_only=True)
    agreement_id = fields.Integer(dump_only=True, allow_none=True)
    buyer_municipality_id = fields.Integer(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)
    computed_at = fields.DateTime(dump_only=True, allow_none=True)
    approved_at = fields.DateTime(dump_only=True, allow_none=True)
    issued_at = fields.DateTime(dump_only=True, allow_none=True)
    invoice_count = fields.Function(lambda r: len(r.invoices), dump_only=True)
    problem_count = fields.Function(lambda r: len(r.problems or []), dump_only=True)


class InvoiceRunDetailSchema(InvoiceRunSchema):
    invoices = fields.List(fields.Nested(InvoiceWithLinesSchema), dump_only=True)
    problems = fields.Function(lambda r: r.problems or [], dump_only=True)


def _period_code(run) -> str:
    from billing.invoicing.services import run_period

    return run_period(run).code


class InvoiceRunCreateSchema(BlankToNoneMixin, BaseSchema):
    """A new run: the period as typed (2026-10, 2026-Q4, 2026), or its kind and first day."""

    period = fields.String(load_default=None, metadata={"description": _PERIOD_DESCRIPTION})
    period_kind = fields.String(
        load_default=None, validate=validate.OneOf([k.value for k in PeriodKind], error="Okänd periodtyp.")
    )
    period_start = fields.Date(load_default=None)
    agreement_id = Id(load_default=None, allow_none=True)
    buyer_municipality_id = Id(load_default=None, allow_none=True)

    @validates_schema
    def _one_period(self, data, **kwargs):
        if data.get("period") is None and (
            data.get("period_kind") is None or data.get("period_start") is None
        ):
            raise ValidationError(
                "Ange perioden (t.ex. 2026-10, 2026-Q4 eller 2026), eller periodtyp och första dag.", "period"
            )


class RunApproveSchema(BaseSchema):
    confirm_problems = fields.Boolean(
        load_default=False,
        metadata={"description": "Sant: ekonomi har läst körningens problem och godkänner ändå"},
    )


class RunQuerySchema(QuerySchema):
    status = fields.String(
        load_default=None, validate=validate.OneOf([s.value for s in RunStatus], error="Okänd status.")
    )


class CreditSchema(BaseSchema):
    reason = fields.String(required=True, validate=[validate.Length(min=1, max=2000), NoPersonalNumber()])
    line_ids = fields.List(
        Id(),
        load_default=None,
        allow_none=True,
        metadata={"description": "Raderna att kreditera; utelämnas för hela fakturan"},
    )


class PaymentSchema(BaseSchema):
    paid_on = fields.Date(
        required=True, allow_none=True, metadata={"description": "Betaldatum; null markerar obetald"}
    )


class NoteSchema(BaseSchema):
    note = fields.String(
        required=True, allow_none=True, validate=[validate.Length(max=2000), NoPersonalNumber()]
    )


class InvoiceQuerySchema(QuerySchema):
    direction = fields.String(
        load_default=None,
        validate=validate.OneOf(["issued", "received"], error="Välj issued eller received."),
        metadata={"description": "issued: vi är säljare; received: vi är köpare"},
    )
    status = fields.String(
        load_default=None, validate=validate.OneOf([s.value for s in InvoiceStatus], error="Okänd status.")
    )
    kind = fields.String(
        load_default=None, validate=validate.OneOf([k.value for k in InvoiceKind], error="Okänd fakturatyp.")
    )
    agreement_id = Id(load_default=None)
    counterpart_id = Id(load_default=None, metadata={"description": "Motpartens kommun-id"})
    period = fields.String(load_default=None, metadata={"description": _PERIOD_DESCRIPTION})
    paid = fields.Boolean(load_default=None, metadata={"description": "Sant: betalda; falskt: obetalda"})
    run_id = Id(load_default=None)
