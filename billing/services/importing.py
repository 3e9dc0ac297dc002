"""Import performed services from a CSV file as case systems and Excel export it.

The file
--------
- Encoding: UTF-8 (with or without byte order mark) or Windows-1252 (what Excel's plain "CSV" writes in
  Sweden): bytes that are valid UTF-8 are read as UTF-8, anything else as Windows-1252
  (`core.services.decode_csv_bytes`).
- Delimiter: `;` or `,`, judged by the header line (`core.services.sniff_delimiter`); a first line
  `sep=;` as Excel writes it is honoured. With `,` a decimal comma must be quoted (`"2,5"`), as Excel
  and every CSV writer do.
- Numbers with a decimal comma or point (`2,5`, `2.5`, `1 234,50`); hours as decimal hours (1,25 = 1 h 15
  min). Dates `YYYY-MM-DD` or `YYYYMMDD`.
- Header names in Swedish, case and å/ä/ö ignored (`Köpare`, `kopare` and `KÖPARE` are the same), see
  COLUMNS: avtal (agreement number), datum, kopare (buyer's kommunkod or name), tjanst (service type
  code), arendetyp (case type, for per-case prices), antal, enhet (optional; must match the service
  type), arende (case transfer reference, optional), anteckning (optional note).
- At most MAX_IMPORT_BYTES (5 MB).

Atomic: every row is checked first with the same rules as the form (billing.services.services
.check_service); if any row is wrong nothing is stored and every error is reported (row, column,
message; the header is row 1, as in Excel). Otherwise all rows are stored in the caller's transaction
with one ServiceImport row (file name, sha256 of the bytes, row count). The same bytes imported again by
the same municipality are refused (DuplicateImport, naming the earlier import). Imported services start
unattested.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.errors import DuplicateImport, ImportRejected
from billing.models import PerformedService, ServiceImport
from billing.services import services
from contracts.models import ServiceUnit
from core.formatting import format_datetime
from core.services import UNREADABLE_CSV, decode_csv_bytes, sniff_delimiter
from registry.agreements.services import clean_filename as _clean_filename
from registry.agreements.services import format_size

MAX_IMPORT_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class Column:
    name: str  # the documented header, as errors name it
    field: str | None  # the input schema's field it fills
    required: bool
    description: str
    aliases: tuple[str, ...] = ()


COLUMNS = (
    Column(
        "avtal",
        "agreement_id",
        True,
        "Avtalsnumret, t.ex. GR-2024-001",
        ("avtalsnummer", "avtalsnr", "avtalnr"),
    ),
    Column(
        "datum",
        "service_date",
        True,
        "Datum då tjänsten utfördes: ÅÅÅÅ-MM-DD (eller ÅÅÅÅMMDD)",
        ("utfortdatum", "tjanstedatum", "prestationsdatum"),
    ),
    Column(
        "kopare",
        "buying_municipality_id",
        True,
        "Köpande kommun: kommunkod (t.ex. 1401) eller namn (t.ex. Härryda)",
        ("kopandekommun", "kommun", "kommunkod"),
    ),
    Column(
        "tjanst",
        "service_type_code",
        True,
        "Tjänstetypens kod i avtalet, t.ex. utredning",
        ("tjanstetyp", "tjanstekod", "kod"),
    ),
    Column("arendetyp", "case_type", False, "Ärendetyp; krävs när tjänstetypen har styckpris per ärendetyp"),
    Column(
        "antal",
        "quantity",
        True,
        "Antal, större än 0 och högst två decimaler; decimalkomma eller punkt; timmar i decimaltimmar (1,25 = 1 h 15 min)",
        ("kvantitet", "mangd"),
    ),
    Column(
        "enhet", "unit", False, "Valfri: timmar, ärenden, dagar, km eller kr; måste stämma med tjänstetypen"
    ),
    Column(
        "arende",
        "case_transfer_id",
        False,
        "Valfri: ärendeöverlämningens referens, t.ex. JAV-1401-2026-0007",
        ("arendereferens", "referens", "arendenummer"),
    ),
    Column(
        "anteckning",
        "note",
        False,
        "Valfri text; aldrig personnummer eller namn på klienter",
        ("kommentar", "notering"),
    ),
)
COLUMN_NAMES = tuple(c.name for c in COLUMNS)
EXAMPLE_HEADER = ";".join(COLUMN_NAMES)
_COLUMN_BY_KEY = {key: c for c in COLUMNS for key in (c.name, *c.aliases)}
_COLUMN_BY_FIELD = {c.field: c.name for c in COLUMNS if c.field}
_COLUMN_BY_FIELD["shared_role_id"] = "arende"  # not importable; never reported, but keep the map total

_LABELS = {
    "avtal": "Avtalsnummer",
    "datum": "Datum",
    "kopare": "Köpare",
    "tjanst": "Tjänstetyp",
    "antal": "Antal",
}

_UNITS = {
    ServiceUnit.HOUR: ("hour", "h", "tim", "timme", "timmar"),
    ServiceUnit.CASE: ("case", "arende", "arenden", "st", "styck", "stycken"),
    ServiceUnit.DAY: ("day", "dag", "dagar", "dygn"),
    ServiceUnit.KM: ("km", "kilometer"),
    ServiceUnit.SEK: ("sek", "kr", "kronor", "utlagg", "kronorutlagg"),
}
_UNIT_BY_KEY = {alias: unit for unit, aliases in _UNITS.items() for alias in aliases}

FILE_IS_XLSX = (
    "Filen är en Excel-arbetsbok, inte en CSV-fil. Spara den i Excel som ”CSV (semikolonavgränsad)” och "
    "importera den filen."
)


def fold(text: str) -> str:
    """'Köpare ' -> 'kopare', 'Ärende-typ' -> 'arendetyp': lower case, without accents, letters and
    digits only. Headers and units are compared this way."""
    text = unicodedata.normalize("NFKD", text.lstrip("\ufeff").strip().casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"[^a-z0-9]", "", text)


@dataclass(frozen=True)
class RowError:
    row: int
    column: str | None
    message: str

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "message": self.message}


def _reject_file(message: str) -> ImportRejected:
    return ImportRejected(f"Filen importerades inte. {message}", errors={"file": [message]})


def _reject_rows(errors: list[RowError]) -> ImportRejected:
    rows = {e.row for e in errors}
    return ImportRejected(
        f"Filen importerades inte: {len(errors)} fel på {len(rows)} "
        f"{'rad' if len(rows) == 1 else 'rader'}. Rätta raderna och importera hela filen igen; ingenting "
        "har sparats.",
        errors={"rows": [e.as_dict() for e in errors]},
    )


def _text(data: bytes) -> str:
    if data.startswith(b"PK\x03\x04"):
        raise _reject_file(FILE_IS_XLSX)
    try:
        text = decode_csv_bytes(data)
    except UnicodeDecodeError:
        raise _reject_file(UNREADABLE_CSV) from None
    if "\x00" in text:
        raise _reject_file(
            "Filen innehåller binära data och är ingen CSV-fil. Spara den som CSV och försök igen."
        )
    return text


def _records(text: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and the data records, each with its row number (the header is row 1, as in Excel;
    Excel hides a `sep=` line). Records that are entirely empty are skipped but keep their numbers."""
    lines = text.splitlines()
    first = lines[0].strip() if lines else ""
    delimiter = None
    if first.lower().startswith("sep=") and len(first) == 5:
        delimiter = first[4]
        text = text.split("\n", 1)[1] if "\n" in text else ""
        lines = lines[1:]
    if not lines or not any(line.strip() for line in lines):
        raise _reject_file("Filen är tom.")
    header_line = next(line for line in lines if line.strip())
    delimiter = delimiter or sniff_delimiter(header_line)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    records = []
    header: list[str] | None = None
    number = 0
    try:
        for raw in reader:
            if header is None:
                if not any(cell.strip() for cell in raw):
                    continue
                header = raw
                number = 1
                continue
            number += 1
            if any(cell.strip() for cell in raw):
                records.append((number, raw))
    except csv.Error as exc:
        raise _reject_file(f"Filen kan inte läsas som CSV ({exc}).") from None
    return header or [], records


