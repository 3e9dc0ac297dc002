"""marshmallow schemas of shared roles: API representations and the validation shared with the forms."""

from __future__ import annotations

from decimal import Decimal

from marshmallow import ValidationError, fields, post_load, validate, validates_schema

from core.personal_numbers import NoPersonalNumber
from core.schemas import BaseSchema, BlankToNoneMixin, Id, QuerySchema, SwedishDecimal
from registry.roles.costs import allocation_history, monthly_cost

MAX_MONEY = Decimal("999999999999.99")  # Numeric(14, 2)
HUNDRED = Decimal("100")


def at_most_two_decimals(value: Decimal) -> None:
    if value != value.quantize(Decimal("0.01")):
        raise ValidationError("Ange högst två decimaler.")


def _money(**kwargs) -> SwedishDecimal:
    return SwedishDecimal(validate=[validate.Range(min=0, max=MAX_MONEY), at_most_two_decimals], **kwargs)


def _po_percent(**kwargs) -> SwedishDecimal:
    return SwedishDecimal(
        validate=[validate.Range(min=0, max=HUNDRED), at_most_two_decimals],
        metadata={"description": "Personalomkostnadspålägg (PO) i procent av lönen"},
        **kwargs,
    )


def _title(**kwargs) -> fields.String:
    return fields.String(validate=[validate.Length(min=1, max=200), NoPersonalNumber()], **kwargs)


def _holder(**kwargs) -> fields.String:
    return fields.String(
        allow_none=True,
        validate=[validate.Length(max=200), NoPersonalNumber()],
        metadata={"description": "Den anställdas namn (aldrig en klient)"},
        **kwargs,
    )


def _delegations(**kwargs) -> fields.String:
    return fields.String(
        allow_none=True,
        validate=[validate.Length(max=5000), NoPersonalNumber()],
        metadata={"description": "Delegationer som tjänsten har, i text"},
        **kwargs,
    )


class _PeriodOrder:
    """Period order, and an empty overhead meaning none (the form says: leave it empty for 0)."""

    @post_load
    def _no_overhead_is_zero(self, data, **kwargs):
        if "overhead_per_month" in data and data["overhead_per_month"] is None:
            data["overhead_per_month"] = Decimal("0.00")
        return data

    @validates_schema
    def _period_order(self, data, **kwargs):
        start, end = data.get("period_start"), data.get("period_end")
        if start is not None and end is not None and end < start:
            raise ValidationError("Slutdatum får inte vara före startdatum.", "period_end")


class AllocationInputSchema(BaseSchema):
    municipality_id = Id(required=True)
    percent = SwedishDecimal(
        required=True,
        validate=[
            validate.Range(
                min=0,
                max=HUNDRED,
                min_inclusive=False,
                error="Andelen måste vara större än 0 och högst 100 %.",
            ),
            at_most_two_decimals,
        ],
    )


def _allocation_list(**kwargs) -> fields.List:
    return fields.List(
        fields.Nested(AllocationInputSchema),
        validate=validate.Length(min=1, error="Ange minst en kommuns andel."),
        **kwargs,
    )


class AllocationSetCreateSchema(BaseSchema):
    """A new allocation set: from `valid_from`, each municipality's share in percent (sum exactly 100)."""

    valid_from = fields.Date(required=True)
    allocations = _allocation_list(required=True)


class SharedRoleCreateSchema(_PeriodOrder, BlankToNoneMixin, BaseSchema):
    agreement_id = Id(required=True)
    employer_municipality_id = Id(
        load_default=None, metadata={"description": "Arbetsgivarkommunen; utelämnad: den egna kommunen"}
    )
    title = _title(required=True)
    holder_name = _holder(load_default=None)
    period_start = fields.Date(required=True)
    period_end = fields.Date(allow_none=True, load_default=None)
    salary_per_month = _money(required=True)
    po_percent = _po_percent(required=True)
    overhead_per_month = _money(allow_none=True, load_default=Decimal("0.00"))
    delegations = _delegations(load_default=None)
    allocations = _allocation_list(
        required=True, metadata={"description": "Första fördelningen; gäller från periodens början"}
    )


class SharedRoleUpdateSchema(_PeriodOrder, BlankToNoneMixin, BaseSchema):
    """Editable fields; absent fields are left alone. Agreement and employer are fixed at registration,
    and allocations change only through a new dated set."""

    title = _title()
    holder_name = _holder()
    period_start = fields.Date()
    period_end = fields.Date(allow_none=True)
    salary_per_month = _money()
    po_percent = _po_percent()
    overhead_per_month = _money(allow_none=True)
    delegations = _delegations()


class SharedRoleQuerySchema(QuerySchema):
    q = fields.String(load_default=None, metadata={"description": "Sök på titel eller innehavare"})
    agreement_id = Id(load_default=None)


class AllocationQuerySchema(QuerySchema):
    on = fields.Date(load_default=None, metadata={"description": "Datum (ÅÅÅÅ-MM-DD); utelämnat: i dag"})


# --- Output ---------------------------------------------------------------------------------------


def _money_out(**kwargs) -> fields.Decimal:
    return fields.Decimal(as_string=True, places=2, dump_only=True, **kwargs)


class ShareSchema(BaseSchema):
    municipality_id = Id(dump_only=True)
    municipality = fields.String(dump_only=True, attribute="municipality_name")
    percent = _money_out()
    monthly_share = _money_out(
        attribute="amount", metadata={"description": "Andel av månadskostnaden, avrundad till öre"}
    )
    rounding_adjustment = _money_out(
        metadata={"description": "Öresutjämning lagd på denna kommun så att andelarna blir exakt kostnaden"}
    )


class AllocationSetSchema(BaseSchema):
    valid_from = fields.Date(dump_only=True)
    valid_to = fields.Date(dump_only=True, allow_none=True)
    monthly_cost = _money_out(attribute="split.monthly_cost")
    shares = fields.List(fields.Nested(ShareSchema), dump_only=True, attribute="split.shares")


class SharedRoleSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    agreement_id = Id(dump_only=True)
    agreement_number = fields.String(dump_only=True, attribute="agreement.number")
    title = fields.String(dump_only=True)
    employer_municipality_id = Id(dump_only=True)
    employer = fields.String(dump_only=True, attribute="employer.name")
    holder_name = fields.String(dump_only=True, allow_none=True)
    period_start = fields.Date(dump_only=True)
    period_end = fields.Date(dump_only=True, allow_none=True)
    salary_per_month = _money_out()
    po_percent = _money_out()
    overhead_per_month = _money_out()
    monthly_cost = fields.Method(
        "_monthly_cost",
        dump_only=True,
        metadata={"description": "Lön × (1 + PO-pålägg/100) + overhead per månad, avrundad till öre"},
    )
    delegations = fields.String(dump_only=True, allow_none=True)
    allocation_sets = fields.Method(
        "_allocation_sets", dump_only=True, metadata={"description": "Fördelningarnas historik, äldst först"}
    )
    created_at = fields.DateTime(dump_only=True)

    def _monthly_cost(self, role) -> str:
        return str(monthly_cost(role))

    def _allocation_sets(self, role) -> list[dict]:
        return AllocationSetSchema(many=True).dump(allocation_history(role))
