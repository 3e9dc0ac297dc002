"""CSV import of performed services (billing.services.importing): encodings, delimiters, decimal comma
or point, Swedish headers, atomicity with every error reported by row and column, duplicate files."""

from __future__ import annotations

import hashlib
from decimal import Decimal

import pytest
from sqlalchemy import select

from billing.errors import DuplicateImport, ImportRejected
from billing.models import PerformedService
from billing.services import importing
from contracts.models import ServiceUnit
from core.formatting import format_datetime
from tests.billing import services_support as support
from tests.billing.services_support import PERSONAL_NUMBER, D, count_imports, count_services, csv_bytes

agreement = support.agreement
approve = support.approve
fixed_today = support.fixed_today
make_transfer = support.make_transfer

HEADER = "avtal;datum;kopare;tjanst;arendetyp;antal;enhet;arende;anteckning"


@pytest.fixture
def importer(make_user):
    return make_user(roles=("caseworker",), kommun="Göteborg", name="Ida Import")


@pytest.fixture
def run(db, importer):
    """run(data, filename="prestationer.csv", user=importer) -> ServiceImport (committed)."""

    def _run(data: bytes, filename: str = "prestationer.csv", user=None):
        result = importing.import_services_csv(db, user or importer, filename, data)
        db.commit()
        return result

    return _run


def rejected(run, data: bytes, **kwargs) -> ImportRejected:
    with pytest.raises(ImportRejected) as exc:
        run(data, **kwargs)
    return exc.value


def rows_of(exc: ImportRejected) -> list[tuple[int, str | None, str]]:
    return [(e["row"], e["column"], e["message"]) for e in exc.errors["rows"]]


def stored(db) -> list[PerformedService]:
    db.expire_all()
    return list(db.scalars(select(PerformedService).order_by(PerformedService.import_row)))


def good_rows(number: str) -> list[str]:
    return [
        f"{number};2026-10-01;1401;utredning;;2,5;timmar;;Utredning del 1",
        f"{number};20261002;Lerum;resa;;42;km;;",
        f"{number};2026-10-03;Härryda;arende;Faderskapsutredning;1;;;",
    ]


def test_good_file_stores_every_row_with_the_import(db, run, agreement, importer, municipality):
    data = csv_bytes(HEADER, *good_rows(agreement.number))
    result = run(data)
    assert (result.filename, result.row_count, result.sha256) == (
        "prestationer.csv",
        3,
        hashlib.sha256(data).hexdigest(),
    )
    assert (result.municipality_id, result.imported_by_id) == (municipality("Göteborg").id, importer.id)
    services = stored(db)
    assert [
        (s.import_row, s.service_date, s.buying_municipality.name, s.service_type_code, s.quantity, s.unit)
        for s in services
    ] == [
        (2, D(2026, 10, 1), "Härryda", "utredning", Decimal("2.50"), ServiceUnit.HOUR),
        (3, D(2026, 10, 2), "Lerum", "resa", Decimal("42.00"), ServiceUnit.KM),
        (4, D(2026, 10, 3), "Härryda", "arende", Decimal("1.00"), ServiceUnit.CASE),
    ]
    assert services[0].note == "Utredning del 1" and services[1].note is None
    assert services[2].case_type == "Faderskapsutredning"
    assert all(s.import_id == result.id and s.registered_by_id == importer.id for s in services)
    assert all(s.attested_at is None for s in services)  # imported services start unattested


def test_comma_delimiter_with_quoted_decimal_comma(db, run, agreement):
    data = csv_bytes(
        "avtal,datum,kopare,tjanst,antal,anteckning",
        f'{agreement.number},2026-10-01,1401,utredning,"2,75","Möte, uppföljning"',
        f"{agreement.number},2026-10-02,1401,utredning,1.5,",
    )
    assert run(data).row_count == 2
    assert [(s.quantity, s.note) for s in stored(db)] == [
        (Decimal("2.75"), "Möte, uppföljning"),
        (Decimal("1.50"), None),
    ]


def test_unquoted_decimal_comma_in_a_comma_file_is_reported(db, run, agreement):
    data = csv_bytes("avtal,datum,kopare,tjanst,antal", f"{agreement.number},2026-10-01,1401,utredning,2,75")
    exc = rejected(run, data)
    [(row, column, message)] = rows_of(exc)
    assert (row, column) == (2, None)
    assert "Raden har 6 fält men rubrikraden 5" in message and "citattecken" in message
    assert count_services(db) == 0


@pytest.mark.parametrize(
    ("text", "expected"), [("2,5", "2.50"), ("2.5", "2.50"), ("1 234,50", "1234.50"), ("0,25", "0.25")]
)
def test_decimal_comma_or_point(db, run, agreement, text, expected):
    run(csv_bytes("avtal;datum;kopare;tjanst;antal", f"{agreement.number};2026-10-01;1401;utlagg;{text}"))
    assert stored(db)[0].quantity == Decimal(expected)


