"""marshmallow schemas of contract terms: API representations and the field rules shared with the HTML
forms (types, ranges, lengths, choices, no personal identity numbers). Rules that need several fields,
the model of a component or the database (VAT category and rate, completeness per compensation model,
fixed shares summing to 100, unique codes and price years) live in services.py."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from marshmallow import ValidationError, fields, post_load, validate

from contracts.indexation import ROUNDING_LABELS, Rounding
from contracts.models import (
    CEILING_PER_LABELS,
    COMPENSATION_MODEL_LABELS,
    FEE_PERIOD_LABELS,
    INDEX_KIND_LABELS,
    INVOICE_FREQUENCY_LABELS,
    PERSONAL_DATA_ROLE_LABELS,
    SERVICE_UNIT_LABELS,
    SHARE_BASIS_LABELS,
    USAGE_MEASURE_LABELS,
    VAT_CATEGORY_LABELS,
    VERSION_STATUS_LABELS,
    CeilingPer,
    CompensationModel,
    FeePeriod,
    IndexKind,
    InvoiceFrequency,
    PersonalDataRole,
    ServiceUnit,
    ShareBasis,
    UsageMeasure,
    VatCategory,
)
from core.personal_numbers import NoPersonalNumber
from core.schemas import MAX_DIGITS, BaseSchema, BlankToNoneMixin, Id, QuerySchema, SwedishDecimal
from registry.models import EXECUTOR_LABELS, Executor

MAX_MONEY = Decimal("999999999999.99")  # Numeric(14, 2)
MAX_HOURS = Decimal("9999999.99")  # Numeric(9, 2)
MAX_RENEWAL_MONTHS = 120
MAX_NOTICE_MONTHS = 60
CODE_PATTERN = r"^[0-9A-Za-zÅÄÖåäöÉé][0-9A-Za-zÅÄÖåäöÉé_.-]*$"


def _enum(enum_cls, labels: dict, **kwargs) -> fields.Enum:
    choices = ", ".join(f"{member.value} ({labels[member]})" for member in enum_cls)
    description = "; ".join(f"`{m.value}`: {labels[m]}" for m in enum_cls)
    extra = kwargs.pop("metadata", {}).get("description")
    return fields.Enum(
        enum_cls,
        by_value=True,
        error_messages={"unknown": f"Välj ett av: {choices}.", **kwargs.pop("error_messages", {})},
        metadata={"description": f"{description}; {extra}" if extra else description},
        **kwargs,
    )


def _must(message: str) -> dict:
    """The message for a required field that is missing or empty, instead of the generic one."""
    return {"required": message, "null": message}


def _text(max_length: int, required: bool = False, **kwargs) -> fields.String:
    """A free-text field: length-limited and refusing personal identity numbers."""
    lengths = validate.Length(min=1, max=max_length) if required else validate.Length(max=max_length)
    if required:
        return fields.String(required=True, validate=[lengths, NoPersonalNumber()], **kwargs)
    return fields.String(allow_none=True, validate=[lengths, NoPersonalNumber()], **kwargs)


def _at_most_two_decimals(value: Decimal) -> None:
    try:
        exact = value == value.quantize(Decimal("0.01"))
    except InvalidOperation:  # too many digits to quantize at all
        raise ValidationError(f"Talet har för många siffror (högst {MAX_DIGITS}).") from None
    if not exact:
        raise ValidationError("Ange högst två decimaler.")


def _amount(minimum=Decimal("0"), maximum=MAX_MONEY, error=None, **kwargs) -> SwedishDecimal:
    return SwedishDecimal(
        allow_none=kwargs.pop("allow_none", True),
        validate=[
            validate.Range(min=minimum, max=maximum, error=error or f"Ange ett belopp från {minimum} kr."),
            _at_most_two_decimals,
        ],
        **kwargs,
    )


def _percent(minimum_exclusive: bool = False, **kwargs) -> SwedishDecimal:
    return SwedishDecimal(
        validate=[
            validate.Range(
                min=Decimal("0"),
                max=Decimal("100"),
                min_inclusive=not minimum_exclusive,
                error="Ange en procentsats över 0 och högst 100."
                if minimum_exclusive
                else "Ange en procentsats från 0 till 100.",
            ),
            _at_most_two_decimals,
        ],
        **kwargs,
    )


def _int(low: int, high: int, error: str, **kwargs) -> fields.Integer:
    return fields.Integer(allow_none=True, validate=validate.Range(low, high, error=error), **kwargs)


class _StripStrings:
    """Leading and trailing spaces are never meaningful here (exactly str: a StrEnum stays a choice)."""

    @post_load
    def _strip(self, data, **kwargs):
        return {k: (v.strip() if type(v) is str else v) for k, v in data.items()}


_YEAR = validate.Range(1900, 2200, error="Ange ett år mellan 1900 och 2200.")


# --- Input --------------------------------------------------------------------------------------


class ContractVersionCreateSchema(_StripStrings, BlankToNoneMixin, BaseSchema):
    title = _text(
        200,
        metadata={
            "description": "Rubrik. Utelämnad: ”Ursprungligt avtal” för den första versionen, "
            "annars ”Tilläggsavtal N”."
        },
    )
    effective_from = fields.Date(
        allow_none=True,
        metadata={"description": "Gäller från. Utelämnad för den första versionen: avtalets startdatum."},
    )
    change_summary = _text(5000, metadata={"description": "Vad tilläggsavtalet ändrar"})
    based_on_id = Id(
        allow_none=True,
        metadata={"description": "Godkänd version att kopiera villkoren från (utelämnad: den senaste)"},
    )


class ContractVersionTermsSchema(_StripStrings, BlankToNoneMixin, BaseSchema):
    """The version's own terms. Every field is optional (PATCH): absent fields are left as they are."""

    title = _text(200)
    effective_from = fields.Date(allow_none=True)
    change_summary = _text(5000)
    scope = _text(10000, metadata={"description": "Lagrum, ärendetyper och vad utföraren gör"})
    executor = _enum(Executor, EXECUTOR_LABELS, allow_none=True)
    invoice_frequency = _enum(InvoiceFrequency, INVOICE_FREQUENCY_LABELS, allow_none=True)
    payment_terms_days = _int(0, 365, "Ange betalningsvillkor som 0–365 dagar.")
    invoice_series = fields.String(
        allow_none=True,
        validate=[
            validate.Length(max=20),
            validate.Regexp(CODE_PATTERN, error="Bokstäver, siffror och - _ . utan mellanslag, t.ex. SAM."),
            NoPersonalNumber(),
        ],
        metadata={"description": "Fakturaserie som fakturorna numreras i"},
    )
    cost_cap_amount = _amount(
        minimum=Decimal("0.01"),
        error="Ange ett kostnadstak över 0 kr, eller lämna fältet tomt.",
        metadata={"description": "Kostnadstak per köpande kommun och kalenderår (tomt: inget tak)"},
    )
    index_kind = _enum(
        IndexKind, INDEX_KIND_LABELS, allow_none=True, metadata={"description": "null: inget index"}
    )
    index_edition = _text(100, metadata={"description": "Utgåva, t.ex. ”PKV oktober”"})
    index_effective_from = fields.Date(allow_none=True, metadata={"description": "Första indexuppräkningen"})
    index_rounding = _enum(Rounding, ROUNDING_LABELS, allow_none=True)
    personal_data_role = _enum(PersonalDataRole, PERSONAL_DATA_ROLE_LABELS, allow_none=True)
    claims_cost_coverage = fields.Boolean(allow_none=True)
    changes_term = fields.Boolean(allow_none=True)
    term_end_date = fields.Date(
        allow_none=True, metadata={"description": "Nytt slutdatum (null: tills vidare)"}
    )
    term_renewal_months = _int(
        1, MAX_RENEWAL_MONTHS, f"Ange 1–{MAX_RENEWAL_MONTHS} månader, eller lämna tomt."
    )
    term_notice_months = _int(0, MAX_NOTICE_MONTHS, f"Ange 0–{MAX_NOTICE_MONTHS} månader.")


