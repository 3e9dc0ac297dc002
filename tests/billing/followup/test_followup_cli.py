"""`flask billing followup`: one agreement or every agreement of a municipality, the PDF (frozen when
sent, else UTKAST) and the CSV into a folder; clear Swedish errors with exit code 1."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from billing.cli import billing_cli
from billing.followup import services
from tests.billing.followup.conftest import followup_pdf_text, need_wkhtmltopdf


@pytest.fixture
def followup_cli(app):
    def _run(*args: str):
        return app.test_cli_runner().invoke(billing_cli, ["followup", *args])

    return _run


def test_single_agreement_writes_draft_pdf_and_csv(followup_agreement, followup_cli, tmp_path):
    need_wkhtmltopdf()
    out = tmp_path / "ut"
    result = followup_cli("--agreement", followup_agreement.number, "--year", "2025", "--out", str(out))
    assert result.exit_code == 0, result.output
    name = f"uppfoljning-{followup_agreement.number}-2025-utkast"
    assert sorted(p.name for p in out.iterdir()) == [f"{name}.csv", f"{name}.pdf"]
    assert "UTKAST" in followup_pdf_text((out / f"{name}.pdf").read_bytes())
    assert "8137,50" in (out / f"{name}.csv").read_text(encoding="utf-8-sig")
    assert "Klart: 2 filer" in result.output


def test_sent_follow_up_is_written_as_the_frozen_pdf(app, db, followup_agreement, followup_cli, tmp_path):
    need_wkhtmltopdf()
    owner = followup_agreement.owner_user
    followup = services.get_or_create_followup(db, owner, followup_agreement, 2025, dt.date(2026, 11, 23))
    services.update_followup(db, owner, followup, {"recommendation": "terminate"})
    with app.app_context():
        services.send_followup(db, owner, followup, "Kommunstyrelsen", dt.date(2026, 11, 23))
    db.commit()
    result = followup_cli("--agreement", followup_agreement.number, "--year", "2025", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    pdf = (tmp_path / f"uppfoljning-{followup_agreement.number}-2025.pdf").read_bytes()
    assert hashlib.sha256(pdf).hexdigest() == followup.snapshot_sha256
    assert (tmp_path / f"uppfoljning-{followup_agreement.number}-2025.csv").exists()


def test_bulk_for_a_municipality(followup_agreement, make_agreement, followup_cli, tmp_path):
    need_wkhtmltopdf()
    other = make_agreement(host="Lerum", buyers=("Göteborg",), start_date=dt.date(2025, 1, 1))
    make_agreement(host="Ale", buyers=("Lerum",))  # Göteborg is no party: left out
    result = followup_cli("--municipality", "1480", "--year", "2025", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(
        f"uppfoljning-{a.number}-2025-utkast.{ext}"
        for a in (followup_agreement, other)
        for ext in ("pdf", "csv")
    )
    assert "Uppföljningar 2025 för Göteborg" in result.output  # the progress bar's label
    assert "Klart: 4 filer" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--agreement", "FINNS-INTE", "--year", "2025"], "Det finns inget avtal med nummer FINNS-INTE"),
        (["--agreement", "{number}", "--year", "2030"], "Året 2030 har inte börjat än"),
        (["--agreement", "{number}", "--year", "2020"], "utanför avtalets löptid"),
        (["--municipality", "9999", "--year", "2025"], "ingen kommun med kommunkod 9999"),
        (["--municipality", "1440", "--year", "2025"], "Ale är inte part i något avtal"),
        (["--year", "2025"], "ange antingen --agreement"),
        (
            ["--agreement", "{number}", "--municipality", "1480", "--year", "2025"],
            "ange antingen --agreement",
        ),
    ],
)
def test_errors_are_swedish_with_exit_code_1(followup_agreement, followup_cli, tmp_path, args, message):
    args = [a.replace("{number}", followup_agreement.number) for a in args]
    result = followup_cli(*args, "--out", str(tmp_path / "ut"))
    assert result.exit_code == 1
    assert "Fel:" in result.output and message in result.output
    assert not (tmp_path / "ut").exists() or not any((tmp_path / "ut").iterdir())


def test_unwritable_folder(followup_agreement, followup_cli, tmp_path):
    blocker = tmp_path / "fil.txt"
    blocker.write_text("inte en mapp")
    result = followup_cli(
        "--agreement", followup_agreement.number, "--year", "2025", "--out", str(blocker / "ut")
    )
    assert result.exit_code == 1
    assert "Fel: mappen" in result.output and "kan inte skapas" in result.output
