"""Attachments: PDF, DOCX and ODT judged by their content, size limits, sha256, downloads for the
parties only, and deletion only while the agreement is a draft."""

from __future__ import annotations

import hashlib
import io
from html import unescape

import pytest
from sqlalchemy import func, select

from core.models import AuditEntry
from registry.models import AgreementAttachment, AgreementStatus
from tests.registry.test_agreements_support import (
    DOCX_MEDIA_TYPE,
    EXE,
    ODT_MEDIA_TYPE,
    PDF,
    docx_bytes,
    odt_bytes,
    plain_zip_bytes,
)


def upload_page(c, agreement, data: bytes, filename: str, description: str = ""):
    return c.post_form(
        f"/avtal/{agreement.id}/bilagor",
        {"file": (io.BytesIO(data), filename), "description": description},
        content_type="multipart/form-data",
    )


def upload_api(c, agreement, data: bytes, filename: str, **fields):
    return c.api(
        "post",
        f"/api/v1/agreements/{agreement.id}/attachments",
        data={"file": (io.BytesIO(data), filename), **fields},
        content_type="multipart/form-data",
    )


def attachment_count(db) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(AgreementAttachment))


@pytest.fixture
def agreement(make_agreement):
    return make_agreement(host="Göteborg", buyers=("Härryda", "Lerum"), status=AgreementStatus.DRAFT)


@pytest.fixture
def admin(login_as):
    return login_as("admin", kommun="Härryda")


def test_uploaded_pdf_is_stored_with_its_sha256_and_shown(admin, agreement, db):
    response = upload_page(admin, agreement, PDF, "Avtal undertecknat.pdf", "Undertecknat avtal")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/avtal/{agreement.id}#bilagor")
    db.expire_all()
    stored = db.scalar(select(AgreementAttachment).where(AgreementAttachment.agreement_id == agreement.id))
    digest = hashlib.sha256(PDF).hexdigest()
    assert (stored.filename, stored.media_type, stored.size_bytes, stored.sha256) == (
        "Avtal undertecknat.pdf",
        "application/pdf",
        len(PDF),
        digest,
    )
    assert stored.description == "Undertecknat avtal"
    assert stored.uploaded_by_id == admin.user.id
    page = admin.get(f"/avtal/{agreement.id}").get_data(as_text=True)
    assert f'<code class="sha256">{digest}</code>' in page
    assert f"SHA-256 {digest}" in page  # the confirmation says it too


def test_party_download_returns_identical_bytes_with_safe_headers(admin, agreement, login_as):
    upload_page(admin, agreement, PDF, "Avtal Härryda–Göteborg.pdf")
    attachment_id = admin.api("get", f"/api/v1/agreements/{agreement.id}/attachments").json[0]["id"]
    # A finance user of another party (Lerum, a buyer) may read and download.
    reader = login_as("finance", kommun="Lerum")
    for url in (
        f"/avtal/{agreement.id}/bilagor/{attachment_id}",
        f"/api/v1/agreements/{agreement.id}/attachments/{attachment_id}/content",
    ):
        response = reader.get(url)
        assert response.status_code == 200
        assert response.data == PDF
        assert hashlib.sha256(response.data).hexdigest() == hashlib.sha256(PDF).hexdigest()
        assert response.headers["Content-Type"] == "application/pdf"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "private, no-store"
        disposition = response.headers["Content-Disposition"]
        assert disposition.startswith("attachment;")
        assert "filename*=UTF-8''Avtal%20H%C3%A4rryda%E2%80%93G%C3%B6teborg.pdf" in disposition
        assert response.headers["Repr-Digest"].startswith("sha-256=:")


def test_docx_and_odt_are_accepted_by_content(admin, agreement):
    response = upload_api(admin, agreement, docx_bytes(), "bilaga.docx", description="Bilaga 1")
    assert response.status_code == 201, response.json
    assert response.json["media_type"] == DOCX_MEDIA_TYPE
    assert response.json["description"] == "Bilaga 1"
    response = upload_api(admin, agreement, odt_bytes(), "Protokoll.ODT")
    assert response.status_code == 201, response.json
    assert response.json["media_type"] == ODT_MEDIA_TYPE
    assert response.json["sha256"] == hashlib.sha256(odt_bytes()).hexdigest()
    listed = admin.api("get", f"/api/v1/agreements/{agreement.id}/attachments").json
    assert [a["filename"] for a in listed] == ["bilaga.docx", "Protokoll.ODT"]


