"""marshmallow schemas of performed services: the API representations and the validation shared by the
form, the API and the CSV import (the same input schema checks every surface). Quantities accept a
decimal comma or point; dates ISO 8601 (also YYYYMMDD, as some case systems export them). Notes
refuse personal identity numbers."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from marshmallow import ValidationError, fields, validate

from billing.models import PerformedService
from contracts.models import SERVICE_UNIT_LABELS, ServiceUnit
from core.personal_numbers import NoPersonalNumber
from core.schemas import BaseSchema, BlankToNoneMixin, FileUpload, Id, QuerySchema

MAX_QUANTITY = Decimal("9999999999.99")  # Numeric(12, 2)
MAX_NOTE = 2000
MAX_CASE_TYPE = 100
MAX_CODE = 40

# The list filter on a service's state.
STATES = ("unattested", "attested", "billed")
STATE_LABELS = {
    "unattested": "Ej attesterade",
    "attested": "Attesterade, ej fakturerade",
    "billed": "Fakturerade",
}
SIDES = ("performed", "bought")

_SPACES = re.compile(r"[\s\u00a0\u202f\u2009']")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


def parse_decimal(text: str) -> Decimal | None:
    """A number as people type it in Sweden or as a spreadsheet exports it: `1,5`, `1.5`, `1 234,50`,
    `1.234,50`, `1,234.50`. None when it is not a number. With both separators the last one is the
    decimal separator; a single separator is always the decimal one (`1.234` is 1,234, never 1 234)."""
    value = _SPACES.sub("", text or "").replace("\u2212", "-")
    if "," in value and "." in value:
        decimal_sep = "," if value.rfind(",") > value.rfind(".") else "."
        thousands = "." if decimal_sep == "," else ","
        value = value.replace(thousands, "")
        value = value.replace(",", ".")
    elif value.count(",") == 1:
        value = value.replace(",", ".")
    if value.count(".") > 1 or not _NUMBER.match(value):
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        return None


def parse_date(text: str) -> dt.date | None:
    """YYYY-MM-DD, or YYYYMMDD; None otherwise."""
    value = (text or "").strip()
    try:
        if re.fullmatch(r"\d{8}", value):
            return dt.date(int(value[:4]), int(value[4:6]), int(value[6:]))
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            return dt.date.fromisoformat(value)
    except ValueError:
        return None
    return None


class Quantity(fields.Field):
    """A positive quantity with at most two decimals; a decimal comma or point (hours as decimal hours:
    1,5 = one and a half hours)."""

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else f"{value:.2f}"

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            raise ValidationError("Ange antalet som ett tal, t.ex. 1,5.")
        if isinstance(value, int | float | Decimal):
            value = str(value)
        if not isinstance(value, str):
            raise ValidationError("Ange antalet som ett tal, t.ex. 1,5.")
        number = parse_decimal(value)
        if number is None or not number.is_finite():
            raise ValidationError(f"'{value.strip()}' är inget tal. Ange t.ex. 1,5 eller 1.5.")
        if number <= 0:
            raise ValidationError("Antalet måste vara större än 0.")
        if number != number.quantize(Decimal("0.01")):
            raise ValidationError(
                "Högst två decimaler (timmar anges i decimaltimmar: 1,25 = 1 timme 15 minuter)."
            )
        if number > MAX_QUANTITY:
            raise ValidationError("Antalet är för stort.")
        return number.quantize(Decimal("0.01"))


class ServiceDate(fields.Date):
    """An ISO date (YYYY-MM-DD), or YYYYMMDD."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, dt.date):
            return value
        parsed = parse_date(value) if isinstance(value, str) else None
        if parsed is None:
            raise ValidationError("Ange ett datum som ÅÅÅÅ-MM-DD (eller ÅÅÅÅMMDD).")
        return parsed


def _unit_field(**kwargs) -> fields.Enum:
    values = ", ".join(
        f"{u.value} ({SERVICE_UNIT_LABELS[u]})" for u in ServiceUnit if u != ServiceUnit.PERIOD
    )
    return fields.Enum(
        ServiceUnit, by_value=True, error_messages={"unknown": f"Välj en av: {values}."}, **kwargs
    )


class PerformedServiceInputSchema(BlankToNoneMixin, BaseSchema):
    """A performed service as registered (form and API) or as one row of an import. The rules that need
    the database (agreement, buyer, service type of the version in force, case type, case transfer,
    shared role) are the service layer's (billing.services.services.check_service)."""

    agreement_id = Id(required=True, metadata={"description": "Avtalet (er kommun ska vara utförare)"})
    service_date = ServiceDate(required=True, metadata={"description": "Datum då tjänsten utfördes"})
    buying_municipality_id = Id(required=True, metadata={"description": "Köpande kommun (köpare i avtalet)"})
    service_type_code = fields.String(
        required=True,
        validate=validate.Length(min=1, max=MAX_CODE),
        metadata={"description": "Tjänstetypens kod i avtalsversionen som gäller på datumet"},
    )
    case_type = fields.String(
        allow_none=True,
        load_default=None,
        validate=[validate.Length(max=MAX_CASE_TYPE), NoPersonalNumber()],
        metadata={"description": "Ärendetyp, krävs för tjänster med styckpris per ärendetyp"},
    )
    quantity = Quantity(
        required=True,
        metadata={
            "description": "Antal (> 0, högst två decimaler; timmar i decimaltimmar)",
            "type": "string",
        },
    )
    unit = _unit_field(
        allow_none=True, load_default=None, metadata={"description": "Enhet; standard: tjänstetypens enhet"}
    )
    case_transfer_id = Id(
        allow_none=True, load_default=None, metadata={"description": "Ärendeöverlämning i avtalet (valfri)"}
    )
    shared_role_id = Id(
        allow_none=True, load_default=None, metadata={"description": "Gemensam tjänst i avtalet (valfri)"}
    )
    note = fields.String(
        allow_none=True, load_default=None, validate=[validate.Length(max=MAX_NOTE), NoPersonalNumber()]
    )


