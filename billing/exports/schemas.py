"""marshmallow schemas of the exports and the accounting configuration (SIE): API input and output and
the validation shared with the HTML forms."""

from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from core.personal_numbers import NoPersonalNumber
from core.schemas import BaseSchema, BlankToNoneMixin, Id, QuerySchema

EXPORT_FORMATS = ("pdf", "peppol", "sie", "csv")
PERIOD_FORMATS = ("sie", "csv")

_ACCOUNT = validate.Regexp(r"^\d{4,10}$", error="Ange kontot som 4–10 siffror, t.ex. 1510.")
_SERIES = validate.Regexp(
    r"^[A-Za-z0-9]{1,10}$", error="Ange serien med 1–10 bokstäver eller siffror, t.ex. F."
)
_DIMENSION = validate.Range(
    1, 999, error="Ange dimensionens nummer, 1–999 (t.ex. 1 för ansvar, 6 för motpart)."
)
_CODE = validate.Regexp(
    r"^[A-Za-z0-9ÅÄÖåäö._/-]{1,20}$", error="Ange koden med 1–20 tecken (bokstäver, siffror, . _ / -)."
)
_SERVICE_TYPE_CODE = validate.Regexp(
    r"^[A-Za-z0-9ÅÄÖåäö._-]{1,40}$", error="Ange tjänstetypens kod (1–40 tecken), t.ex. utredning."
)


class ExportQuerySchema(QuerySchema):
    format = fields.String(
        required=True,
        validate=validate.OneOf(EXPORT_FORMATS, error="Välj format: pdf, peppol, sie eller csv."),
        metadata={
            "description": "pdf (ZIP med en PDF per faktura), peppol (ZIP med XML), sie (.SI) eller csv"
        },
    )


class PeriodExportQuerySchema(QuerySchema):
    format = fields.String(
        required=True,
        validate=validate.OneOf(PERIOD_FORMATS, error="Välj format: sie eller csv."),
        metadata={"description": "sie (.SI) eller csv"},
    )
    date_from = fields.Date(
        required=True, data_key="from", metadata={"description": "Fakturadatum från (ÅÅÅÅ-MM-DD)"}
    )
    date_to = fields.Date(required=True, data_key="to", metadata={"description": "Fakturadatum till och med"})

    @validates_schema
    def _order(self, data, **kwargs):
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            raise ValidationError({"to": ["Slutdatumet får inte vara före startdatumet."]})


class AccountingSettingsSchema(BlankToNoneMixin, BaseSchema):
    """The municipality's accounts for the SIE file (Kommun-Bas differs per municipality)."""

    municipality_id = fields.Integer(dump_only=True)
    receivable_account = fields.String(
        required=True, validate=_ACCOUNT, metadata={"description": "Kundfordringar, t.ex. 1510"}
    )
    revenue_account = fields.String(
        required=True,
        validate=_ACCOUNT,
        metadata={"description": "Intäktskonto när tjänstetypen saknar eget"},
    )
    output_vat_account = fields.String(
        required=True, validate=_ACCOUNT, metadata={"description": "Utgående moms, t.ex. 2611"}
    )
    voucher_series = fields.String(
        required=True, validate=_SERIES, metadata={"description": "Verifikationsserie"}
    )
    counterparty_dimension = fields.Integer(
        allow_none=True,
        load_default=None,
        validate=_DIMENSION,
        metadata={"description": "Motpartsdimension, t.ex. 6"},
    )
    counterparty_dimension_name = fields.String(
        allow_none=True, load_default=None, validate=[validate.Length(max=60), NoPersonalNumber()]
    )
    responsibility_dimension = fields.Integer(
        allow_none=True,
        load_default=None,
        validate=_DIMENSION,
        metadata={"description": "Ansvarsdimension, t.ex. 1"},
    )
    responsibility_dimension_name = fields.String(
        allow_none=True, load_default=None, validate=[validate.Length(max=60), NoPersonalNumber()]
    )
    responsibility_code = fields.String(
        allow_none=True,
        load_default=None,
        validate=_CODE,
        metadata={"description": "Ansvarskoden som intäkterna bokförs på"},
    )

    @validates_schema(skip_on_field_errors=False)
    def _dimensions(self, data, **kwargs):
        errors = {}
        cp, resp = data.get("counterparty_dimension"), data.get("responsibility_dimension")
        if cp is not None and cp == resp:
            errors["responsibility_dimension"] = ["Motpart och ansvar måste vara olika dimensioner."]
        if resp is not None and not data.get("responsibility_code"):
            errors["responsibility_code"] = ["Ange ansvarskoden när en ansvarsdimension är vald."]
        if resp is None and data.get("responsibility_code"):
            errors["responsibility_dimension"] = ["Välj ansvarsdimensionen för ansvarskoden."]
        if errors:
            raise ValidationError(errors)


class RevenueAccountSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    service_type_code = fields.String(
        required=True,
        validate=_SERVICE_TYPE_CODE,
        metadata={"description": "Tjänstetypens kod i avtalsvillkoren"},
    )
    account = fields.String(required=True, validate=_ACCOUNT, metadata={"description": "Intäktskonto"})


class CounterpartyCodeSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    counterparty_municipality_id = Id(required=True, metadata={"description": "Den andra kommunens id"})
    counterparty = fields.String(dump_only=True, metadata={"description": "Den andra kommunens namn"})
    code = fields.String(required=True, validate=_CODE, metadata={"description": "Motpartskoden, t.ex. 1401"})
    active = fields.Boolean(load_default=True)


class InvoiceDocumentSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    format = fields.String(dump_only=True)
    media_type = fields.String(dump_only=True)
    sha256 = fields.String(dump_only=True)
    size_bytes = fields.Integer(dump_only=True)
    created_at = fields.DateTime(dump_only=True)


__all__ = [
    "AccountingSettingsSchema",
    "CounterpartyCodeSchema",
    "ExportQuerySchema",
    "PeriodExportQuerySchema",
    "InvoiceDocumentSchema",
    "RevenueAccountSchema",
]