def _header_columns(header: list[str]) -> list[Column | None]:
    errors: list[RowError] = []
    columns: list[Column | None] = []
    seen: set[str] = set()
    for cell in header:
        title = cell.lstrip("\ufeff").strip()
        if not title:
            columns.append(None)
            continue
        column = _COLUMN_BY_KEY.get(fold(title))
        if column is None:
            errors.append(
                RowError(
                    1,
                    title,
                    f"Okänd kolumn ”{title}”. Kolumnerna heter: {', '.join(COLUMN_NAMES)}.",
                )
            )
        elif column.name in seen:
            errors.append(RowError(1, column.name, f"Kolumnen ”{title}” finns två gånger i rubrikraden."))
        else:
            seen.add(column.name)
        columns.append(column)
    for column in COLUMNS:
        if column.required and column.name not in seen:
            errors.append(
                RowError(
                    1,
                    column.name,
                    f"Kolumnen ”{column.name}” saknas i rubrikraden. Första raden ska vara t.ex. {EXAMPLE_HEADER}.",
                )
            )
    if errors:
        raise _reject_rows(errors)
    return columns


def _parse_unit(text: str) -> ServiceUnit | None:
    return _UNIT_BY_KEY.get(fold(text))


def _check_row(lookups: services.Lookups, row: dict[str, str]) -> tuple[dict[str, list[str]], dict | None]:
    """Errors by column for one row, or the values to store."""
    errors: dict[str, list[str]] = {}

    def fail(column: str, message: str) -> None:
        errors.setdefault(column, []).append(message)

    data: dict = {}
    number = row.get("avtal", "")
    if not number:
        fail("avtal", "Avtalsnummer saknas.")
    else:
        agreement = lookups.agreement_by_number(number)
        if agreement is None:
            fail("avtal", f"Avtal ”{number}” finns inte, eller så är er kommun inte part i det.")
        else:
            data["agreement_id"] = agreement.id
    buyer_text = row.get("kopare", "")
    if not buyer_text:
        fail("kopare", "Köpare saknas (ange kommunkod, t.ex. 1401, eller namn).")
    else:
        buyer = lookups.municipality(buyer_text)
        if buyer is None:
            fail("kopare", f"Okänd kommun ”{buyer_text}” (ange kommunkod, t.ex. 1401, eller namn).")
        else:
            data["buying_municipality_id"] = buyer.id
    for column in ("datum", "tjanst", "antal", "arendetyp", "anteckning"):
        if row.get(column):
            data[next(c.field for c in COLUMNS if c.name == column)] = row[column]
    if row.get("enhet"):
        unit = _parse_unit(row["enhet"])
        if unit is None:
            fail("enhet", f"Okänd enhet ”{row['enhet']}” (timmar, ärenden, dagar, km eller kr).")
        else:
            data["unit"] = unit.value
    if row.get("arende"):
        transfer = lookups.transfer_by_reference(row["arende"])
        if transfer is None:
            fail("arende", f"Det finns inget ärende med referensen ”{row['arende']}”.")
        else:
            data["case_transfer_id"] = transfer.id

    field_errors, checked = services.validate_service(lookups, data)
    for field_name, messages in field_errors.items():
        column = _COLUMN_BY_FIELD.get(field_name, field_name)
        if column in errors:
            continue  # already said (an unknown agreement is not also "missing")
        if field_name not in data and column in _LABELS:  # a required value left empty
            messages = [f"{_LABELS[column]} saknas."]
        for message in messages:
            fail(column, message)
    if errors or checked is None:
        return errors, None
    return errors, checked.values