class ContractServiceTypeInputSchema(_StripStrings, BlankToNoneMixin, BaseSchema):
    code = fields.String(
        required=True,
        error_messages=_must("Ange en kod, t.ex. utredning."),
        validate=[
            validate.Length(min=1, max=40),
            validate.Regexp(
                CODE_PATTERN, error="Bokstäver, siffror och - _ . utan mellanslag, t.ex. utredning."
            ),
            NoPersonalNumber(),
        ],
        metadata={"description": "Kort kod, unik i versionen, t.ex. utredning"},
    )
    name = _text(200, required=True, error_messages=_must("Ange tjänstetypens benämning."))
    unit = _enum(ServiceUnit, SERVICE_UNIT_LABELS, required=True, error_messages=_must("Välj enhet."))
    vat_category = _enum(
        VatCategory, VAT_CATEGORY_LABELS, required=True, error_messages=_must("Välj momskategori.")
    )
    vat_rate = _percent(
        allow_none=True, metadata={"description": "Momssats i procent: 0 för O och E, t.ex. 25 för S"}
    )
    vat_exemption_reason_code = fields.String(
        allow_none=True,
        validate=[validate.Length(max=40), NoPersonalNumber()],
        metadata={"description": "Kod för momsbefrielse, t.ex. VATEX-EU-O eller VATEX-EU-132-1G"},
    )
    vat_exemption_reason = _text(300, metadata={"description": "Skäl till att moms inte tas ut"})