class PerformedServiceUpdateSchema(PerformedServiceInputSchema):
    """A change: absent fields keep their value (the service validates the merged whole again)."""


class PerformedServiceQuerySchema(QuerySchema):
    agreement_id = Id(load_default=None, metadata={"description": "Bara prestationer i avtalet"})
    buying_municipality_id = Id(load_default=None, metadata={"description": "Bara prestationer för köparen"})
    date_from = ServiceDate(load_default=None, metadata={"description": "Från och med datum"})
    date_to = ServiceDate(load_default=None, metadata={"description": "Till och med datum"})
    state = fields.String(
        load_default=None,
        validate=validate.OneOf(STATES),
        metadata={"description": "unattested, attested (ej fakturerade) eller billed"},
    )
    side = fields.String(
        load_default=None,
        validate=validate.OneOf(SIDES),
        metadata={"description": "performed = utförda av oss, bought = köpta av oss"},
    )


class PerformedServiceIdsSchema(BaseSchema):
    ids = fields.List(
        Id(),
        required=True,
        validate=validate.Length(min=1, max=1000, error="Välj mellan 1 och 1000 prestationer."),
        metadata={"description": "Prestationernas id"},
    )


class ServiceImportUploadSchema(BaseSchema):
    file = FileUpload(required=True, metadata={"description": "CSV-fil (se importsidan för kolumnerna)"})


# --- Output -------------------------------------------------------------------------------------------


class _Ref(BaseSchema):
    id = fields.Integer(dump_only=True)


class PerformedServiceMunicipalitySchema(_Ref):
    kommunkod = fields.String(dump_only=True)
    name = fields.String(dump_only=True)


class PerformedServiceAgreementSchema(_Ref):
    number = fields.String(dump_only=True)
    title = fields.String(dump_only=True)


class PerformedServiceTransferSchema(_Ref):
    reference = fields.String(dump_only=True)


class PerformedServiceRoleSchema(_Ref):
    title = fields.String(dump_only=True)


class PerformedServiceBillingSchema(BaseSchema):
    invoice_id = fields.Integer(dump_only=True)
    invoice_line_id = fields.Integer(dump_only=True)
    invoice_status = fields.String(dump_only=True)
    invoice_status_label = fields.String(dump_only=True)
    invoice_number = fields.String(dump_only=True, allow_none=True)


def _billing(service: PerformedService):
    from billing.services.services import billing_info

    info = billing_info(service)
    return PerformedServiceBillingSchema().dump(info) if info is not None else None


class PerformedServiceSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    agreement = fields.Nested(PerformedServiceAgreementSchema, dump_only=True)
    service_date = fields.Date(dump_only=True)
    performing_municipality = fields.Nested(PerformedServiceMunicipalitySchema, dump_only=True)
    buying_municipality = fields.Nested(PerformedServiceMunicipalitySchema, dump_only=True)
    service_type_code = fields.String(dump_only=True)
    case_type = fields.String(dump_only=True)
    quantity = Quantity(dump_only=True, metadata={"type": "string"})
    unit = fields.Function(lambda s: s.unit.value, dump_only=True)
    unit_label = fields.Function(lambda s: SERVICE_UNIT_LABELS[s.unit], dump_only=True)
    case_transfer = fields.Nested(PerformedServiceTransferSchema, dump_only=True, allow_none=True)
    shared_role = fields.Nested(PerformedServiceRoleSchema, dump_only=True, allow_none=True)
    note = fields.String(dump_only=True, allow_none=True)
    import_id = fields.Integer(dump_only=True, allow_none=True)
    import_row = fields.Integer(dump_only=True, allow_none=True)
    registered_by = fields.Function(
        lambda s: s.registered_by.name if s.registered_by else None, dump_only=True
    )
    registered_at = fields.DateTime(dump_only=True)
    attested = fields.Function(lambda s: s.attested_at is not None, dump_only=True)
    attested_by = fields.Function(lambda s: s.attested_by.name if s.attested_by else None, dump_only=True)
    attested_at = fields.DateTime(dump_only=True, allow_none=True)
    billed = fields.Function(lambda s: _billing(s) is not None, dump_only=True)
    billing = fields.Function(
        _billing, dump_only=True, metadata={"description": "Fakturan prestationen är fakturerad på, om någon"}
    )


class ServiceImportSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    filename = fields.String(dump_only=True)
    sha256 = fields.String(dump_only=True)
    row_count = fields.Integer(dump_only=True)
    imported_by = fields.Function(lambda i: i.imported_by.name if i.imported_by else None, dump_only=True)
    imported_at = fields.DateTime(dump_only=True)
