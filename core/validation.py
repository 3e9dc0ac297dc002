"""Shared validators and Swedish messages for marshmallow, used by both the API and the HTML forms."""

from __future__ import annotations

import re

from marshmallow import ValidationError, fields, validate
from stdnum import luhn
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.se import orgnr

# marshmallow's built-in messages, in Swedish. Set once at import, for every schema in the app.
_FIELD_MESSAGES = {
    fields.Field: {
        "required": "Fältet måste fyllas i.",
        "null": "Fältet får inte vara tomt.",
        "validator_failed": "Ogiltigt värde.",
    },
    fields.String: {"invalid": "Ogiltig text.", "invalid_utf8": "Texten är inte giltig UTF-8."},
    fields.Integer: {"invalid": "Ange ett heltal.", "too_large": "Talet är för stort."},
    fields.Number: {"invalid": "Ange ett tal.", "too_large": "Talet är för stort."},
    fields.Decimal: {"special": "Ange ett vanligt tal."},
    fields.Boolean: {"invalid": "Ange ja eller nej."},
    fields.Date: {"invalid": "Ange ett datum som ÅÅÅÅ-MM-DD.", "format": "Datumet kan inte tolkas."},
    fields.DateTime: {
        "invalid": "Ange datum och tid som ÅÅÅÅ-MM-DDTtt:mm.",
        "format": "Tiden kan inte tolkas.",
    },
    fields.Email: {"invalid": "Ogiltig e-postadress."},
    fields.List: {"invalid": "Ange en lista."},
    fields.Nested: {"type": "Ogiltig struktur."},
}
for _cls, _messages in _FIELD_MESSAGES.items():
    _cls.default_error_messages = {**_cls.default_error_messages, **_messages}

validate.Length.message_min = "Minst {min} tecken."
validate.Length.message_max = "Högst {max} tecken."
validate.Length.message_all = "Mellan {min} och {max} tecken."
validate.Length.message_equal = "Exakt {equal} tecken."
validate.Range.message_min = "Måste vara {min_op} {{min}}."
validate.Range.message_max = "Måste vara {max_op} {{max}}."
validate.Range.message_all = "Måste vara {min_op} {{min}} och {max_op} {{max}}."
validate.Range.message_gte = "minst"
validate.Range.message_gt = "större än"
validate.Range.message_lte = "högst"
validate.Range.message_lt = "mindre än"
validate.OneOf.default_message = "Välj ett av: {choices}."
validate.Email.default_message = "Ogiltig e-postadress."
validate.Regexp.default_message = "Ogiltigt format."

SCHEMA_UNKNOWN_FIELD = "Okänt fält."
SCHEMA_INVALID_INPUT = "Ogiltig indata."


def normalize_org_number(value: str) -> str:
    """Validate a Swedish organisation number (Luhn) and return it as NNNNNN-NNNN."""
    try:
        return orgnr.format(orgnr.validate(value))
    except StdnumError as exc:
        raise ValidationError(
            "Ogiltigt organisationsnummer: ange tio siffror, t.ex. 212000-1355, med rätt kontrollsiffra."
        ) from exc


def normalize_bankgiro(value: str) -> str:
    """Bankgiro: 7 or 8 digits, last one a Luhn check digit; shown as NNN-NNNN or NNNN-NNNN."""
    digits = re.sub(r"[\s-]", "", value or "")
    if not digits.isdigit() or len(digits) not in (7, 8):
        raise ValidationError("Ogiltigt bankgironummer: ange 7 eller 8 siffror, t.ex. 5050-1055.")
    if not luhn.is_valid(digits):
        raise ValidationError("Ogiltigt bankgironummer: kontrollsiffran stämmer inte.")
    return f"{digits[:-4]}-{digits[-4:]}"


_PEPPOL_RE = re.compile(r"^(\d{4}):([A-Za-z0-9.\-_]{1,50})$")


def normalize_peppol_id(value: str) -> str:
    """A Peppol participant id `scheme:identifier`; for scheme 0007 the identifier is an org number."""
    value = (value or "").strip()
    match = _PEPPOL_RE.match(value)
    if not match:
        raise ValidationError("Ogiltigt Peppol-id: ange schema och id, t.ex. 0007:2120001355.")
    scheme, ident = match.groups()
    if scheme == "0007":
        if not (ident.isdigit() and len(ident) == 10 and orgnr.is_valid(ident)):
            raise ValidationError(
                "Peppol-id med schema 0007 ska vara ett giltigt organisationsnummer (tio siffror)."
            )
    return f"{scheme}:{ident}"


def normalize_postal_code(value: str) -> str:
    digits = re.sub(r"\s", "", value or "")
    if not (digits.isdigit() and len(digits) == 5):
        raise ValidationError("Ogiltigt postnummer: ange fem siffror, t.ex. 435 80.")
    return f"{digits[:3]} {digits[3:]}"