class ContractServiceTypeUpdateSchema(ContractServiceTypeInputSchema):
    """The same fields, each optional (PATCH): absent fields are left as they are."""

    def __init__(self, **kwargs):
        kwargs.setdefault("partial", True)
        super().__init__(**kwargs)


class ContractFixedShareInputSchema(BaseSchema):
    municipality_id = Id(required=True, error_messages=_must("Välj kommun."))
    percent = _percent(minimum_exclusive=True, required=True, error_messages=_must("Ange andelen i procent."))


class CompensationComponentInputSchema(_StripStrings, BlankToNoneMixin, BaseSchema):
    """A compensation component. Which fields apply depends on `model`; fields that do not apply to the
    model are refused, missing ones are named."""

    model = _enum(
        CompensationModel,
        COMPENSATION_MODEL_LABELS,
        required=True,
        error_messages=_must("Välj ersättningsmodell."),
    )
    service_type_id = Id(
        required=True,
        error_messages=_must("Välj vilken tjänstetyp ersättningen gäller."),
        metadata={"description": "Tjänstetyp i samma version"},
    )
    buyer_municipality_id = Id(
        allow_none=True, metadata={"description": "Gäller bara denna köpare (null: alla köpare)"}
    )
    description = _text(200)
    position = fields.Integer(allow_none=True, validate=validate.Range(0, 1000))
    time_rounding_minutes = fields.Integer(
        allow_none=True,
        validate=validate.OneOf(
            [15, 30], error="Välj avrundning per påbörjad 15 eller 30 minuter, eller ingen."
        ),
    )
    ceiling_hours = SwedishDecimal(
        allow_none=True,
        validate=[
            validate.Range(min=0, max=MAX_HOURS, error="Ange antal timmar från 0."),
            _at_most_two_decimals,
        ],
        metadata={"description": "Bara timmar över taket faktureras"},
    )
    ceiling_per = _enum(CeilingPer, CEILING_PER_LABELS, allow_none=True)
    fee_period = _enum(FeePeriod, FEE_PERIOD_LABELS, allow_none=True)
    in_advance = fields.Boolean(allow_none=True, metadata={"description": "Faktureras i förskott"})
    population_ref_month = _int(1, 12, "Ange en månad 1–12.")
    population_ref_day = _int(1, 31, "Ange en dag 1–31.")
    population_ref_year_offset = _int(
        -2,
        0,
        "Ange 0 (samma år), -1 (året före) eller -2 (två år före).",
        metadata={"description": "-1 = året före faktureringsåret"},
    )
    equal_split_percent = _percent(
        allow_none=True, metadata={"description": "Andel som delas lika; resten efter invånarantal"}
    )
    include_host = fields.Boolean(allow_none=True, metadata={"description": "Utföraren bär sin egen andel"})
    usage_measure = _enum(UsageMeasure, USAGE_MEASURE_LABELS, allow_none=True)
    shared_role_id = Id(allow_none=True, metadata={"description": "Gemensam tjänst i registret, samma avtal"})
    share_basis = _enum(ShareBasis, SHARE_BASIS_LABELS, allow_none=True)
    reconciliation_deadline_month = _int(1, 12, "Ange en månad 1–12.")
    reconciliation_deadline_day = _int(1, 31, "Ange en dag 1–31.")
    reconciliation_threshold = _amount(metadata={"description": "Mindre skillnader faktureras inte"})
    fixed_shares = fields.List(
        fields.Nested(ContractFixedShareInputSchema),
        allow_none=True,
        metadata={"description": "Avtalade andelar (share_basis fixed): summan ska vara exakt 100,00"},
    )


class CompensationComponentUpdateSchema(CompensationComponentInputSchema):
    """As CompensationComponentInputSchema, without the model (it cannot change); every field optional (PATCH)."""

    class Meta(CompensationComponentInputSchema.Meta):
        exclude = ("model",)


class ContractPriceInputSchema(_StripStrings, BlankToNoneMixin, BaseSchema):
    year = fields.Integer(
        required=True, validate=_YEAR, error_messages=_must("Ange vilket år priset gäller.")
    )
    case_type = _text(100, metadata={"description": "Ärendetyp (bara styckpris)"})
    amount = _amount(
        required=True,
        allow_none=False,
        error_messages=_must("Ange beloppet i kronor."),
        metadata={"description": "Belopp i kronor, två decimaler"},
    )


