"""marshmallow schemas of the annual follow-up: the text sections and recommendation (pages and API
validate with the same schema: length limits, personal identity numbers refused), sending, and the
API's representation."""

from __future__ import annotations

from marshmallow import fields, post_load, validate

from billing.models import FOLLOWUP_STATUS_LABELS, RECOMMENDATION_LABELS, FollowupStatus, Recommendation
from core.personal_numbers import NoPersonalNumber
from core.schemas import BaseSchema, BlankToNoneMixin, QuerySchema

MAX_TEXT = 10_000  # characters per text section: a few pages of the report
MAX_SENT_TO = 300  # the model's column


def _text(max_length: int, required: bool = False, **kwargs) -> fields.String:
    lengths = validate.Length(min=1, max=max_length) if required else validate.Length(max=max_length)
    if required:
        return fields.String(required=True, validate=[lengths, NoPersonalNumber()], **kwargs)
    return fields.String(allow_none=True, validate=[lengths, NoPersonalNumber()], **kwargs)


def _enum(enum_cls, labels: dict, **kwargs) -> fields.Enum:
    choices = ", ".join(f"{member.value} ({labels[member]})" for member in enum_cls)
    return fields.Enum(
        enum_cls,
        by_value=True,
        error_messages={"unknown": f"Välj ett av: {choices}."},
        metadata={"description": "; ".join(f"`{m.value}`: {labels[m]}" for m in enum_cls)},
        **kwargs,
    )


class _Strip:
    @post_load
    def _strip(self, data, **kwargs):
        out = {}
        for key, value in data.items():
            if type(value) is str:
                value = value.strip() or None
            out[key] = value
        return out


class FollowupUpdateSchema(_Strip, BlankToNoneMixin, BaseSchema):
    """The text sections and the recommendation of a draft. Absent fields are kept; null or an empty
    form field clears one."""

    quality_text = _text(MAX_TEXT, metadata={"description": "Kvalitet"})
    complaints_text = _text(MAX_TEXT, metadata={"description": "Klagomål"})
    deviations_text = _text(MAX_TEXT, metadata={"description": "Avvikelser"})
    lex_sarah_text = _text(MAX_TEXT, metadata={"description": "Lex Sarah-rapporter"})
    recommendation = _enum(Recommendation, RECOMMENDATION_LABELS, allow_none=True)
    recommendation_text = _text(MAX_TEXT, metadata={"description": "Motivering av rekommendationen"})


class FollowupSendSchema(_Strip, BlankToNoneMixin, BaseSchema):
    sent_to = _text(
        MAX_SENT_TO,
        required=True,
        metadata={"description": "Mottagare, t.ex. nämnderna hos avtalets parter"},
        error_messages={
            "required": "Ange vem uppföljningen skickas till.",
            "null": "Ange vem uppföljningen skickas till.",
        },
    )


class FollowupQuerySchema(QuerySchema):
    year = fields.Integer(validate=validate.Range(2000, 2100), metadata={"description": "Bara det året"})


class FollowupSchema(BaseSchema):
    """A follow-up of an agreement and year: its state, texts, and the figures (as sent for a sent one,
    computed now for a draft). Money is text with a decimal point ("1234.50"), dates ISO."""

    agreement_id = fields.Integer(dump_only=True)
    agreement_number = fields.String(dump_only=True)
    year = fields.Integer(dump_only=True)
    id = fields.Integer(dump_only=True, allow_none=True, metadata={"description": "null: inte påbörjad"})
    status = fields.String(dump_only=True, metadata={"description": "not_started, draft eller sent"})
    status_label = fields.String(dump_only=True)
    may_edit = fields.Boolean(dump_only=True)
    quality_text = fields.String(dump_only=True, allow_none=True)
    complaints_text = fields.String(dump_only=True, allow_none=True)
    deviations_text = fields.String(dump_only=True, allow_none=True)
    lex_sarah_text = fields.String(dump_only=True, allow_none=True)
    recommendation = fields.String(dump_only=True, allow_none=True)
    recommendation_label = fields.String(dump_only=True, allow_none=True)
    recommendation_text = fields.String(dump_only=True, allow_none=True)
    sent_at = fields.DateTime(dump_only=True, allow_none=True)
    sent_by = fields.String(dump_only=True, allow_none=True)
    sent_to = fields.String(dump_only=True, allow_none=True)
    snapshot_sha256 = fields.String(dump_only=True, allow_none=True)
    snapshot_size = fields.Integer(dump_only=True, allow_none=True)
    figures = fields.Dict(dump_only=True)


class FollowupListItemSchema(BaseSchema):
    agreement_id = fields.Integer(dump_only=True)
    agreement_number = fields.String(dump_only=True)
    agreement_title = fields.String(dump_only=True)
    year = fields.Integer(dump_only=True)
    status = fields.String(dump_only=True)
    status_label = fields.String(dump_only=True)


STATUS_LABELS = {
    "not_started": "Inte påbörjad",
    **{s.value: FOLLOWUP_STATUS_LABELS[s] for s in FollowupStatus},
}
