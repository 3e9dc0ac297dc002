"""marshmallow schemas of indexing: the year to index (API and page), the preview, the amendment
created, and the adjustments billing picks up."""

from __future__ import annotations

from marshmallow import fields, validate

from contracts.indexing.services import MAX_YEAR, MIN_YEAR, component_label
from core.formatting import local_today
from core.schemas import BaseSchema, Id, QuerySchema

_YEAR = validate.Range(MIN_YEAR, MAX_YEAR, error=f"Ange ett år mellan {MIN_YEAR} och {MAX_YEAR}.")
_YEAR_ERRORS = {"invalid": "Ange året som ett heltal, t.ex. 2027."}


def next_year() -> int:
    return local_today().year + 1


def _money(**kwargs) -> fields.Decimal:
    return fields.Decimal(as_string=True, places=2, dump_only=True, **kwargs)


def _percent(**kwargs) -> fields.Decimal:
    return fields.Decimal(as_string=True, places=4, dump_only=True, **kwargs)


# --- Input --------------------------------------------------------------------------------------


class IndexationQuerySchema(QuerySchema):
    year = fields.Integer(
        load_default=next_year,
        validate=_YEAR,
        error_messages=_YEAR_ERRORS,
        metadata={"description": "Året som de nya priserna gäller (standard: nästa år)"},
    )


class IndexationApplySchema(BaseSchema):
    year = fields.Integer(
        required=True,
        validate=_YEAR,
        error_messages={**_YEAR_ERRORS, "required": "Ange året som de nya priserna ska gälla."},
        metadata={"description": "Året som de nya priserna gäller"},
    )


class IndexAdjustmentQuerySchema(QuerySchema):
    agreement_id = Id(load_default=None, allow_none=True, metadata={"description": "Bara detta avtal"})
    year = fields.Integer(
        load_default=None,
        allow_none=True,
        validate=_YEAR,
        error_messages=_YEAR_ERRORS,
        metadata={"description": "Bara priser för detta år"},
    )


# --- Output -------------------------------------------------------------------------------------


class IndexationRowSchema(BaseSchema):
    component_id = fields.Integer(dump_only=True, attribute="component.id")
    model = fields.String(dump_only=True, attribute="component.model")
    service_type = fields.String(dump_only=True, attribute="component.service_type.name")
    component_label = fields.String(dump_only=True)
    case_type = fields.String(dump_only=True)
    old_year = fields.Integer(dump_only=True, attribute="old_price.year")
    old_price = _money(attribute="result.old_price")
    percent = _percent(attribute="result.percent")
    exact_new_price = fields.Decimal(as_string=True, dump_only=True, attribute="result.exact_new_price")
    new_price = _money(attribute="result.new_price")
    difference = _money(attribute="result.difference")
    rounding = fields.String(dump_only=True, attribute="result.rounding")


class IndexationIndexSchema(BaseSchema):
    kind = fields.String(dump_only=True)
    year = fields.Integer(dump_only=True)
    percent = _percent()
    status = fields.String(dump_only=True)
    register_edition = fields.String(dump_only=True, attribute="edition")


class IndexationPreviewSchema(BaseSchema):
    version_id = fields.Integer(dump_only=True, attribute="version.id")
    year = fields.Integer(dump_only=True)
    effective_from = fields.Date(dump_only=True)
    edition = fields.String(dump_only=True, metadata={"description": "Utgåvan enligt avtalets indexklausul"})
    index = fields.Nested(IndexationIndexSchema, dump_only=True, attribute="index_value")
    rounding = fields.String(dump_only=True)
    rows = fields.List(fields.Nested(IndexationRowSchema), dump_only=True)
    may_apply = fields.Boolean(dump_only=True)
    refusals = fields.List(fields.String(), dump_only=True)


class PriceIndexationSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    price_id = fields.Integer(dump_only=True)
    component_label = fields.Function(lambda item: component_label(item.price.component), dump_only=True)
    case_type = fields.String(dump_only=True, attribute="price.case_type")
    year = fields.Integer(dump_only=True, attribute="price.year")
    index_value_id = fields.Integer(dump_only=True)
    old_amount = _money()
    percent = _percent()
    index_status = fields.String(dump_only=True)
    rounding = fields.String(dump_only=True)
    new_amount = _money()


class IndexationAmendmentSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    agreement_id = fields.Integer(dump_only=True)
    number = fields.Integer(dump_only=True)
    title = fields.String(dump_only=True)
    effective_from = fields.Date(dump_only=True)
    status = fields.String(dump_only=True)
    change_summary = fields.String(dump_only=True)
    based_on_id = fields.Integer(dump_only=True)
    price_indexations = fields.List(fields.Nested(PriceIndexationSchema), dump_only=True)


class IndexAdjustmentSchema(BaseSchema):
    indexation_id = fields.Integer(dump_only=True, attribute="indexation.id")
    agreement_id = fields.Integer(dump_only=True, attribute="agreement.id")
    agreement_number = fields.String(dump_only=True, attribute="agreement.number")
    version_id = fields.Integer(dump_only=True, attribute="version.id")
    version_number = fields.Integer(dump_only=True, attribute="version.number")
    price_id = fields.Integer(dump_only=True, attribute="indexation.price_id")
    component_label = fields.String(dump_only=True)
    case_type = fields.String(dump_only=True)
    year = fields.Integer(dump_only=True)
    index = fields.String(dump_only=True, attribute="index_value.kind")
    index_value_id = fields.Integer(dump_only=True, attribute="index_value.id")
    percent_used = _percent()
    current_percent = _percent()
    status_used = fields.String(dump_only=True)
    current_status = fields.String(dump_only=True)
    is_final = fields.Boolean(dump_only=True)
    percent_changed = fields.Boolean(dump_only=True)
    price_used = _money()
    recomputed_price = _money()
    difference = _money(
        metadata={"description": "Per enhet: positiv = fakturera köparen, negativ = kreditera"}
    )
    rounding = fields.String(dump_only=True, attribute="indexation.rounding")
    last_revised_at = fields.DateTime(dump_only=True, allow_none=True)