REFUSED = {
    "zip named .pdf": (plain_zip_bytes(), "avtal.pdf", "avtal.pdf är inte en PDF-, DOCX- eller ODT-fil."),
    "program named .pdf": (EXE, "avtal.pdf", "avtal.pdf är inte en PDF-, DOCX- eller ODT-fil."),
    "PDF named .odt": (
        PDF,
        "avtal.odt",
        "Filnamnet avtal.odt stämmer inte med innehållet, som är PDF. Ge filen ändelsen .pdf",
    ),
    "DOCX named .pdf": (
        docx_bytes(),
        "avtal.pdf",
        "Filnamnet avtal.pdf stämmer inte med innehållet, som är Word (DOCX).",
    ),
    "macro-enabled Word file named .docx": (docx_bytes(macro_enabled=True), "avtal.docx", "är inte en PDF-"),
    "OpenDocument spreadsheet named .odt": (
        odt_bytes(b"application/vnd.oasis.opendocument.spreadsheet"),
        "avtal.odt",
        "är inte en PDF-",
    ),
    "old Word .doc": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "avtal.doc", "är inte en PDF-"),
    "empty file": (b"", "avtal.pdf", "avtal.pdf är tom (0 byte)."),
    "personal number in the file name": (
        PDF,
        "Beslut 811218-9876.pdf",
        "Texten innehåller ett personnummer eller samordningsnummer (811218-****).",
    ),
}


@pytest.mark.parametrize("case", list(REFUSED), ids=list(REFUSED))
def test_disguised_or_empty_files_are_refused_on_the_page(admin, agreement, db, case):
    data, filename, message = REFUSED[case]
    response = upload_page(admin, agreement, data, filename)
    assert response.status_code == 422
    assert message in unescape(response.get_data(as_text=True))
    assert attachment_count(db) == 0


@pytest.mark.parametrize("case", ["zip named .pdf", "PDF named .odt", "program named .pdf", "empty file"])
def test_disguised_or_empty_files_are_refused_by_the_api(admin, agreement, db, case):
    data, filename, message = REFUSED[case]
    response = upload_api(admin, agreement, data, filename)
    assert response.status_code == 422
    assert message in response.json["errors"]["file"][0]
    assert attachment_count(db) == 0


def test_files_over_the_size_limit_are_refused(admin, agreement, app, monkeypatch, db):
    monkeypatch.setitem(app.config, "REGISTRY_ATTACHMENT_MAX_BYTES", 2048)
    big = PDF + b"%" * 2048
    response = upload_page(admin, agreement, big, "stort.pdf")
    assert response.status_code == 422
    html = unescape(response.get_data(as_text=True))
    assert "stort.pdf är för stor. Högsta tillåtna storlek är 2 kB." in html
    assert "högst 2 kB" in html  # the form's hint tells the limit before anyone tries
    api = upload_api(admin, agreement, big, "stort.pdf")
    assert api.status_code == 422
    assert api.json["errors"]["file"] == ["stort.pdf är för stor. Högsta tillåtna storlek är 2 kB."]
    # Exactly at the limit is fine.
    assert upload_api(admin, agreement, PDF + b"%" * (2048 - len(PDF)), "lagom.pdf").status_code == 201
    assert attachment_count(db) == 1


def test_default_limit_is_ten_mebibytes(app, admin, agreement):
    from registry.agreements import services

    with app.app_context():
        assert services.max_attachment_bytes() == 10 * 1024 * 1024
    assert "högst 10 MB" in admin.get(f"/avtal/{agreement.id}").get_data(as_text=True)


def test_missing_file_is_explained(admin, agreement):
    response = admin.post_form(f"/avtal/{agreement.id}/bilagor", {"description": "x"})
    assert response.status_code == 422
    assert "Välj en fil att ladda upp." in response.get_data(as_text=True)
    api = admin.api("post", f"/api/v1/agreements/{agreement.id}/attachments", data={"description": "x"})
    assert api.status_code == 422
    assert api.json["errors"]["file"] == ["Fältet måste fyllas i."]


def test_api_upload_refuses_unknown_fields(admin, agreement, db):
    response = upload_api(admin, agreement, PDF, "avtal.pdf", checksum="abc")
    assert response.status_code == 422
    assert response.json["errors"] == {"checksum": ["Okänt fält."]}
    assert attachment_count(db) == 0


def test_description_refuses_a_personal_number(admin, agreement, db):
    response = upload_page(admin, agreement, PDF, "avtal.pdf", "Gäller 19811218-9876")
    assert response.status_code == 422
    assert "personnummer" in response.get_data(as_text=True)
    assert attachment_count(db) == 0


def test_file_name_is_cleaned_of_paths_and_control_characters(admin, agreement):
    response = upload_api(admin, agreement, PDF, "C:/Users/anna/../Avtal\x07 <slutlig>.pdf")
    assert response.status_code == 201, response.json
    assert response.json["filename"] == "Avtal _slutlig_.pdf"


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("..\\..\\Windows\\avtal.pdf", "avtal.pdf"),
        ('"avtal"\r\n;.pdf', "_avtal__.pdf"),
        ("  .hemlig.pdf  ", "hemlig.pdf"),
        ("Avtal\u202eFDP.exe.pdf", "AvtalFDP.exe.pdf"),  # no right-to-left override tricks
        ("a" * 300 + ".docx", "a" * 250 + ".docx"),
        ("../", ""),
    ],
)
def test_clean_filename(raw, clean):
    from registry.agreements.services import clean_filename

    assert clean_filename(raw) == clean


