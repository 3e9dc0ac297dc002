"""marshmallow schemas of the index values register and the indexation preview: API representations
and the field rules shared with the HTML forms. Rules that need the database (one value per index
and year, what a revision may change) live in services.py."""

from __future__ import annotations

import re
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
from core.schemas import BaseSchema, BlankToNoneMixin, QuerySchema
from registry.roles.schemas import SwedishDecimal

MAX_PRICE = Decimal("999999999999.99")  # Numeric(14, 2)
MAX_DIGITS = 20  # more than any column here holds (Numeric(14, 2)); longer is a typing error

_SPACES = (" ", "\u00a0", "\u202f", "\u2009")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)")


class PlainDecimal(SwedishDecimal):
    """A number as people write it in Sweden: ASCII digits, one decimal comma (or point), spaces between
    thousands (`1 250,50`). Exponents (`1e10` would silently be 10 000 000 000), NaN and infinities,
    Python's underscores (`1_000`) and digits of other scripts are refused with a Swedish message, and so
    are numbers with more digits than any amount or percent can have (the decimals checks would fail
    on them with a decimal.InvalidOperation). JSON numbers are read the same way."""

    default_error_messages = {
        "plain": "Ange talet med siffror och högst ett decimaltecken, t.ex. 1 250,50 (inte 1e10).",
        "too_long": f"Talet har för många siffror (högst {MAX_DIGITS}).",
    }

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            raise self.make_error("invalid")
        if isinstance(value, Decimal):
            if not value.is_finite():
                raise self.make_error("special")
            text = format(value, "f")
        elif isinstance(value, int | float):
            text = repr(value)  # 1e+20 and nan stay recognisable, and are refused below
        elif isinstance(value, str):
            text = value
            for space in _SPACES:
                text = text.replace(space, "")
        else:
            raise self.make_error("invalid")
        if not _PLAIN_NUMBER.fullmatch(text):
            raise self.make_error("plain")
        if sum(c.isdigit() for c in text) > MAX_DIGITS:
            raise self.make_error("too_long")
        return super()._deserialize(text.replace(",", "."), attr, data, **kwargs)


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


def _percent(**kwargs) -> PlainDecimal:
    return PlainDecimal(
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
    price = PlainDecimal(
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
