"""marshmallow schemas of the overviews: the year filter (pages: `?ar=`, API: `?year=`) and the JSON
representations (amounts as strings, never floats)."""

from __future__ import annotations

from marshmallow import fields, validate

from core.schemas import BaseSchema, QuerySchema

_YEAR = validate.Range(2000, 2100, error="Året ska vara mellan 2000 och 2100.")


def _money(**kwargs):
    return fields.Decimal(dump_only=True, as_string=True, places=2, **kwargs)


class YearQuerySchema(QuerySchema):
    """The pages' year (`?ar=2025`); none: the current year."""

    year = fields.Integer(data_key="ar", load_default=None, allow_none=True, validate=_YEAR)


class OverviewYearQuerySchema(QuerySchema):
    year = fields.Integer(
        load_default=None, allow_none=True, validate=_YEAR, metadata={"description": "År; standard: i år"}
    )


class OverviewYearMoneySchema(BaseSchema):
    year = fields.Integer(dump_only=True)
    money_in = _money()
    money_out = _money()
    net = _money()


class OverviewAgreementRowSchema(BaseSchema):
    agreement_id = fields.Integer(dump_only=True)
    number = fields.String(dump_only=True)
    title = fields.String(dump_only=True)
    role = fields.String(dump_only=True)
    role_label = fields.String(dump_only=True)
    counterparties = fields.List(fields.String(), dump_only=True)
    status = fields.String(dump_only=True)
    status_label = fields.String(dump_only=True)
    current_end_date = fields.Date(dump_only=True, allow_none=True)
    last_notice_date = fields.Date(dump_only=True, allow_none=True)
    years = fields.List(fields.Nested(OverviewYearMoneySchema), dump_only=True)
    followup_status = fields.String(dump_only=True)
    followup_label = fields.String(dump_only=True)


class OverviewCounterpartySchema(BaseSchema):
    municipality_id = fields.Integer(dump_only=True)
    name = fields.String(dump_only=True)
    money_in = _money()
    money_out = _money()


class OverviewDeadlineSchema(BaseSchema):
    date = fields.Date(dump_only=True)
    kind = fields.String(dump_only=True)
    kind_label = fields.String(dump_only=True)
    title = fields.String(dump_only=True)
    severity = fields.String(dump_only=True)
    detail = fields.String(dump_only=True, allow_none=True)


class OverviewReconciliationItemSchema(BaseSchema):
    reconciliation_id = fields.Integer(dump_only=True)
    agreement_id = fields.Integer(dump_only=True)
    agreement_number = fields.String(dump_only=True)
    year = fields.Integer(dump_only=True)
    status = fields.String(dump_only=True)
    status_label = fields.String(dump_only=True)
    role = fields.String(dump_only=True)
    difference = _money()


class OverviewMonthsSchema(BaseSchema):
    money_in = fields.List(fields.Decimal(as_string=True, places=2), dump_only=True, attribute="months_in")
    money_out = fields.List(fields.Decimal(as_string=True, places=2), dump_only=True, attribute="months_out")


class OverviewMunicipalitySchema(BaseSchema):
    municipality_id = fields.Integer(dump_only=True)
    municipality_name = fields.String(dump_only=True)
    kommunkod = fields.String(dump_only=True)
    year = fields.Integer(dump_only=True)
    years = fields.List(fields.Integer(), dump_only=True)
    today = fields.Date(dump_only=True)
    totals = fields.List(fields.Nested(OverviewYearMoneySchema), dump_only=True)
    months = fields.Function(lambda o: OverviewMonthsSchema().dump(o), dump_only=True)
    agreements = fields.List(fields.Nested(OverviewAgreementRowSchema), dump_only=True)
    counterparties = fields.List(fields.Nested(OverviewCounterpartySchema), dump_only=True)
    deadlines = fields.List(fields.Nested(OverviewDeadlineSchema), dump_only=True)
    followup_year = fields.Integer(dump_only=True)
    reconciliations = fields.List(fields.Nested(OverviewReconciliationItemSchema), dump_only=True)


class OverviewNationalRowSchema(BaseSchema):
    municipality_id = fields.Integer(dump_only=True)
    kommunkod = fields.String(dump_only=True)
    name = fields.String(dump_only=True)
    county_code = fields.String(dump_only=True)
    county_name = fields.String(dump_only=True)
    agreements_as_host = fields.Integer(dump_only=True)
    agreements_as_buyer = fields.Integer(dump_only=True)
    invoiced_out = _money()
    invoiced_in = _money()
    open_transfers = fields.Integer(dump_only=True)
    reportable_decisions = fields.Integer(dump_only=True)
    followups_sent = fields.Integer(dump_only=True)


class OverviewNationalTotalsSchema(BaseSchema):
    agreements_as_host = fields.Integer(dump_only=True)
    agreements_as_buyer = fields.Integer(dump_only=True)
    invoiced_out = _money()
    invoiced_in = _money()
    open_transfers = fields.Integer(dump_only=True)
    reportable_decisions = fields.Integer(dump_only=True)
    followups_sent = fields.Integer(dump_only=True)


class OverviewCountyMoneySchema(BaseSchema):
    county_code = fields.String(dump_only=True)
    county_name = fields.String(dump_only=True)
    invoiced_out = _money()


class OverviewNationalSchema(BaseSchema):
    year = fields.Integer(dump_only=True)
    today = fields.Date(dump_only=True)
    followup_year = fields.Integer(dump_only=True)
    rows = fields.List(fields.Nested(OverviewNationalRowSchema), dump_only=True)
    totals = fields.Nested(OverviewNationalTotalsSchema, dump_only=True)
    counties = fields.List(fields.Nested(OverviewCountyMoneySchema), dump_only=True)