def _previous_import(session: Session, municipality_id: int, digest: str) -> ServiceImport | None:
    return session.scalar(
        select(ServiceImport).where(
            ServiceImport.municipality_id == municipality_id, ServiceImport.sha256 == digest
        )
    )


def clean_filename(name: str | None) -> str:
    return _clean_filename(name) or "import.csv"


def import_services_csv(session: Session, user, filename: str | None, data: bytes) -> ServiceImport:
    """Import a CSV file of performed services for the user's municipality (all rows or none).

    Raises ImportRejected (422; `errors` is {"file": [message]} for a file that cannot be read, or
    {"rows": [{"row", "column", "message"}, ...]} listing every problem) or DuplicateImport (409)."""
    services.require_register(user)
    if len(data) > MAX_IMPORT_BYTES:
        raise _reject_file(
            f"Filen är för stor: högst {format_size(MAX_IMPORT_BYTES)} per fil. Dela upp den i flera "
            "filer, t.ex. en per månad."
        )
    if not data.lstrip(b"\xef\xbb\xbf").strip():
        raise _reject_file("Filen är tom.")
    digest = hashlib.sha256(data).hexdigest()
    earlier = _previous_import(session, user.municipality_id, digest)
    if earlier is not None:
        who = earlier.imported_by.name if earlier.imported_by else "en användare som inte finns kvar"
        raise DuplicateImport(
            f"Samma fil har redan importerats {format_datetime(earlier.imported_at)} av {who} "
            f"({earlier.filename}, {earlier.row_count} rader). Ingenting importerades igen."
        )
    header, records = _records(_text(data))
    columns = _header_columns(header)
    if not records:
        raise _reject_file("Filen innehåller bara en rubrikrad, inga prestationer.")

    lookups = services.Lookups(session, user)
    errors: list[RowError] = []
    accepted: list[tuple[int, dict]] = []
    for number, raw in records:
        extra = [cell for cell in raw[len(columns) :] if cell.strip()]
        if extra:
            errors.append(
                RowError(
                    number,
                    None,
                    f"Raden har {len(raw)} fält men rubrikraden {len(columns)}. Har ett decimaltal med komma kommit utan citattecken i en kommaseparerad fil?",
                )
            )
            continue
        row = {
            column.name: raw[i].strip()
            for i, column in enumerate(columns)
            if column is not None and i < len(raw)
        }
        row_errors, values = _check_row(lookups, row)
        for column_name in COLUMN_NAMES:
            for message in row_errors.pop(column_name, []):
                errors.append(RowError(number, column_name, message))
        for column_name, messages in row_errors.items():  # anything not tied to a known column
            errors.extend(RowError(number, column_name, message) for message in messages)
        if values is not None:
            accepted.append((number, values))
    if errors:
        raise _reject_rows(errors)

    service_import = ServiceImport(
        municipality_id=user.municipality_id,
        filename=clean_filename(filename)[:255],
        sha256=digest,
        row_count=len(accepted),
        imported_by_id=user.id,
    )
    session.add(service_import)
    session.flush()
    session.add_all(
        PerformedService(**values, import_id=service_import.id, import_row=number, registered_by_id=user.id)
        for number, values in accepted
    )
    session.flush()
    return service_import


