"""marshmallow schemas of agreements: API representations and the field rules shared with the HTML forms.

Field rules live here (types, lengths, choices, no personal identity numbers); rules that need
several fields or the database (one host, unique number, end after start, owner among the parties)
live in services.py so that creating, editing and importing all go through them.
"""

from __future__ import annotations

from marshmallow import fields, post_load, validate, validates_schema
from marshmallow.exceptions import ValidationError

from core.personal_numbers import NoPersonalNumber
from core.schemas import BaseSchema, BlankToNoneMixin, FileUpload, Id, QuerySchema
from registry.models import (
    AGREEMENT_STATUS_LABELS,
    AREA_LABELS,
    COOPERATION_FORM_LABELS,
    PARTY_ROLE_LABELS,
    AgreementStatus,
    Area,
    CooperationForm,
    PartyRole,
)

MAX_RENEWAL_MONTHS = 120
MAX_NOTICE_MONTHS = 60
MAX_DAYS_AHEAD = 3650

NUMBER_PATTERN = r"^[0-9A-Za-zÅÄÖÉÜåäöéü][0-9A-Za-zÅÄÖÉÜåäöéü ._/:-]*$"
NUMBER_HINT = "Bokstäver, siffror och - . / : , t.ex. GR-JAV-2024."
PHONE_PATTERN = r"^\+?[0-9][0-9 ()-]*$"


def _enum(enum_cls, labels: dict, **kwargs) -> fields.Enum:
    choices = ", ".join(f"{member.value} ({labels[member]})" for member in enum_cls)
    return fields.Enum(
        enum_cls,
        by_value=True,
        error_messages={"unknown": f"Välj ett av: {choices}."},
        metadata={"description": "; ".join(f"`{m.value}`: {labels[m]}" for m in enum_cls)},
        **kwargs,
    )


def _text(max_length: int, required: bool = False, **kwargs) -> fields.String:
    """A free-text field: length-limited and refusing personal identity numbers."""
    lengths = validate.Length(min=1, max=max_length) if required else validate.Length(max=max_length)
    if required:
        return fields.String(required=True, validate=[lengths, NoPersonalNumber()], **kwargs)
    return fields.String(allow_none=True, validate=[lengths, NoPersonalNumber()], **kwargs)


class _StripStrings:
    """Leading and trailing spaces are never meaningful in these fields. (Exactly str: a StrEnum
    choice is a str too, and stripping it would turn it back into plain text.)"""

    @post_load
    def _strip(self, data, **kwargs):
        return {k: (v.strip() if type(v) is str else v) for k, v in data.items()}


# --- Input --------------------------------------------------------------------------------------


class AgreementPartyInputSchema(_StripStrings, BlankToNoneMixin, BaseSchema):
    """A party as given by a form, the API or the CSV import. The municipality is given by id or by
    kommunkod (four digits, e.g. 1480)."""

    municipality_id = Id(allow_none=True, metadata={"description": "Kommunens id"})
    kommunkod = fields.String(
        allow_none=True,
        validate=validate.Regexp(r"^\d{4}$", error="Kommunkoden har fyra siffror, t.ex. 1480."),
        metadata={"description": "Alternativ till municipality_id: SCB:s kommunkod"},
    )
    role = _enum(PartyRole, PARTY_ROLE_LABELS, required=True)
    board = _text(200, metadata={"description": "Ansvarig nämnd"})
    contact_name = _text(200)
    contact_email = fields.Email(allow_none=True, validate=[validate.Length(max=254), NoPersonalNumber()])
    contact_phone = fields.String(
        allow_none=True,
        validate=[
            validate.Length(max=40),
            validate.Regexp(PHONE_PATTERN, error="Ange ett telefonnummer, t.ex. 031-365 00 00."),
            NoPersonalNumber(),
        ],
    )
    decision_reference = _text(100, metadata={"description": "Beslutsparagraf, t.ex. KS § 123"})
    decision_date = fields.Date(allow_none=True)

    @validates_schema
    def _municipality_given(self, data, **kwargs):
        if data.get("municipality_id") is None and not data.get("kommunkod"):
            raise ValidationError("Välj kommun.", field_name="municipality_id")
        if data.get("municipality_id") is not None and data.get("kommunkod"):
            raise ValidationError("Ange kommunen med antingen id eller kommunkod, inte båda.", "kommunkod")