def test_windows_1252_file_with_swedish_letters(db, run, agreement):
    data = csv_bytes(
        "Avtal;Datum;Köpare;Tjänst;Ärendetyp;Antal;Enhet;Ärende;Anteckning",
        f"{agreement.number};2026-10-01;Härryda;arende;Vårdnadsutredning;1;ärenden;;Återbesök på förskolan",
        encoding="cp1252",
        newline="\r\n",
    )
    assert b"K\xf6pare" in data  # really Windows-1252, not UTF-8
    run(data)
    [service] = stored(db)
    assert (service.buying_municipality.name, service.case_type, service.note) == (
        "Härryda",
        "Vårdnadsutredning",
        "Återbesök på förskolan",
    )


def test_utf8_with_byte_order_mark(db, run, agreement):
    data = csv_bytes(HEADER, *good_rows(agreement.number), encoding="utf-8-sig")
    assert data.startswith(b"\xef\xbb\xbf")
    assert run(data).row_count == 3


def test_headers_ignore_case_accents_and_aliases(db, run, agreement):
    data = csv_bytes(
        "AVTALSNUMMER;Datum ;KÖPANDE KOMMUN;Tjänstetyp;Antal;Kommentar",
        f"{agreement.number};2026-10-01;1401;utredning;1;Hej",
    )
    run(data)
    assert stored(db)[0].note == "Hej"


def test_excel_sep_line_is_honoured_and_rows_count_from_the_header(db, run, agreement):
    data = csv_bytes(
        "sep=,", "avtal,datum,kopare,tjanst,antal", f"{agreement.number},2026-10-01,1401,utredning,0"
    )
    exc = rejected(run, data)
    assert rows_of(exc) == [(2, "antal", "Antalet måste vara större än 0.")]


def test_one_bad_row_imports_nothing_and_every_error_is_reported(db, run, agreement):
    number = agreement.number
    data = csv_bytes(
        HEADER,
        f"{number};2026-10-01;1401;utredning;;2,5;;;",
        f"{number};2026-13-01;1401;utredning;;0;;;{PERSONAL_NUMBER}",
        f"{number};2026-10-02;1401;utredning;;1;;;",
        "",
        "OKANT-1;2026-10-02;9999;utredning;;1;;;",
        f"{number};2026-10-02;Partille;terapi;;1;liter;JAV-0000-2026-0001;",
        f"{number};2026-10-02;1401;arende;;1;;;",
    )
    exc = rejected(run, data)
    assert exc.status_code == 422
    errors = rows_of(exc)
    assert [(row, column) for row, column, _ in errors] == [
        (3, "datum"),
        (3, "antal"),
        (3, "anteckning"),
        (6, "avtal"),
        (6, "kopare"),
        (7, "kopare"),
        (7, "tjanst"),
        (7, "enhet"),
        (7, "arende"),
        (8, "arendetyp"),
    ]
    messages = {(row, column): message for row, column, message in errors}
    assert messages[(3, "datum")] == "Ange ett datum som ÅÅÅÅ-MM-DD (eller ÅÅÅÅMMDD)."
    assert messages[(3, "antal")] == "Antalet måste vara större än 0."
    assert "19850101-****" in messages[(3, "anteckning")]
    assert messages[(6, "avtal")] == "Avtal ”OKANT-1” finns inte, eller så är er kommun inte part i det."
    assert messages[(6, "kopare")] == "Okänd kommun ”9999” (ange kommunkod, t.ex. 1401, eller namn)."
    assert messages[(7, "kopare")].startswith("Kommunen är inte köpare i avtal")
    assert messages[(7, "enhet")] == "Okänd enhet ”liter” (timmar, ärenden, dagar, km eller kr)."
    assert messages[(7, "arende")] == "Det finns inget ärende med referensen ”JAV-0000-2026-0001”."
    assert messages[(8, "arendetyp")].startswith("Ange ärendetyp")
    assert "10 fel på 4 rader" in exc.message
    assert count_services(db) == 0 and count_imports(db) == 0


def test_unknown_service_type_and_unit_mismatch_by_column(db, run, agreement):
    data = csv_bytes(
        HEADER,
        f"{agreement.number};2026-10-01;1401;terapi;;1;;;",
        f"{agreement.number};2026-10-01;1401;utredning;;1;km;;",
    )
    errors = rows_of(rejected(run, data))
    assert [(row, column) for row, column, _ in errors] == [(2, "tjanst"), (3, "enhet")]
    assert errors[1][2] == "Tjänstetypen ”utredning” räknas i timmar, inte i kilometer."


def test_a_date_without_a_version_in_force(db, run, make_agreement, make_version):
    agreement = make_agreement()
    make_version(agreement, status="approved", effective_from=D(2025, 1, 1))
    errors = rows_of(
        rejected(
            run,
            csv_bytes("avtal;datum;kopare;tjanst;antal", f"{agreement.number};2024-12-31;1401;utredning;1"),
        )
    )
    assert errors == [
        (
            2,
            "datum",
            f"Ingen godkänd avtalsversion gäller 2024-12-31 för avtal {agreement.number}. "
            "Prestationer kan bara registreras för datum då godkända villkor gäller.",
        )
    ]


