"""marshmallow schemas of the deadlines API."""

from __future__ import annotations

from marshmallow import fields, validate

from core.schemas import BaseSchema, QuerySchema


class DeadlineQuerySchema(QuerySchema):
    horizon_days = fields.Integer(
        load_default=90,
        validate=validate.Range(min=0, max=366),
        metadata={"description": "Hur många dagar framåt (0–366); standard 90"},
    )


class DeadlineSchema(BaseSchema):
    date = fields.Date(dump_only=True)
    kind = fields.String(dump_only=True)
    kind_label = fields.String(dump_only=True)
    severity = fields.String(
        dump_only=True, metadata={"description": "overdue (passerad), soon (inom 30 dagar) eller info"}
    )
    severity_label = fields.String(dump_only=True)
    group = fields.String(dump_only=True)
    title = fields.String(dump_only=True)
    detail = fields.String(dump_only=True, allow_none=True)
    url = fields.String(
        dump_only=True, allow_none=True, metadata={"description": "Sidan i Samverkan, om den finns"}
    )
    uid = fields.String(dump_only=True, metadata={"description": "Stabilt id, samma som i kalenderflödet"})