class AgreementCreateSchema(_StripStrings, BlankToNoneMixin, BaseSchema):
    number = fields.String(
        required=True,
        validate=[
            validate.Length(min=1, max=40),
            validate.Regexp(NUMBER_PATTERN, error="Ogiltigt avtalsnummer. " + NUMBER_HINT),
            NoPersonalNumber(),
        ],
        metadata={"description": "Unikt, läsbart avtalsnummer, t.ex. GR-JAV-2024"},
    )
    title = _text(200, required=True)
    area = _enum(Area, AREA_LABELS, required=True)
    cooperation_form = _enum(CooperationForm, COOPERATION_FORM_LABELS, required=True)
    legal_basis = _text(200, required=True, metadata={"description": "T.ex. KL 9 kap. 37 §"})
    description = _text(5000)
    start_date = fields.Date(required=True)
    end_date = fields.Date(allow_none=True, metadata={"description": "Tomt: tills vidare"})
    renewal_months = fields.Integer(
        allow_none=True,
        validate=validate.Range(1, MAX_RENEWAL_MONTHS),
        metadata={"description": "Automatisk förlängning (tyst förlängning) i månader per gång"},
    )
    notice_months = fields.Integer(
        allow_none=True,
        validate=validate.Range(0, MAX_NOTICE_MONTHS),
        metadata={"description": "Uppsägningstid i månader före avtalstidens utgång"},
    )
    owner_id = Id(
        allow_none=True,
        metadata={"description": "Avtalsansvarig: en användare i en av parterna. Utelämnat: du själv."},
    )
    parties = fields.List(
        fields.Nested(AgreementPartyInputSchema),
        required=True,
        metadata={"description": "Exakt en utförare (host) och minst en köpare (buyer)"},
    )


class AgreementUpdateSchema(AgreementCreateSchema):
    """The same fields, each optional (PATCH): absent fields are left as they are."""

    def __init__(self, **kwargs):
        kwargs.setdefault("partial", True)
        super().__init__(**kwargs)


class AgreementPartiesSchema(BaseSchema):
    """PUT /parties: the complete new list of parties."""

    parties = fields.List(fields.Nested(AgreementPartyInputSchema), required=True)


class AgreementTransitionSchema(_StripStrings, BlankToNoneMixin, BaseSchema):
    status = _enum(AgreementStatus, AGREEMENT_STATUS_LABELS, required=True)
    reason = _text(2000, metadata={"description": "Skäl för uppsägning (krävs vid uppsägning)"})
    date = fields.Date(
        allow_none=True, metadata={"description": "Dag då uppsägningen gjordes (krävs vid uppsägning)"}
    )


class AgreementAttachmentFormSchema(_StripStrings, BlankToNoneMixin, BaseSchema):
    description = _text(200, metadata={"description": "Vad bilagan är, t.ex. Undertecknat avtal"})


class AgreementAttachmentUploadSchema(AgreementAttachmentFormSchema):
    """The API's multipart upload: the file and its description."""

    file = FileUpload(required=True, metadata={"description": "PDF, DOCX eller ODT"})


class AgreementQuerySchema(QuerySchema):
    q = fields.String(load_default=None, metadata={"description": "Sök på avtalsnummer eller titel"})
    area = _enum(Area, AREA_LABELS, load_default=None)
    party_municipality_id = Id(load_default=None, metadata={"description": "Bara avtal där kommunen är part"})
    status = _enum(AgreementStatus, AGREEMENT_STATUS_LABELS, load_default=None)
    ends_within_days = fields.Integer(
        load_default=None,
        validate=validate.Range(0, MAX_DAYS_AHEAD),
        metadata={"description": "Nuvarande avtalsperiod slutar inom så många dagar"},
    )
    notice_within_days = fields.Integer(
        load_default=None,
        validate=validate.Range(0, MAX_DAYS_AHEAD),
        metadata={"description": "Nästa sista uppsägningsdag infaller inom så många dagar"},
    )


# --- Output -------------------------------------------------------------------------------------