def test_non_party_gets_404_for_the_attachment(admin, agreement, login_as):
    upload_page(admin, agreement, PDF, "avtal.pdf")
    attachment_id = admin.api("get", f"/api/v1/agreements/{agreement.id}/attachments").json[0]["id"]
    outsider = login_as("admin", kommun="Mölndal")
    for url in (
        f"/avtal/{agreement.id}/bilagor/{attachment_id}",
        f"/api/v1/agreements/{agreement.id}/attachments/{attachment_id}/content",
        f"/api/v1/agreements/{agreement.id}/attachments/{attachment_id}",
        f"/api/v1/agreements/{agreement.id}/attachments",
    ):
        response = outsider.get(url)
        assert response.status_code == 404, url
        assert PDF not in response.data
    assert upload_page(outsider, agreement, PDF, "intrång.pdf").status_code == 404


def test_attachment_of_another_agreement_is_not_reachable_through_this_one(admin, agreement, make_agreement):
    other = make_agreement(host="Härryda", buyers=("Ale",))
    upload_page(admin, other, PDF, "annat.pdf")
    other_id = admin.api("get", f"/api/v1/agreements/{other.id}/attachments").json[0]["id"]
    assert admin.get(f"/avtal/{agreement.id}/bilagor/{other_id}").status_code == 404


def test_finance_of_a_party_cannot_upload_or_delete(login_as, admin, agreement, db):
    upload_page(admin, agreement, PDF, "avtal.pdf")
    attachment_id = admin.api("get", f"/api/v1/agreements/{agreement.id}/attachments").json[0]["id"]
    finance = login_as("finance", kommun="Härryda")
    assert upload_page(finance, agreement, PDF, "mer.pdf").status_code == 403
    assert upload_api(finance, agreement, PDF, "mer.pdf").status_code == 403
    assert finance.post_form(f"/avtal/{agreement.id}/bilagor/{attachment_id}/ta-bort").status_code == 403
    page = finance.get(f"/avtal/{agreement.id}").get_data(as_text=True)
    assert "Ladda upp en bilaga" not in page and "Ta bort" not in page
    assert attachment_count(db) == 1


def test_attachments_can_be_removed_while_the_agreement_is_a_draft(admin, agreement, db):
    upload_page(admin, agreement, PDF, "fel fil.pdf")
    attachment_id = admin.api("get", f"/api/v1/agreements/{agreement.id}/attachments").json[0]["id"]
    assert 'data-confirm="Ta bort bilagan fel fil.pdf?"' in admin.get(f"/avtal/{agreement.id}").get_data(
        as_text=True
    )
    response = admin.post_form(
        f"/avtal/{agreement.id}/bilagor/{attachment_id}/ta-bort", follow_redirects=True
    )
    assert "Bilagan fel fil.pdf är borttagen." in response.get_data(as_text=True)
    assert attachment_count(db) == 0


@pytest.mark.parametrize(
    "status",
    [
        AgreementStatus.ACTIVE,
        AgreementStatus.RENEGOTIATION,
        AgreementStatus.TERMINATED,
        AgreementStatus.EXPIRED,
    ],
)
def test_attachments_are_immutable_once_the_agreement_has_left_draft(login_as, make_agreement, db, status):
    agreement = make_agreement(status=status)
    admin = login_as("admin", kommun="Härryda")
    # Uploading is still possible (e.g. the termination letter of a terminated agreement) ...
    assert upload_api(admin, agreement, PDF, "uppsägning.pdf").status_code == 201
    attachment_id = admin.api("get", f"/api/v1/agreements/{agreement.id}/attachments").json[0]["id"]
    # ... but removing is not, on the page or in the API.
    page = admin.post_form(f"/avtal/{agreement.id}/bilagor/{attachment_id}/ta-bort")
    assert page.status_code == 409
    assert "bilagor är underlag och får bara tas bort medan avtalet är ett utkast" in page.get_data(
        as_text=True
    )
    api = admin.api("delete", f"/api/v1/agreements/{agreement.id}/attachments/{attachment_id}")
    assert api.status_code == 409
    assert attachment_count(db) == 1
    assert "Ta bort" not in admin.get(f"/avtal/{agreement.id}").get_data(as_text=True)


def test_api_deletes_a_draft_attachment(admin, agreement, db):
    created = upload_api(admin, agreement, PDF, "avtal.pdf").json
    response = admin.api("delete", f"/api/v1/agreements/{agreement.id}/attachments/{created['id']}")
    assert response.status_code == 204
    assert attachment_count(db) == 0


def test_upload_is_audited_without_the_content(admin, agreement, db):
    created = upload_api(admin, agreement, PDF, "avtal.pdf").json
    db.expire_all()
    entry = db.scalar(
        select(AuditEntry).where(
            AuditEntry.entity == "agreement_attachments", AuditEntry.entity_id == str(created["id"])
        )
    )
    assert entry.action == "insert"
    assert entry.changes["sha256"] == [None, hashlib.sha256(PDF).hexdigest()]
    assert entry.changes["content"] == [None, "***"]
