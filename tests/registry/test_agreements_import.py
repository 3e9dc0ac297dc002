"""`flask registry import-agreements FILE.csv`: all rows valid or nothing imported, every bad row
reported with its line number in Swedish; UTF-8 (with or without BOM) or Windows-1252, ; or ,."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from core.models import AuditEntry
from registry.cli import registry_cli
from registry.models import Agreement, AgreementStatus, Area, CooperationForm

HEADER = (
    "avtalsnummer;titel;område;samverkansform;rättslig grund;startdatum;slutdatum;"
    "förlängning månader;uppsägningstid månader;utförare;köpare"
)
GOOD_ROWS = (
    "GR-JAV-2024;Jävsärenden i GR;Jävsärenden;Avtalssamverkan;KL 9 kap. 37 §;2024-01-01;2026-12-31;12;6;1480;1401|1441",
    "MHP-FAM-2022;Familjerätt Mölndal;familjeratt;avtalssamverkan;KL 9 kap. 37 §;2022-01-01;;;6;1481;1401|1402",
)


def csv_bytes(*lines: str, encoding: str = "utf-8", newline: str = "\n") -> bytes:
    return (newline.join(lines) + newline).encode(encoding)


@pytest.fixture
def run(app, tmp_path):
    def _run(data: bytes, *options: str):
        path = tmp_path / "avtal.csv"
        path.write_bytes(data)
        return app.test_cli_runner().invoke(registry_cli, ["import-agreements", str(path), *options])

    return _run


def numbers(db) -> list[str]:
    db.expire_all()
    return list(db.scalars(select(Agreement.number).order_by(Agreement.number)))


def error_lines(result) -> list[str]:
    return [line for line in result.output.splitlines() if line.startswith("Rad ")]


def test_good_file_imports_every_agreement_with_its_parties(run, db):
    result = run(csv_bytes(HEADER, *GOOD_ROWS, encoding="utf-8-sig"))
    assert result.exit_code == 0, result.output
    assert "Klart: 2 avtal inlästa (GR-JAV-2024, MHP-FAM-2022)." in result.output
    assert numbers(db) == ["GR-JAV-2024", "MHP-FAM-2022"]
    gr = db.scalar(select(Agreement).where(Agreement.number == "GR-JAV-2024"))
    assert (gr.area, gr.cooperation_form, gr.status) == (
        Area.JAV,
        CooperationForm.AVTALSSAMVERKAN,
        AgreementStatus.DRAFT,
    )
    assert (gr.start_date, gr.end_date, gr.renewal_months, gr.notice_months) == (
        dt.date(2024, 1, 1),
        dt.date(2026, 12, 31),
        12,
        6,
    )
    assert gr.host.municipality.name == "Göteborg"
    assert sorted(p.municipality.name for p in gr.buyers) == ["Härryda", "Lerum"]
    fam = db.scalar(select(Agreement).where(Agreement.number == "MHP-FAM-2022"))
    assert (fam.end_date, fam.renewal_months, fam.owner_id) == (None, None, None)
    entry = db.scalar(
        select(AuditEntry).where(AuditEntry.entity == "agreements", AuditEntry.entity_id == str(gr.id))
    )
    assert entry.actor == "cli: import-agreements"


def test_one_bad_row_imports_nothing_and_every_bad_row_is_reported(run, db):
    result = run(
        csv_bytes(
            HEADER,
            GOOD_ROWS[0],
            "BAD-1;Titel;Skola;Avtalssamverkan;KL;2024-01-01;2023-12-31;12;6;1480;1401",
            GOOD_ROWS[1],
            "",
            "BAD-2;;Jävsärenden;Avtalssamverkan;KL;1 jan 2024;;;;9999;",
        )
    )
    assert result.exit_code == 1
    assert "Ingenting lästes in (2 fel)." in result.output
    lines = error_lines(result)
    assert [line.split(":")[0] for line in lines] == ["Rad 3", "Rad 6"]
    assert "Okänt område 'Skola'" in lines[0]
    assert "; slutdatum: Slutdatumet kan inte vara före startdatumet." in lines[0]
    assert "Ogiltigt startdatum '1 jan 2024' (ange ÅÅÅÅ-MM-DD)" in lines[1]
    assert "köpare saknas" in lines[1]
    assert "titel: Fältet får inte vara tomt" in lines[1]
    assert "utförare 9999: kommunkod: Det finns ingen kommun med kommunkod 9999." in lines[1]
    assert numbers(db) == []


def test_an_existing_agreement_number_is_an_error_for_that_row(run, make_agreement, db):
    make_agreement(number="GR-JAV-2024")
    result = run(csv_bytes(HEADER, *GOOD_ROWS))
    assert result.exit_code == 1
    assert error_lines(result) == [
        "Rad 2: Avtalsnummer: Avtalsnumret GR-JAV-2024 används redan av ett annat avtal. Välj ett annat nummer."
    ]
    assert numbers(db) == ["GR-JAV-2024"]


def test_importing_the_same_file_twice_is_refused_the_second_time(run, db):
    assert run(csv_bytes(HEADER, *GOOD_ROWS)).exit_code == 0
    again = run(csv_bytes(HEADER, *GOOD_ROWS))
    assert again.exit_code == 1
    assert len(error_lines(again)) == 2
    assert numbers(db) == ["GR-JAV-2024", "MHP-FAM-2022"]


def test_a_number_twice_in_the_file_is_reported(run, db):
    result = run(csv_bytes(HEADER, GOOD_ROWS[0], GOOD_ROWS[0].replace("Jävsärenden i GR", "Kopia")))
    assert result.exit_code == 1
    assert error_lines(result) == ["Rad 3: Avtalsnummer GR-JAV-2024 finns redan på rad 2."]
    assert numbers(db) == []


def test_windows_1252_with_commas_as_excel_saves_it(run, db):
    header = HEADER.replace(";", ",")
    rows = [
        "VN-FHEM-2025,Familjehemsrekrytering i Västernorrland,Familjehemsrekrytering,Avtalssamverkan,"
        "KL 9 kap. 37 §,2025-01-01,2027-12-31,24,9,2281,2260|2262",
    ]
    result = run(csv_bytes(header, *rows, encoding="cp1252", newline="\r\n"))
    assert result.exit_code == 0, result.output
    agreement = db.scalar(select(Agreement).where(Agreement.number == "VN-FHEM-2025"))
    assert agreement.title == "Familjehemsrekrytering i Västernorrland"
    assert agreement.legal_basis == "KL 9 kap. 37 §"
    assert agreement.host.municipality.name == "Sundsvall"
    assert sorted(p.municipality.name for p in agreement.buyers) == ["Timrå", "Ånge"]


def test_optional_columns_status_owner_description_and_host_board(run, make_user, db):
    owner = make_user(roles=("legal",), kommun="Härryda", email="avtal@harryda.test")
    header = HEADER + ";status;avtalsansvarig;beskrivning;utförarens nämnd"
    rows = [
        GOOD_ROWS[0] + ";Gällande;avtal@harryda.test;Extern delegering.;Socialnämnden Centrum",
        GOOD_ROWS[1] + ";Upphört;;;",
        "GR-X;Omförhandlas;jävsärenden;konsult;KL;2024-01-01;2026-12-31;12;6;1480;1401;under omförhandling;;;",
    ]
    result = run(csv_bytes(header, *rows))
    assert result.exit_code == 0, result.output
    db.expire_all()
    by_number = {a.number: a for a in db.scalars(select(Agreement))}
    gr = by_number["GR-JAV-2024"]
    assert (gr.status, gr.owner_id, gr.description, gr.host.board) == (
        AgreementStatus.ACTIVE,
        owner.id,
        "Extern delegering.",
        "Socialnämnden Centrum",
    )
    assert by_number["MHP-FAM-2022"].status == AgreementStatus.EXPIRED
    assert by_number["GR-X"].status == AgreementStatus.RENEGOTIATION
    assert by_number["GR-X"].cooperation_form == CooperationForm.KONSULT


def test_owner_option_is_the_default_owner(run, make_user, db):
    owner = make_user(roles=("admin",), kommun="Göteborg", email="registrator@goteborg.test")
    result = run(csv_bytes(HEADER, GOOD_ROWS[0]), "--owner", "Registrator@Goteborg.test")
    assert result.exit_code == 0, result.output
    assert db.scalar(select(Agreement.owner_id)) == owner.id


def test_owner_must_belong_to_a_party(run, make_user, db):
    make_user(roles=("admin",), kommun="Mölndal", email="annan@molndal.test")
    result = run(csv_bytes(HEADER + ";avtalsansvarig", GOOD_ROWS[0] + ";annan@molndal.test"))
    assert result.exit_code == 1
    assert error_lines(result) == [
        "Rad 2: Avtalsansvarig: Avtalsansvarig ska vara en aktiv användare i en av avtalets parter."
    ]
    unknown = run(csv_bytes(HEADER, GOOD_ROWS[0]), "--owner", "ingen@alls.test")
    assert unknown.exit_code == 1
    assert "Det finns ingen användare med e-postadressen ingen@alls.test." in unknown.output
    assert numbers(db) == []


def test_terminated_status_cannot_be_imported(run, db):
    result = run(csv_bytes(HEADER + ";status", GOOD_ROWS[0] + ";Uppsagt"))
    assert result.exit_code == 1
    assert "Uppsagda avtal läses inte in" in error_lines(result)[0]


def test_kommunkod_without_its_leading_zero_is_understood(run, db):
    row = "STH-JOUR-2025;Socialjour;Socialjour;Avtalssamverkan;KL;2025-01-01;;;3;180;114|123"
    result = run(csv_bytes(HEADER, row))
    assert result.exit_code == 0, result.output
    agreement = db.scalar(select(Agreement))
    assert agreement.host.municipality.kommunkod == "0180"
    assert sorted(p.municipality.kommunkod for p in agreement.buyers) == ["0114", "0123"]


def test_same_municipality_as_host_and_buyer_is_reported(run, db):
    row = GOOD_ROWS[0].replace("1401|1441", "1480|1441")
    result = run(csv_bytes(HEADER, row))
    assert error_lines(result) == [
        "Rad 2: Parter: Göteborg finns med mer än en gång. Varje kommun kan bara vara part en gång."
    ]


def test_personal_number_in_a_text_column_is_refused(run, db):
    row = GOOD_ROWS[0].replace("Jävsärenden i GR", "Ärende 811218-9876")
    result = run(csv_bytes(HEADER, row))
    assert result.exit_code == 1
    assert (
        "Titel: Texten innehåller ett personnummer eller samordningsnummer (811218-****)."
        in error_lines(result)[0]
    )
    assert numbers(db) == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "Filen är tom."),
        ("\ufeff".encode(), "Filen är tom."),
        (csv_bytes(HEADER), "Filen innehåller inga avtal, bara en rubrikrad."),
        (
            csv_bytes("avtalsnummer;titel;kommun", "X;Y;1480"),
            "Rad 1: Rubrikraden saknar kolumn: område, samverkansform, rättslig grund, startdatum, utförare, "
            "köpare; okänd kolumn: kommun. Första raden ska vara t.ex.",
        ),
    ],
)
def test_file_level_problems_are_explained(run, db, data, message):
    result = run(data)
    assert result.exit_code == 1
    assert message in result.output
    assert "Ingenting lästes in" in result.output
    assert db.scalar(select(func.count()).select_from(Agreement)) == 0


def test_row_with_too_many_fields_is_reported(run, db):
    result = run(csv_bytes(HEADER, GOOD_ROWS[0] + ";extra"))
    assert error_lines(result) == ["Rad 2: Raden har 12 fält men rubrikraden 11."]


def test_a_file_that_is_not_text_is_reported_not_a_crash(run, db):
    result = run(b"nummer;titel\n\x81\x8d\x8f;x\n")
    assert result.exit_code != 0
    assert "kan inte läsas som text" in result.output
    assert numbers(db) == []