class ComputedDate(fields.Date):
    """A read-only date computed from the object by `compute(obj)` (documented as a date)."""

    def __init__(self, compute, **kwargs):
        super().__init__(dump_only=True, allow_none=True, **kwargs)
        self.compute = compute

    def get_value(self, obj, attr, accessor=None, default=None):
        return self.compute(obj)


class AgreementMunicipalitySchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    kommunkod = fields.String(dump_only=True)
    name = fields.String(dump_only=True)


class AgreementOwnerSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    name = fields.String(dump_only=True)
    email = fields.String(dump_only=True)
    municipality_id = Id(dump_only=True, allow_none=True)


class AgreementPartySchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    municipality = fields.Nested(AgreementMunicipalitySchema, dump_only=True)
    role = fields.Enum(PartyRole, by_value=True, dump_only=True)
    role_label = fields.Function(lambda p: PARTY_ROLE_LABELS[p.role], dump_only=True)
    board = fields.String(dump_only=True, allow_none=True)
    contact_name = fields.String(dump_only=True, allow_none=True)
    contact_email = fields.String(dump_only=True, allow_none=True)
    contact_phone = fields.String(dump_only=True, allow_none=True)
    decision_reference = fields.String(dump_only=True, allow_none=True)
    decision_date = fields.Date(dump_only=True, allow_none=True)


class AgreementAttachmentSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    agreement_id = Id(dump_only=True)
    filename = fields.String(dump_only=True)
    media_type = fields.String(dump_only=True)
    size_bytes = fields.Integer(dump_only=True)
    sha256 = fields.String(dump_only=True)
    description = fields.String(dump_only=True, allow_none=True)
    uploaded_by_id = Id(dump_only=True, allow_none=True)
    uploaded_at = fields.DateTime(dump_only=True)


class _OrderedParties(fields.List):
    """The parties, host first and then the buyers alphabetically."""

    def get_value(self, obj, attr, accessor=None, default=None):
        from registry.agreements import services

        return services.ordered_parties(obj)


def _dates(agreement):
    # Imported here: services imports this module.
    from registry.agreements import services

    return services.agreement_dates(agreement, services.local_today())


class AgreementSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    number = fields.String(dump_only=True)
    title = fields.String(dump_only=True)
    area = fields.Enum(Area, by_value=True, dump_only=True)
    area_label = fields.Function(lambda a: AREA_LABELS[a.area], dump_only=True)
    cooperation_form = fields.Enum(CooperationForm, by_value=True, dump_only=True)
    cooperation_form_label = fields.Function(
        lambda a: COOPERATION_FORM_LABELS[a.cooperation_form], dump_only=True
    )
    legal_basis = fields.String(dump_only=True)
    description = fields.String(dump_only=True, allow_none=True)
    start_date = fields.Date(dump_only=True)
    end_date = fields.Date(dump_only=True, allow_none=True)
    renewal_months = fields.Integer(dump_only=True, allow_none=True)
    notice_months = fields.Integer(dump_only=True, allow_none=True)
    current_end_date = ComputedDate(
        lambda a: _dates(a).current_end_date,
        metadata={"description": "Slutdatum för avtalsperioden som pågår i dag, efter förlängningar"},
    )
    last_notice_date = ComputedDate(
        lambda a: _dates(a).last_notice_date,
        metadata={"description": "Sista dag för uppsägning till nuvarande periods slut"},
    )
    next_notice_date = ComputedDate(
        lambda a: _dates(a).next_notice_date,
        metadata={"description": "Nästa sista uppsägningsdag som inte har passerat"},
    )
    status = fields.Enum(AgreementStatus, by_value=True, dump_only=True)
    status_label = fields.Function(lambda a: AGREEMENT_STATUS_LABELS[a.status], dump_only=True)
    allowed_transitions = fields.Function(
        lambda a: [s.value for s in _allowed(a)],
        dump_only=True,
        metadata={"description": "Statusar avtalet kan flyttas till härnäst"},
    )
    termination_reason = fields.String(dump_only=True, allow_none=True)
    termination_date = fields.Date(dump_only=True, allow_none=True)
    owner = fields.Nested(AgreementOwnerSchema, dump_only=True, allow_none=True)
    parties = _OrderedParties(fields.Nested(AgreementPartySchema), dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


def _allowed(agreement):
    from registry.agreements import services

    return services.allowed_transitions(agreement)
