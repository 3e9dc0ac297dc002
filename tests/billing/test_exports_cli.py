"""`flask billing export --format peppol|sie|csv|pdf --run N --out DIR`: an issued run's files (PDF and
Peppol exactly as stored), Swedish output, exit code 1 for a run that is not issued or does not
exist."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from flask_login import login_user

from billing.cli import billing_cli
from billing.exports import documents
from billing.models import AccountingSettings, DocumentFormat, RunStatus
from tests.billing.exports_support import issue, make_run, need_pdf_tools, need_rules, set_details


@pytest.fixture
def agreement(make_agreement, db, municipality):
    set_details(db, municipality)
    return make_agreement(number="GR-JAV-2024", title="Jävsärenden i Göteborgsregionen")


@pytest.fixture
def rendering(app, make_user):
    user = make_user(roles=("finance",), kommun="Göteborg")

    @contextmanager
    def _enter():
        with app.test_request_context("/"):
            login_user(user)
            yield

    return _enter


@pytest.fixture
def export(app):
    def _export(*args: str):
        return app.test_cli_runner().invoke(billing_cli, ["export", *args])

    return _export


@pytest.fixture
def issued_run(db, make_invoice, agreement, municipality, rendering):
    need_pdf_tools()
    need_rules()
    run = make_run(db, municipality, status=RunStatus.APPROVED)
    with rendering():
        invoices = [issue(db, make_invoice(agreement, buyer=b, run=run)) for b in ("Härryda", "Lerum")]
    run.status = RunStatus.ISSUED
    db.commit()
    return run, invoices


@pytest.mark.parametrize(
    ("fmt", "suffix", "source"),
    [("pdf", ".pdf", DocumentFormat.PDF), ("peppol", ".xml", DocumentFormat.PEPPOL)],
)
def test_pdf_and_peppol_files_are_the_stored_bytes(db, issued_run, export, tmp_path, fmt, suffix, source):
    run, invoices = issued_run
    out = tmp_path / "ut"
    result = export("--format", fmt, "--run", str(run.id), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert f"Klart: 2 filer från fakturakörning {run.id}" in result.output
    assert "Exporterar" in result.output  # the progress bar
    for invoice in invoices:
        path = out / f"faktura_{invoice.display_number}{suffix}"
        assert path.read_bytes() == documents.stored_document(db, invoice, source).content


def test_sie_and_csv_are_one_file_each(db, issued_run, export, tmp_path, municipality):
    run, _ = issued_run
    db.add(
        AccountingSettings(
            municipality_id=municipality("Göteborg").id,
            receivable_account="1510",
            revenue_account="3041",
            output_vat_account="2611",
            voucher_series="F",
        )
    )
    db.commit()
    result = export("--format", "sie", "--run", str(run.id), "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    sie_file = tmp_path / f"fakturakorning_{run.id}_2026-10-01_2026-10-31.SI"
    assert sie_file.read_bytes().startswith(b"#FLAGGA 0\r\n")
    result = export("--format", "csv", "--run", str(run.id), "--out", str(tmp_path))
    assert result.exit_code == 0
    assert (
        (tmp_path / f"fakturakorning_{run.id}_2026-10-01_2026-10-31.csv")
        .read_bytes()
        .startswith(b"\xef\xbb\xbf")
    )


def test_sie_without_configuration_exits_1_with_the_reason(db, issued_run, export, tmp_path):
    run, _ = issued_run
    result = export("--format", "sie", "--run", str(run.id), "--out", str(tmp_path))
    assert result.exit_code == 1
    assert "Fel: SIE-filen kan inte skapas: bokföringsinställningarna saknas" in result.output


def test_a_run_that_is_not_issued_exits_1(db, make_invoice, agreement, municipality, export, tmp_path):
    run = make_run(db, municipality, status=RunStatus.DRAFT)
    make_invoice(agreement, run=run)
    result = export("--format", "pdf", "--run", str(run.id), "--out", str(tmp_path / "ut"))
    assert result.exit_code == 1
    assert f"Fakturakörning {run.id} är inte utfärdad" in result.output
    assert not (tmp_path / "ut").exists()


def test_unknown_run_and_format(export, tmp_path):
    result = export("--format", "pdf", "--run", "999999", "--out", str(tmp_path))
    assert result.exit_code == 1 and "fakturakörning 999999 finns inte" in result.output
    assert export("--format", "xlsx", "--run", "1", "--out", str(tmp_path)).exit_code == 2