def example_csv(session: Session, user) -> bytes:
    """An example file for the import page: the user's own agreements and service types where there are
    some, in the format Excel in Sweden writes (`;`, decimal comma, UTF-8 with BOM)."""
    today = services.local_today()
    rows = []
    for summary in services.terms_summaries(session, services.performed_agreements(session, user), today):
        buyers = summary.agreement.buyers
        if summary.version is None or not buyers:
            continue
        buyer = buyers[0].municipality.kommunkod
        for st, case_types in summary.rows[:3]:
            quantity = {ServiceUnit.HOUR: "2,5", ServiceUnit.KM: "42", ServiceUnit.SEK: "350,00"}.get(
                st.unit, "1"
            )
            rows.append(
                [summary.agreement.number, today.replace(day=1).isoformat(), buyer, st.code,
                 case_types[0] if case_types else "", quantity, st.unit_label, "", ""]
            )  # fmt: skip
        if len(rows) >= 6:
            break
    if not rows:
        rows = [
            ["GR-2024-001", "2026-10-05", "1401", "utredning", "", "2,5", "timmar", "", "Utredning, del 1"],
            ["GR-2024-001", "20261006", "Härryda", "resa", "", "42", "km", "", ""],
            ["GR-2024-001", "2026-10-07", "1441", "arende", "Faderskapsutredning", "1", "ärenden", "", ""],
        ]
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(COLUMN_NAMES)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")
