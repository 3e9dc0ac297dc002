"""marshmallow schemas of decisions: the API representations and the validation shared with the forms.

Every free-text field refuses personal identity numbers. Rules that need today's date or other rows
(a date in the future, an execution before the decision) are checked by the services.
"""

from __future__ import annotations

from marshmallow import ValidationError, fields, post_load, validate, validates_schema

from core.personal_numbers import NoPersonalNumber
from core.schemas import BaseSchema, BlankToNoneMixin, Id, QuerySchema
from registry.dates import three_months_after
from registry.decisions.watch import STATE_KEYS, WatchRole, parse_ivo_person_ref

INSATS_MAX = 200  # Decision.insats_type
NOTE_MAX = 500  # DecisionOffer.note, DecisionInterruption.reason
REASON_MAX = 2000  # delay and closing reasons (Text columns; a paragraph is plenty for IVO)


class _StripStrings:
    """Surrounding white space is never meant; inner line breaks in reasons are kept."""

    @post_load
    def _strip(self, data, **kwargs):
        return {k: v.strip() if isinstance(v, str) else v for k, v in data.items()}


def _text(max_length: int, required: bool = False, **kwargs) -> fields.String:
    validators = [validate.Length(min=1, max=max_length), NoPersonalNumber()]
    if required:
        return fields.String(required=True, validate=validators, **kwargs)
    return fields.String(allow_none=True, validate=validators, **kwargs)


class IvoPersonRefField(fields.String):
    """IVO's person reference, YYYYMMDD-X123, loaded in normalised form (upper-case letter)."""

    def _deserialize(self, value, attr, data, **kwargs):
        return parse_ivo_person_ref(super()._deserialize(value, attr, data, **kwargs)).value


def _ivo_ref(**kwargs) -> IvoPersonRefField:
    return IvoPersonRefField(
        allow_none=True,
        metadata={
            "description": "IVO:s personreferens ÅÅÅÅMMDD-X123 (födelsedatum, bokstav, tre siffror; "
            "sista siffran jämn för kvinna, udda för man). Aldrig ett personnummer."
        },
        **kwargs,
    )


_LEGAL_BASIS_MESSAGES = {"required": "Välj lagrum.", "null": "Välj lagrum."}


# --- Input ------------------------------------------------------------------------------------------


class DecisionCreateSchema(_StripStrings, BlankToNoneMixin, BaseSchema):
    """A favourable decision under a case transfer or, without a transfer, under an agreement."""

    transfer_id = Id(allow_none=True, load_default=None)
    agreement_id = Id(allow_none=True, load_default=None)
    legal_basis = fields.String(
        required=True,
        error_messages=_LEGAL_BASIS_MESSAGES,
        metadata={"description": "Lagrummets kod, t.ex. SOL-FAMILJEHEM (se /api/v1/decisions/legal-bases)"},
    )
    insats_type = _text(INSATS_MAX, required=True, metadata={"description": "Typ av insats"})
    decision_date = fields.Date(required=True)
    execution_date = fields.Date(allow_none=True, load_default=None)
    delay_reason = _text(REASON_MAX, load_default=None, metadata={"description": "Skäl till dröjsmål"})
    ivo_person_ref = _ivo_ref(load_default=None)

    @validates_schema
    def _one_context(self, data, **kwargs):
        if (data.get("transfer_id") is None) == (data.get("agreement_id") is None):
            raise ValidationError(
                "Ange antingen en ärendeöverlämning (transfer_id) eller ett avtal (agreement_id).",
                "transfer_id",
            )


class DecisionUpdateSchema(_StripStrings, BlankToNoneMixin, BaseSchema):
    """Corrections. Absent fields are left alone; null (an empty form field) clears an optional one."""

    legal_basis = fields.String(error_messages=_LEGAL_BASIS_MESSAGES)
    insats_type = _text(INSATS_MAX, required=False)
    decision_date = fields.Date()
    delay_reason = _text(REASON_MAX)
    ivo_person_ref = _ivo_ref()

    @validates_schema
    def _required_stay_filled(self, data, **kwargs):
        errors = {}
        for key in ("legal_basis", "insats_type", "decision_date"):
            if key in data and data[key] is None:
                errors[key] = ["Välj lagrum." if key == "legal_basis" else "Fältet får inte vara tomt."]
        if errors:
            raise ValidationError(errors)