def test_case_transfer_reference(db, run, agreement, make_transfer):
    transfer = make_transfer(requesting="Härryda", performing="Göteborg", agreement=agreement)
    data = csv_bytes(
        "avtal;datum;kopare;tjanst;antal;arende",
        f"{agreement.number};2026-10-01;1401;utredning;1;{transfer.reference.lower()}",
    )
    run(data)
    assert stored(db)[0].case_transfer_id == transfer.id


def test_missing_values_are_named(db, run, agreement):
    errors = rows_of(rejected(run, csv_bytes(HEADER, ";2026-10-01;;;;;;;")))
    assert errors == [
        (2, "avtal", "Avtalsnummer saknas."),
        (2, "kopare", "Köpare saknas (ange kommunkod, t.ex. 1401, eller namn)."),
        (2, "tjanst", "Tjänstetyp saknas."),
        (2, "antal", "Antal saknas."),
    ]


def test_only_the_host_imports(db, run, agreement, make_user):
    buyer = make_user(roles=("caseworker",), kommun="Härryda")
    errors = rows_of(rejected(run, csv_bytes(HEADER, *good_rows(agreement.number)[:1]), user=buyer))
    assert errors[0][1] == "avtal" and "Er kommun är inte utförare" in errors[0][2]


def test_the_same_file_twice_is_detected(db, run, agreement, importer):
    data = csv_bytes(HEADER, *good_rows(agreement.number))
    first = run(data, filename="oktober.csv")
    with pytest.raises(DuplicateImport) as exc:
        run(data, filename="oktober-igen.csv")
    assert exc.value.status_code == 409
    message = exc.value.message
    assert "Samma fil har redan importerats" in message
    assert "av Ida Import" in message and "oktober.csv" in message and "3 rader" in message
    assert format_datetime(first.imported_at) in message
    assert count_services(db) == 3 and count_imports(db) == 1
    # One byte more is another file.
    assert run(data + b"\n").row_count == 3


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "Filen är tom."),
        (b"\xef\xbb\xbf  \r\n", "Filen är tom."),
        (HEADER.encode() + b"\r\n", "Filen innehåller bara en rubrikrad, inga prestationer."),
        (b"PK\x03\x04" + b"\x00" * 40, importing.FILE_IS_XLSX),
        (b"avtal;datum\x81\x8d\xff", "Filen kan inte läsas som text"),
        (b"avtal;datum\x00;kopare", "binära data"),
    ],
)
def test_unreadable_files_get_a_clear_message(db, run, data, message):
    exc = rejected(run, data)
    assert "rows" not in exc.errors
    assert message in exc.errors["file"][0]
    assert count_imports(db) == 0


def test_too_large_file(db, run, monkeypatch, agreement):
    monkeypatch.setattr(importing, "MAX_IMPORT_BYTES", 100)
    exc = rejected(run, csv_bytes(HEADER, *good_rows(agreement.number)))
    assert exc.errors["file"] == [
        "Filen är för stor: högst 100 byte per fil. Dela upp den i flera filer, t.ex. en per månad."
    ]


def test_the_limit_is_five_megabytes():
    assert importing.MAX_IMPORT_BYTES == 5 * 1024 * 1024


def test_unknown_and_missing_columns(db, run, agreement):
    exc = rejected(
        run,
        csv_bytes("avtal;datum;köpare;tjänst;pris;pris", f"{agreement.number};2026-10-01;1401;utredning;1;2"),
    )
    assert rows_of(exc) == [
        (1, "pris", f"Okänd kolumn ”pris”. Kolumnerna heter: {', '.join(importing.COLUMN_NAMES)}."),
        (1, "pris", f"Okänd kolumn ”pris”. Kolumnerna heter: {', '.join(importing.COLUMN_NAMES)}."),
        (
            1,
            "antal",
            f"Kolumnen ”antal” saknas i rubrikraden. Första raden ska vara t.ex. {importing.EXAMPLE_HEADER}.",
        ),
    ]


def test_a_column_twice(db, run, agreement):
    exc = rejected(run, csv_bytes("avtal;datum;kopare;tjanst;antal;Antal", "x;y;z;w;1;2"))
    assert rows_of(exc) == [(1, "antal", "Kolumnen ”Antal” finns två gånger i rubrikraden.")]


def test_example_file_is_importable(db, run, importer, agreement):
    data = importing.example_csv(db, importer)
    assert data.startswith(b"\xef\xbb\xbf" + importing.EXAMPLE_HEADER.encode())
    # The example's dates are the first of the current month: import it with "today" in that month.
    result = run(data)
    assert result.row_count >= 3
    assert {s.service_type_code for s in stored(db)} >= {"utredning", "resa", "utlagg"}


def test_fold():
    assert importing.fold("\ufeffKÖPARE ") == "kopare"
    assert importing.fold("Ärende-typ") == "arendetyp"
    assert importing.fold("Tjänst") == "tjanst"