class ContractPriceUpdateSchema(ContractPriceInputSchema):
    """The same fields, each optional (PATCH)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("partial", True)
        super().__init__(**kwargs)


class ContractBuyerTermsInputSchema(_StripStrings, BlankToNoneMixin, BaseSchema):
    municipality_id = Id(
        required=True,
        error_messages=_must("Välj köpande kommun."),
        metadata={"description": "Köpande kommun"},
    )
    buyer_reference = _text(
        100,
        required=True,
        error_messages=_must("Ange referensen."),
        metadata={"description": "Er referens (Peppol BT-10)"},
    )


class ContractBuyerTermsUpdateSchema(_StripStrings, BlankToNoneMixin, BaseSchema):
    buyer_reference = _text(
        100,
        required=True,
        error_messages=_must("Ange referensen."),
        metadata={"description": "Er referens (Peppol BT-10)"},
    )


class VersionInForceQuerySchema(QuerySchema):
    date = fields.Date(load_default=None, metadata={"description": "Dag (ÅÅÅÅ-MM-DD); utelämnad: i dag"})


class VersionCompareQuerySchema(QuerySchema):
    with_ = Id(required=True, data_key="with", metadata={"description": "Versionen att jämföra med"})


# --- Output -------------------------------------------------------------------------------------


def _label(labels: dict, attr: str):
    return fields.Function(
        lambda obj: labels[getattr(obj, attr)] if getattr(obj, attr) else None, dump_only=True
    )


def _money_out(**kwargs) -> fields.Decimal:
    return fields.Decimal(as_string=True, places=2, dump_only=True, allow_none=True, **kwargs)


class TermsMunicipalitySchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    kommunkod = fields.String(dump_only=True)
    name = fields.String(dump_only=True)


class ContractServiceTypeSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    version_id = fields.Integer(dump_only=True)
    code = fields.String(dump_only=True)
    name = fields.String(dump_only=True)
    unit = fields.String(dump_only=True)
    unit_label = fields.String(dump_only=True)
    vat_category = fields.String(dump_only=True)
    vat_label = fields.String(dump_only=True)
    vat_rate = fields.Decimal(as_string=True, places=2, dump_only=True)
    vat_exemption_reason_code = fields.String(dump_only=True, allow_none=True)
    vat_exemption_reason = fields.String(dump_only=True, allow_none=True)


class ContractPriceSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    component_id = fields.Integer(dump_only=True)
    year = fields.Integer(dump_only=True)
    case_type = fields.String(dump_only=True)
    amount = _money_out()


class ContractFixedShareSchema(BaseSchema):
    municipality = fields.Nested(TermsMunicipalitySchema, dump_only=True)
    percent = fields.Decimal(as_string=True, places=2, dump_only=True)


class CompensationComponentSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    version_id = fields.Integer(dump_only=True)
    position = fields.Integer(dump_only=True)
    model = fields.String(dump_only=True)
    model_label = fields.String(dump_only=True)
    price_meaning = fields.Function(lambda c: _price_meaning(c), dump_only=True)
    service_type_id = fields.Integer(dump_only=True)
    service_type_code = fields.Function(lambda c: c.service_type.code, dump_only=True)
    buyer_municipality_id = fields.Integer(dump_only=True, allow_none=True)
    description = fields.String(dump_only=True, allow_none=True)
    time_rounding_minutes = fields.Integer(dump_only=True, allow_none=True)
    ceiling_hours = fields.Decimal(as_string=True, places=2, dump_only=True, allow_none=True)
    ceiling_per = fields.String(dump_only=True, allow_none=True)
    fee_period = fields.String(dump_only=True, allow_none=True)
    in_advance = fields.Boolean(dump_only=True, allow_none=True)
    population_ref_month = fields.Integer(dump_only=True, allow_none=True)
    population_ref_day = fields.Integer(dump_only=True, allow_none=True)
    population_ref_year_offset = fields.Integer(dump_only=True, allow_none=True)
    equal_split_percent = fields.Decimal(as_string=True, places=2, dump_only=True, allow_none=True)
    include_host = fields.Boolean(dump_only=True)
    usage_measure = fields.String(dump_only=True, allow_none=True)
    shared_role_id = fields.Integer(dump_only=True, allow_none=True)
    share_basis = fields.String(dump_only=True, allow_none=True)
    reconciliation_deadline_month = fields.Integer(dump_only=True, allow_none=True)
    reconciliation_deadline_day = fields.Integer(dump_only=True, allow_none=True)
    reconciliation_threshold = _money_out()
    fixed_shares = fields.List(fields.Nested(ContractFixedShareSchema), dump_only=True)
    prices = fields.List(fields.Nested(ContractPriceSchema), dump_only=True)


def _price_meaning(component) -> str:
    from contracts.models import PRICE_MEANING

    return PRICE_MEANING[component.model]


class ContractBuyerTermsSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    version_id = fields.Integer(dump_only=True)
    municipality = fields.Nested(TermsMunicipalitySchema, dump_only=True)
    buyer_reference = fields.String(dump_only=True)


def _superseded_on(version):
    from contracts.versions import superseded_on
    from core.db import db_session

    return superseded_on(db_session, version)


class ContractVersionSummarySchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    agreement_id = fields.Integer(dump_only=True)
    number = fields.Integer(dump_only=True)
    title = fields.String(dump_only=True)
    effective_from = fields.Date(dump_only=True)
    status = fields.String(dump_only=True)
    status_label = fields.Function(lambda v: VERSION_STATUS_LABELS[v.status], dump_only=True)
    superseded_on = fields.Function(
        lambda v: d.isoformat() if (d := _superseded_on(v)) else None,
        dump_only=True,
        metadata={"description": "Dagen då en senare godkänd version tog över (null: ingen)"},
    )
    based_on_id = fields.Integer(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)
    submitted_at = fields.DateTime(dump_only=True, allow_none=True)
    approved_at = fields.DateTime(dump_only=True, allow_none=True)


class ContractVersionWithTermsSchema(ContractVersionSummarySchema):
    """A version with all its terms."""

    change_summary = fields.String(dump_only=True, allow_none=True)
    scope = fields.String(dump_only=True, allow_none=True)
    executor = fields.String(dump_only=True, allow_none=True)
    executor_label = _label(EXECUTOR_LABELS, "executor")
    invoice_frequency = fields.String(dump_only=True)
    invoice_frequency_label = _label(INVOICE_FREQUENCY_LABELS, "invoice_frequency")
    payment_terms_days = fields.Integer(dump_only=True)
    invoice_series = fields.String(dump_only=True, allow_none=True)
    cost_cap_amount = _money_out()
    index_kind = fields.String(dump_only=True, allow_none=True)
    index_edition = fields.String(dump_only=True, allow_none=True)
    index_effective_from = fields.Date(dump_only=True, allow_none=True)
    index_rounding = fields.String(dump_only=True)
    personal_data_role = fields.String(dump_only=True)
    personal_data_role_label = _label(PERSONAL_DATA_ROLE_LABELS, "personal_data_role")
    claims_cost_coverage = fields.Boolean(dump_only=True)
    changes_term = fields.Boolean(dump_only=True)
    term_end_date = fields.Date(dump_only=True, allow_none=True)
    term_renewal_months = fields.Integer(dump_only=True, allow_none=True)
    term_notice_months = fields.Integer(dump_only=True, allow_none=True)
    service_types = fields.List(fields.Nested(ContractServiceTypeSchema), dump_only=True)
    components = fields.List(fields.Nested(CompensationComponentSchema), dump_only=True)
    buyer_terms = fields.List(fields.Nested(ContractBuyerTermsSchema), dump_only=True)


class VersionChangeSchema(BaseSchema):
    section = fields.String(dump_only=True)
    section_label = fields.String(dump_only=True)
    key = fields.String(dump_only=True)
    label = fields.String(dump_only=True)
    kind = fields.String(dump_only=True, metadata={"description": "added, removed eller changed"})
    kind_label = fields.String(dump_only=True)
    old = fields.String(
        dump_only=True, allow_none=True, metadata={"description": "Värdet i den första versionen"}
    )
    new = fields.String(
        dump_only=True, allow_none=True, metadata={"description": "Värdet i den andra versionen"}
    )


class VersionComparisonSectionSchema(BaseSchema):
    section = fields.String(dump_only=True)
    section_label = fields.String(dump_only=True)
    changes = fields.List(fields.Nested(VersionChangeSchema), dump_only=True)


class VersionComparisonSchema(BaseSchema):
    from_version_id = fields.Integer(dump_only=True, attribute="a.id")
    to_version_id = fields.Integer(dump_only=True, attribute="b.id")
    identical = fields.Boolean(dump_only=True)
    sections = fields.List(fields.Nested(VersionComparisonSectionSchema), dump_only=True)