class DecisionOfferCreateSchema(_StripStrings, BlankToNoneMixin, BaseSchema):
    offered_on = fields.Date(required=True, metadata={"description": "Dag då insatsen erbjöds"})
    declined = fields.Boolean(load_default=False, metadata={"description": "Den enskilde tackade nej"})
    note = _text(NOTE_MAX, load_default=None)


class DecisionInterruptionCreateSchema(_StripStrings, BlankToNoneMixin, BaseSchema):
    interrupted_on = fields.Date(required=True)
    reason = _text(NOTE_MAX, load_default=None, metadata={"description": "Skäl till avbrottet"})


class DecisionResumeSchema(BlankToNoneMixin, BaseSchema):
    resumed_on = fields.Date(required=True)


class DecisionExecutionSchema(BlankToNoneMixin, BaseSchema):
    execution_date = fields.Date(required=True, metadata={"description": "Dag då insatsen verkställdes"})


class DecisionCloseSchema(_StripStrings, BlankToNoneMixin, BaseSchema):
    closed_on = fields.Date(required=True)
    closing_reason = _text(REASON_MAX, required=True, metadata={"description": "Skäl till avslut"})


class DecisionQuerySchema(QuerySchema):
    state = fields.String(
        load_default=None,
        validate=validate.OneOf(STATE_KEYS, error="Okänt läge. Välj ett av: {choices}."),
        metadata={"description": "Läge i bevakningen: " + ", ".join(STATE_KEYS)},
    )
    reportable = fields.Boolean(
        load_default=False, metadata={"description": "Endast beslut som ska rapporteras till IVO"}
    )
    role = fields.Enum(
        WatchRole,
        by_value=True,
        load_default=WatchRole.ALL,
        error_messages={"unknown": "Välj responsible, performing eller all."},
        metadata={"description": "responsible: vår kommun ansvarar; performing: vår kommun utför; all"},
    )
    transfer_id = Id(load_default=None)
    agreement_id = Id(load_default=None)


class IvoReportQuerySchema(QuerySchema):
    year = fields.Integer(required=True, validate=validate.Range(2000, 2100))
    quarter = fields.Integer(
        required=True, validate=validate.Range(1, 4, error="Kvartalet ska vara 1, 2, 3 eller 4.")
    )


# --- Output -----------------------------------------------------------------------------------------


class DecisionMunicipalitySchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    kommunkod = fields.String(dump_only=True)
    name = fields.String(dump_only=True)


class DecisionLegalBasisSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    code = fields.String(dump_only=True)
    law = fields.String(dump_only=True)
    title = fields.String(dump_only=True)
    old_reference = fields.String(dump_only=True, allow_none=True)
    new_reference = fields.String(dump_only=True, allow_none=True)
    reportable = fields.Boolean(dump_only=True)
    note = fields.String(dump_only=True, allow_none=True)


class DecisionOfferSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    offered_on = fields.Date(dump_only=True)
    declined = fields.Boolean(dump_only=True)
    note = fields.String(dump_only=True, allow_none=True)


class DecisionInterruptionSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    interrupted_on = fields.Date(dump_only=True)
    resumed_on = fields.Date(dump_only=True, allow_none=True)
    reason = fields.String(dump_only=True, allow_none=True)
    deadline = fields.Function(
        lambda i: three_months_after(i.interrupted_on).isoformat(),
        dump_only=True,
        metadata={"description": "Sista dagen innan avbrottet blir rapporteringspliktigt"},
    )


def _performing(watch):
    transfer = watch.decision.transfer
    return DecisionMunicipalitySchema().dump(transfer.performing_municipality) if transfer else None


