"""`flask billing import-services --file F --user EMAIL`: the import as that user, all or nothing, the row
errors printed and exit code 1 on errors."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from billing.cli import billing_cli
from billing.models import PerformedService, ServiceImport
from tests.billing import services_support as support
from tests.billing.services_support import PERSONAL_NUMBER, count_services, csv_bytes

agreement = support.agreement
approve = support.approve
fixed_today = support.fixed_today


@pytest.fixture
def run(app, tmp_path):
    def _run(data: bytes, email: str, name: str = "prestationer.csv"):
        path = tmp_path / name
        path.write_bytes(data)
        return app.test_cli_runner().invoke(
            billing_cli, ["import-services", "--file", str(path), "--user", email]
        )

    return _run


def test_import_as_the_user(run, make_user, agreement, db):
    user = make_user(roles=("caseworker",), kommun="Göteborg")
    data = csv_bytes(
        "avtal;datum;kopare;tjanst;antal",
        f"{agreement.number};2026-10-01;1401;utredning;2,5",
        f"{agreement.number};2026-10-02;Lerum;resa;12",
        encoding="cp1252",
    )
    result = run(data, user.email.upper())
    assert result.exit_code == 0, result.output
    service_import = db.scalar(select(ServiceImport))
    assert f"2 rader importerade (import {service_import.id}, prestationer.csv)" in result.output
    assert service_import.imported_by_id == user.id
    assert {s.registered_by_id for s in db.scalars(select(PerformedService))} == {user.id}


def test_row_errors_are_printed_and_nothing_is_imported(run, make_user, agreement, db):
    user = make_user(roles=("caseworker",), kommun="Göteborg")
    data = csv_bytes(
        "avtal;datum;kopare;tjanst;antal;anteckning",
        f"{agreement.number};2026-10-01;1401;utredning;2,5;",
        f"{agreement.number};2026-10-01;1401;terapi;1;{PERSONAL_NUMBER}",
    )
    result = run(data, user.email)
    assert result.exit_code == 1
    assert "Filen importerades inte: 2 fel på 1 rad." in result.output
    assert "  Rad 3, tjanst: Tjänstetypen ”terapi” finns inte" in result.output
    assert "  Rad 3, anteckning: Texten innehåller ett personnummer" in result.output
    assert count_services(db) == 0


def test_duplicate_file(run, make_user, agreement, db):
    user = make_user(roles=("caseworker",), kommun="Göteborg")
    data = csv_bytes("avtal;datum;kopare;tjanst;antal", f"{agreement.number};2026-10-01;1401;utredning;1")
    assert run(data, user.email).exit_code == 0
    again = run(data, user.email, name="kopia.csv")
    assert again.exit_code == 1 and "Samma fil har redan importerats" in again.output
    assert count_services(db) == 1


def test_unknown_user_and_role_without_rights(run, make_user, agreement, db):
    data = csv_bytes("avtal;datum;kopare;tjanst;antal", f"{agreement.number};2026-10-01;1401;utredning;1")
    result = run(data, "ingen@goteborg.test")
    assert result.exit_code == 1 and "det finns ingen aktiv användare" in result.output
    auditor = make_user(roles=("auditor",), kommun="Göteborg")
    result = run(data, auditor.email)
    assert result.exit_code == 1 and "Fel: Du har inte behörighet till detta." in result.output
    assert count_services(db) == 0


def test_unreadable_file(run, make_user):
    user = make_user(roles=("caseworker",), kommun="Göteborg")
    result = run(b"", user.email)
    assert result.exit_code == 1 and "Filen är tom." in result.output


def test_command_is_in_the_flask_billing_group(app):
    result = app.test_cli_runner().invoke(args=["billing", "import-services", "--help"])
    assert result.exit_code == 0 and "kopare" in result.output
