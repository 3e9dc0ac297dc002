"""marshmallow schemas of the shell: API representations and the validation shared with HTML forms."""

from __future__ import annotations

import re
from decimal import Decimal

from flask_smorest.fields import Upload
from marshmallow import (
    EXCLUDE,
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    pre_load,
    validate,
    validates,
)
from werkzeug.datastructures import FileStorage

from core import validation
from core.models import Role
from core.personal_numbers import NoPersonalNumber


class BaseSchema(Schema):
    """Unknown fields are refused; messages are Swedish (see core.validation)."""

    class Meta:
        unknown = RAISE
        ordered = True

    error_messages = {
        "unknown": validation.SCHEMA_UNKNOWN_FIELD,
        "type": validation.SCHEMA_INVALID_INPUT,
    }


MAX_ID = 2**31 - 1


class Id(fields.Integer):
    """A row id: a positive integer that fits the database's INTEGER (larger ones are refused)."""

    def __init__(self, **kwargs):
        validators = kwargs.pop("validate", None) or []
        validators = list(validators) if isinstance(validators, list | tuple) else [validators]
        super().__init__(validate=[validate.Range(1, MAX_ID, error="Okänt id."), *validators], **kwargs)


class QuerySchema(BaseSchema):
    """Query-string filters: other parameters (page, page_size) belong to pagination."""

    class Meta:
        unknown = EXCLUDE
        ordered = True


class BlankToNoneMixin:
    """HTML forms send empty strings for empty fields; treat them as 'no value'."""

    @pre_load
    def _blank_to_none(self, data, **kwargs):
        if isinstance(data, dict):
            return {k: (None if isinstance(v, str) and v.strip() == "" else v) for k, v in data.items()}
        return data


MAX_POPULATION = 2_000_000  # larger than any Swedish municipality; catches typing errors


class PopulationSchema(BaseSchema):
    year = fields.Integer(required=True, validate=validate.Range(1900, 2200))
    population = fields.Integer(required=True, validate=validate.Range(0, MAX_POPULATION))
    reference_date = fields.Date(allow_none=True)
    source = fields.String(allow_none=True, validate=[validate.Length(max=200), NoPersonalNumber()])


class MunicipalitySchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    kommunkod = fields.String(dump_only=True)
    name = fields.String(dump_only=True)
    county_code = fields.String(dump_only=True)
    county_name = fields.String(dump_only=True)
    org_number = fields.String(dump_only=True, allow_none=True)
    peppol_id = fields.String(dump_only=True, attribute="effective_peppol_id", allow_none=True)
    bankgiro = fields.String(dump_only=True, allow_none=True)
    street_address = fields.String(dump_only=True, allow_none=True)
    postal_code = fields.String(dump_only=True, allow_none=True)
    city = fields.String(dump_only=True, allow_none=True)
    invoice_email = fields.String(dump_only=True, allow_none=True)
    populations = fields.List(fields.Nested(PopulationSchema), dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class MunicipalityUpdateSchema(BlankToNoneMixin, BaseSchema):
    """Editable fields. Absent fields are left alone; null (or an empty form field) clears a value."""

    org_number = fields.String(allow_none=True)
    peppol_id = fields.String(allow_none=True)
    bankgiro = fields.String(allow_none=True)
    street_address = fields.String(allow_none=True, validate=[validate.Length(max=200), NoPersonalNumber()])
    postal_code = fields.String(allow_none=True)
    city = fields.String(allow_none=True, validate=validate.Length(max=100))
    invoice_email = fields.Email(allow_none=True, validate=validate.Length(max=254))

    @post_load
    def _normalize(self, data, **kwargs):
        errors = {}
        for key, normalizer in (
            ("org_number", validation.normalize_org_number),
            ("bankgiro", validation.normalize_bankgiro),
            ("peppol_id", validation.normalize_peppol_id),
            ("postal_code", validation.normalize_postal_code),
        ):
            if data.get(key) is not None:
                try:
                    data[key] = normalizer(data[key])
                except ValidationError as exc:
                    errors[key] = exc.messages
        if errors:
            raise ValidationError(errors)
        return data


class MunicipalityQuerySchema(QuerySchema):
    q = fields.String(load_default=None, metadata={"description": "Sök på namn eller kommunkod"})
    county = fields.String(
        load_default=None, validate=validate.Regexp(r"^\d{2}$"), metadata={"description": "Länskod, t.ex. 14"}
    )


class UserSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    email = fields.String(dump_only=True)
    name = fields.String(dump_only=True)
    municipality_id = fields.Integer(dump_only=True, allow_none=True)
    municipality = fields.Function(lambda u: u.municipality.name if u.municipality else None, dump_only=True)
    roles = fields.Function(lambda u: sorted(r.value for r in u.roles), dump_only=True)
    active = fields.Boolean(dump_only=True)
    last_login_at = fields.DateTime(dump_only=True, allow_none=True)


_ROLE_CHOICES = [r.value for r in Role]


class UserCreateSchema(BlankToNoneMixin, BaseSchema):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    name = fields.String(required=True, validate=[validate.Length(min=1, max=200), NoPersonalNumber()])
    municipality_id = Id(allow_none=True, load_default=None)
    roles = fields.List(
        fields.String(validate=validate.OneOf(_ROLE_CHOICES)),
        required=True,
        validate=validate.Length(min=1, error="Välj minst en roll."),
    )
    password = fields.String(
        required=True, load_only=True, validate=[validate.Length(min=12), validate.Length(max=200)]
    )
    active = fields.Boolean(load_default=True)

    @validates("email")
    def _email_lower(self, value, **kwargs):
        if value != value.strip():
            raise ValidationError("E-postadressen får inte börja eller sluta med mellanslag.")


class UserUpdateSchema(BlankToNoneMixin, BaseSchema):
    name = fields.String(validate=[validate.Length(min=1, max=200), NoPersonalNumber()])
    municipality_id = Id(allow_none=True)
    roles = fields.List(
        fields.String(validate=validate.OneOf(_ROLE_CHOICES)),
        validate=validate.Length(min=1, error="Välj minst en roll."),
    )
    active = fields.Boolean()
    password = fields.String(load_only=True, validate=[validate.Length(min=12), validate.Length(max=200)])


class UserQuerySchema(QuerySchema):
    q = fields.String(load_default=None)
    municipality_id = Id(load_default=None)


class ApiTokenSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    name = fields.String(dump_only=True)
    prefix = fields.String(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    expires_at = fields.DateTime(dump_only=True, allow_none=True)
    revoked_at = fields.DateTime(dump_only=True, allow_none=True)


class AuditEntrySchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    occurred_at = fields.DateTime(dump_only=True)
    user_id = fields.Integer(dump_only=True, allow_none=True)
    actor = fields.String(dump_only=True)
    action = fields.String(dump_only=True)
    entity = fields.String(dump_only=True)
    entity_id = fields.String(dump_only=True)
    municipality_id = fields.Integer(dump_only=True, allow_none=True)
    changes = fields.Dict(dump_only=True)
    entry_hash = fields.String(dump_only=True)


class AuditQuerySchema(QuerySchema):
    entity = fields.String(load_default=None)
    user_id = Id(load_default=None)
    date_from = fields.Date(load_default=None)
    date_to = fields.Date(load_default=None)


# --- Numbers as people type them in Sweden ----------------------------------------------------------

MAX_DIGITS = 20  # more than any Numeric column holds (Numeric(14, 2)); longer is a typing error
_SPACES = (" ", "\u00a0", "\u202f", "\u2009")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)")


class SwedishDecimal(fields.Decimal):
    """A number as people write it in Sweden: ASCII digits, one decimal comma (or point), spaces between
    thousands (`1 250,50`). Exponents (`1e10` would silently be 10 000 000 000), NaN and infinities,
    Python's underscores (`1_000`) and digits of other scripts are refused with a Swedish message, and so
    are numbers with more digits than any amount or percent can have (the decimals checks would fail
    on them with a decimal.InvalidOperation). JSON numbers are read the same way."""

    default_error_messages = {
        "plain": "Ange ett tal. Skriv det med siffror och högst ett decimaltecken, t.ex. 1 250,50 (inte 1e10).",
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


class FileUpload(Upload):
    """A multipart file part. The parser reads files and form fields together, so a plain form field
    named like the file would otherwise arrive as a string (and fail later as a 500)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, FileStorage):
            raise ValidationError("Välj en fil att ladda upp (som en fil i formuläret, inte som text).")
        return value