class DecisionSchema(BaseSchema):
    """A decision with its place in the three-month watch (dumped from a DecisionWatch)."""

    id = fields.Integer(attribute="decision.id", dump_only=True)
    case_reference = fields.String(dump_only=True, metadata={"description": "Pseudonym ärendereferens"})
    transfer_id = Id(attribute="decision.transfer_id", dump_only=True, allow_none=True)
    agreement_id = Id(attribute="decision.agreement_id", dump_only=True, allow_none=True)
    responsible_municipality = fields.Nested(
        DecisionMunicipalitySchema, attribute="decision.responsible_municipality", dump_only=True
    )
    performing_municipality = fields.Function(_performing, dump_only=True)
    legal_basis = fields.Nested(DecisionLegalBasisSchema, attribute="decision.legal_basis", dump_only=True)
    insats_type = fields.String(attribute="decision.insats_type", dump_only=True)
    decision_date = fields.Date(attribute="decision.decision_date", dump_only=True)
    deadline = fields.Date(
        dump_only=True, metadata={"description": "Sista dagen i den löpande tremånadersperioden"}
    )
    days_since_decision = fields.Integer(dump_only=True)
    state = fields.String(
        attribute="state_key", dump_only=True, metadata={"description": "Läge: " + ", ".join(STATE_KEYS)}
    )
    state_label = fields.String(attribute="label", dump_only=True)
    reportable = fields.Boolean(dump_only=True, metadata={"description": "Ska rapporteras till IVO"})
    execution_date = fields.Date(attribute="decision.execution_date", dump_only=True, allow_none=True)
    delay_reason = fields.String(attribute="decision.delay_reason", dump_only=True, allow_none=True)
    closed_on = fields.Date(attribute="decision.closed_on", dump_only=True, allow_none=True)
    closing_reason = fields.String(attribute="decision.closing_reason", dump_only=True, allow_none=True)
    ivo_person_ref = fields.String(attribute="decision.ivo_person_ref", dump_only=True, allow_none=True)
    sex = fields.String(
        dump_only=True, allow_none=True, metadata={"description": "kvinna/man ur IVO-referensen"}
    )
    offers = fields.List(fields.Nested(DecisionOfferSchema), dump_only=True)
    interruptions = fields.List(fields.Nested(DecisionInterruptionSchema), dump_only=True)
    created_at = fields.DateTime(attribute="decision.created_at", dump_only=True)


class IvoReportOfferSchema(BaseSchema):
    offered_on = fields.Date(dump_only=True)
    declined = fields.Boolean(dump_only=True)


class IvoReportRowSchema(BaseSchema):
    decision_id = Id(dump_only=True)
    case_reference = fields.String(dump_only=True)
    ivo_person_ref = fields.String(dump_only=True, allow_none=True)
    sex = fields.String(dump_only=True, allow_none=True)
    report_type = fields.String(dump_only=True)
    report_type_label = fields.String(dump_only=True)
    legal_basis = fields.Nested(DecisionLegalBasisSchema, dump_only=True)
    insats_type = fields.String(dump_only=True)
    decision_date = fields.Date(dump_only=True)
    interruption_date = fields.Date(dump_only=True, allow_none=True)
    offers = fields.List(fields.Nested(IvoReportOfferSchema), dump_only=True)
    delay_reason = fields.String(dump_only=True, allow_none=True)
    execution_date = fields.Date(dump_only=True, allow_none=True)
    resumed_on = fields.Date(dump_only=True, allow_none=True)
    closed_on = fields.Date(dump_only=True, allow_none=True)
    closing_reason = fields.String(dump_only=True, allow_none=True)
    days_since_decision = fields.Integer(dump_only=True)
    situation = fields.String(dump_only=True, metadata={"description": "Läge vid kvartalets slut"})


class IvoWindowSchema(BaseSchema):
    year = fields.Integer(dump_only=True)
    quarter = fields.Integer(dump_only=True)
    opens = fields.Date(dump_only=True)
    closes = fields.Date(dump_only=True)


class IvoReportSchema(BaseSchema):
    municipality = fields.Nested(DecisionMunicipalitySchema, dump_only=True)
    year = fields.Integer(dump_only=True)
    quarter = fields.Integer(dump_only=True)
    quarter_start = fields.Date(dump_only=True)
    quarter_end = fields.Date(dump_only=True)
    as_of = fields.Date(
        dump_only=True, metadata={"description": "Dagen läget avser: kvartalets sista dag, eller i dag"}
    )
    window = fields.Nested(IvoWindowSchema, dump_only=True)
    window_open = fields.Boolean(
        dump_only=True, metadata={"description": "Rapporteringsperioden är öppen i dag"}
    )
    rows = fields.List(fields.Nested(IvoReportRowSchema), dump_only=True)
