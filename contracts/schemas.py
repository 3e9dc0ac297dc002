"""marshmallow schemas of the index values register and the indexation preview: API representations
and the field rules shared with the HTML forms. Rules that need the database (one value per index
and year, what a revision may change) live in services.py."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from marshmallow import ValidationError, fields, post_load, validate

from contracts.indexation import ROUNDING_LABELS, Rounding
from contracts.models import (
    INDEX_KIND_LABELS,
    INDEX_STATUS_LABELS,
    MAX_PERCENT,
    MIN_PERCENT,
    IndexKind,
    IndexStatus,
)
from core.personal_numbers import NoPersonalNumber
from core.schemas import MAX_DIGITS, BaseSchema, BlankToNoneMixin, QuerySchema, SwedishDecimal

MAX_PRICE = Decimal("999999999999.99")  # Numeric(14, 2)
def _enum(enum_cls, labels: dict, **kwargs) -> fields.Enum:
    choices = ", ".join(f"{member.value} ({labels[member]})" for member in enum_cls)
    return fields.Enum(
        enum_cls,
        by_value=True,
        error_messages={"unknown": f"Välj ett av: {choices}."},
        metadata={"description": "; ".join(f"`{m.value}`: {labels[m]}" for m in enum_cls)},
        **kwargs,
    )


def _at_most_decimals(places: int):
    quantum = Decimal(1).scaleb(-places)

    def check(value: Decimal) -> None:
        try:
            exact = value == value.quantize(quantum)
        except InvalidOperation:  # too many digits to quantize at all
            raise ValidationError(f"Talet har för många siffror (högst {MAX_DIGITS}).") from None
        if not exact:
            raise ValidationError(f"Ange högst {places} decimaler.")

    return check


def _percent(**kwargs) -> SwedishDecimal:
    return SwedishDecimal(
        validate=[
            validate.Range(
                min=MIN_PERCENT,
                max=MAX_PERCENT,
                error="Indexet ska vara mellan -50 och 100 procent.",
            ),
            _at_most_decimals(4),
        ],
        metadata={"description": "Förändring i procent, t.ex. 3,1 för 3,1 % (högst fyra decimaler)"},
        **kwargs,
    )


def _text(max_length: int, required: bool = False, **kwargs) -> fields.String:
    lengths = validate.Length(min=1, max=max_length) if required else validate.Length(max=max_length)
    if required:
        return fields.String(required=True, validate=[lengths, NoPersonalNumber()], **kwargs)
    return fields.String(allow_none=True, validate=[lengths, NoPersonalNumber()], **kwargs)


class _StripStrings:
    @post_load
    def _strip(self, data, **kwargs):
        return {k: (v.strip() if type(v) is str else v) for k, v in data.items()}


_YEAR = validate.Range(1900, 2200, error="Ange ett år mellan 1900 och 2200.")


# --- Input --------------------------------------------------------------------------------------


class IndexValueCreateSchema(_StripStrings, BlankToNoneMixin, BaseSchema):
    kind = _enum(IndexKind, INDEX_KIND_LABELS, required=True)
    edition = _text(100, required=True, metadata={"description": "Utgåva, t.ex. ”PKV oktober 2025”"})
    year = fields.Integer(required=True, validate=_YEAR, metadata={"description": "Året indexet gäller för"})
    percent = _percent(required=True)
    status = _enum(IndexStatus, INDEX_STATUS_LABELS, load_default=IndexStatus.PRELIMINARY)
    source = _text(
        200, required=True, metadata={"description": "Var värdet kommer ifrån, t.ex. SKR cirkulär"}
    )
    published_on = fields.Date(allow_none=True, metadata={"description": "Publiceringsdag"})


class IndexRevisionCreateSchema(_StripStrings, BlankToNoneMixin, BaseSchema):
    percent = _percent(required=True)
    status = _enum(IndexStatus, INDEX_STATUS_LABELS, required=True)
    reason = _text(1000, metadata={"description": "Skäl; krävs för att rätta ett slutligt värde"})


class IndexValueQuerySchema(QuerySchema):
    kind = _enum(IndexKind, INDEX_KIND_LABELS, load_default=None, allow_none=True)
    year = fields.Integer(load_default=None, allow_none=True, validate=_YEAR)
    status = _enum(IndexStatus, INDEX_STATUS_LABELS, load_default=None, allow_none=True)


class IndexPreviewQuerySchema(BlankToNoneMixin, QuerySchema):
    price = SwedishDecimal(
        required=True,
        validate=[
            validate.Range(min=0, max=MAX_PRICE, error="Ange ett pris från 0 kr."),
            _at_most_decimals(2),
        ],
        metadata={"description": "Föregående års pris i kronor, t.ex. 1250,00"},
    )
    index = _enum(IndexKind, INDEX_KIND_LABELS, required=True)
    year = fields.Integer(
        required=True, validate=_YEAR, metadata={"description": "Året det nya priset gäller"}
    )
    rounding = _enum(Rounding, ROUNDING_LABELS, load_default=Rounding.ORE)


# --- Output -------------------------------------------------------------------------------------


def _percent_out(**kwargs) -> fields.Decimal:
    return fields.Decimal(as_string=True, places=4, dump_only=True, **kwargs)


class IndexRevisionSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    kind = fields.String(dump_only=True)
    kind_label = fields.String(dump_only=True)
    old_percent = _percent_out()
    new_percent = _percent_out()
    old_status = fields.String(dump_only=True)
    new_status = fields.String(dump_only=True)
    reason = fields.String(dump_only=True, allow_none=True)
    revised_at = fields.DateTime(dump_only=True)
    revised_by = fields.Function(lambda r: r.revised_by.name if r.revised_by else None, dump_only=True)


class IndexValueSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    kind = fields.String(dump_only=True)
    kind_label = fields.String(dump_only=True)
    edition = fields.String(dump_only=True)
    year = fields.Integer(dump_only=True)
    percent = _percent_out()
    status = fields.String(dump_only=True)
    status_label = fields.String(dump_only=True)
    source = fields.String(dump_only=True)
    published_on = fields.Date(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)
    created_by = fields.Function(lambda v: v.created_by.name if v.created_by else None, dump_only=True)
    revisions = fields.List(fields.Nested(IndexRevisionSchema), dump_only=True)


class IndexPreviewSchema(BaseSchema):
    index = fields.String(dump_only=True, attribute="value.kind")
    year = fields.Integer(dump_only=True, attribute="value.year")
    edition = fields.String(dump_only=True, attribute="value.edition")
    status = fields.String(dump_only=True, attribute="value.status")
    percent = _percent_out(attribute="result.percent")
    factor = fields.Decimal(as_string=True, dump_only=True, attribute="result.factor")
    old_price = fields.Decimal(as_string=True, places=2, dump_only=True, attribute="result.old_price")
    exact_new_price = fields.Decimal(as_string=True, dump_only=True, attribute="result.exact_new_price")
    new_price = fields.Decimal(as_string=True, places=2, dump_only=True, attribute="result.new_price")
    difference = fields.Decimal(as_string=True, places=2, dump_only=True, attribute="result.difference")
    rounding = fields.String(dump_only=True, attribute="result.rounding")
