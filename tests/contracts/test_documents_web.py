"""Documents of a version (signed scans, PUB-avtal, cost calculation, other appendices): upload with the
registry's checks and sha256, link an existing attachment, unlink; the status rules (draft: anything;
in review: nothing; approved: only a signed scan, nothing removed); the page, the panel on the version
page and the API; who may do what (party roles, 404 for non-parties)."""

from __future__ import annotations

import hashlib
import io
from html import unescape

import pytest
from flask import render_template_string
from flask_login import login_user
from sqlalchemy import func, select

from contracts.documents import services
from contracts.documents.errors import DocumentRefused
from contracts.errors import VersionImmutable
from contracts.models import ContractVersionDocument, DocumentKind, VersionStatus
from core.errors import PermissionDenied
from registry.models import AgreementAttachment

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
SCAN = b"%PDF-1.7\n% underskrivet av samtliga parter\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"


@pytest.fixture
def agreement(make_agreement):
    return make_agreement(host="Göteborg", buyers=("Härryda", "Lerum"), number="GR-JAV-2024")


@pytest.fixture
def draft(agreement, make_version):
    return make_version(agreement, status="draft")


@pytest.fixture
def approved(agreement, make_version):
    return make_version(agreement, status="approved")


@pytest.fixture
def in_review(agreement, make_version):
    return make_version(agreement, status="in_review")


@pytest.fixture
def attachment(db, agreement):
    """A file already stored with the agreement (through the registry)."""

    def _make(filename="Underlag.pdf", content=PDF) -> AgreementAttachment:
        row = AgreementAttachment(
            agreement=agreement,
            filename=filename,
            media_type="application/pdf",
            size_bytes=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            content=content,
        )
        db.add(row)
        db.commit()
        return row

    return _make


def upload_page(
    client, version, data: bytes, filename: str, kind: str = "signed_scan", description: str = ""
):
    return client.post_form(
        f"/avtalsversioner/{version.id}/dokument/ladda-upp",
        {"file": (io.BytesIO(data), filename), "kind": kind, "description": description},
        content_type="multipart/form-data",
    )


def upload_api(client, version, data: bytes, filename: str, **fields):
    return client.api(
        "post",
        f"/api/v1/contract-versions/{version.id}/documents",
        data={"file": (io.BytesIO(data), filename), **fields},
        content_type="multipart/form-data",
    )


def link_api(client, version, attachment_id: int, kind: str):
    return client.api(
        "post",
        f"/api/v1/contract-versions/{version.id}/documents/link",
        json={"attachment_id": attachment_id, "kind": kind},
    )


def documents_of(db, version) -> list[ContractVersionDocument]:
    db.expire_all()
    return list(
        db.scalars(select(ContractVersionDocument).where(ContractVersionDocument.version_id == version.id))
    )


# --- Upload and the sha256 ---------------------------------------------------------------------------


def test_signed_scan_is_stored_with_its_sha256_and_shown(login_as, approved, db):
    client = login_as("legal", kommun="Göteborg")
    response = upload_page(client, approved, SCAN, "Avtal underskrivet.pdf")
    assert response.status_code == 302
    digest = hashlib.sha256(SCAN).hexdigest()
    [document] = documents_of(db, approved)
    assert document.kind == DocumentKind.SIGNED_SCAN
    assert document.attachment.sha256 == digest
    assert document.attachment.content == SCAN
    assert document.attachment.agreement_id == approved.agreement_id  # stored among the agreement's files
    assert document.attachment.uploaded_by_id == client.user.id and document.added_by_id == client.user.id
    page = unescape(client.get(response.headers["Location"]).get_data(as_text=True))
    assert "Avtal underskrivet.pdf" in page
    assert digest in page
    assert "Underskrivet avtal (skannat)" in page
    assert client.user.name in page
    assert f"SHA-256 {digest}" in page  # the flash message


def test_upload_through_the_api_returns_the_sha256(login_as, draft, db):
    client = login_as("finance", kommun="Lerum")  # finance may not touch the registry, but may do this
    response = upload_api(client, draft, PDF, "Kalkyl 2024.pdf", kind="cost_calculation")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["kind"] == "cost_calculation"
    assert body["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert body["filename"] == "Kalkyl 2024.pdf"
    assert body["description"] == "Kostnadskalkyl, version 1"
    assert (
        body["download_url"]
        == f"/api/v1/agreements/{draft.agreement_id}/attachments/{body['attachment_id']}/content"
    )
    listed = client.api("get", f"/api/v1/contract-versions/{draft.id}/documents").get_json()
    assert [d["id"] for d in listed] == [body["id"]]
    download = client.get(body["download_url"])
    assert download.status_code == 200 and download.data == PDF


def test_rejected_file_type_gets_a_swedish_error(login_as, draft, db):
    client = login_as("admin", kommun="Härryda")
    page = upload_page(client, draft, EXE, "avtal.pdf")
    assert page.status_code == 422
    html = unescape(page.get_data(as_text=True))
    assert "avtal.pdf är inte en PDF-, DOCX- eller ODT-fil" in html
    api = upload_api(client, draft, b"hej", "avtal.txt", kind="other")
    assert api.status_code == 422
    assert "inte en PDF-, DOCX- eller ODT-fil" in api.get_json()["errors"]["file"][0]
    assert documents_of(db, draft) == []
    assert db.scalar(select(func.count()).select_from(AgreementAttachment)) == 0


def test_too_large_file_is_refused(app, login_as, draft, monkeypatch):
    monkeypatch.setitem(app.config, "REGISTRY_ATTACHMENT_MAX_BYTES", 20)
    response = upload_api(login_as("legal", kommun="Göteborg"), draft, PDF, "stor.pdf", kind="other")
    assert response.status_code == 422
    assert "för stor" in response.get_json()["errors"]["file"][0]


def test_missing_or_unknown_kind_is_422(login_as, draft):
    client = login_as("legal", kommun="Göteborg")
    page = upload_page(client, draft, PDF, "a.pdf", kind="")
    assert page.status_code == 422
    assert "Välj vilket slags dokument det är" in unescape(page.get_data(as_text=True))
    api = upload_api(client, draft, PDF, "a.pdf", kind="kontrakt")
    assert api.status_code == 422
    assert "kind" in api.get_json()["errors"]


# --- The status rules ------------------------------------------------------------------------------------


def test_draft_links_and_unlinks_any_kind(login_as, draft, attachment, db):
    client = login_as("legal", kommun="Göteborg")
    pub = attachment("PUB-avtal.pdf")
    response = link_api(client, draft, pub.id, "pub_agreement")
    assert response.status_code == 201
    document_id = response.get_json()["id"]
    again = link_api(client, draft, pub.id, "other")
    assert again.status_code == 409
    assert "redan kopplad" in again.get_json()["message"]
    deleted = client.api("delete", f"/api/v1/contract-versions/{draft.id}/documents/{document_id}")
    assert deleted.status_code == 204
    assert documents_of(db, draft) == []
    assert db.get(AgreementAttachment, pub.id) is not None  # the file stays with the agreement


def test_linking_a_signed_scan_after_approval_works(login_as, approved, attachment, db):
    scan = attachment("Underskrivet.pdf", SCAN)
    response = link_api(login_as("admin", kommun="Lerum"), approved, scan.id, "signed_scan")
    assert response.status_code == 201
    assert response.get_json()["sha256"] == hashlib.sha256(SCAN).hexdigest()
    [document] = documents_of(db, approved)
    assert document.kind == DocumentKind.SIGNED_SCAN
    assert document.version.status == VersionStatus.APPROVED


def test_pub_agreement_after_approval_is_refused(login_as, approved, attachment, db):
    client = login_as("legal", kommun="Göteborg")
    pub = attachment("PUB-avtal.pdf")
    response = link_api(client, approved, pub.id, "pub_agreement")
    assert response.status_code == 409
    body = response.get_json()
    assert "bara det underskrivna avtalet" in body["message"]
    upload = upload_api(client, approved, PDF, "PUB.pdf", kind="pub_agreement")
    assert upload.status_code == 409
    page = upload_page(client, approved, PDF, "PUB.pdf", kind="pub_agreement")
    assert page.status_code == 409
    assert "bara det underskrivna avtalet" in unescape(page.get_data(as_text=True))
    assert documents_of(db, approved) == []
    assert db.scalar(select(func.count()).select_from(AgreementAttachment)) == 1  # nothing stored on refusal


def test_nothing_is_removed_from_an_approved_version(login_as, approved, attachment, db):
    client = login_as("legal", kommun="Göteborg")
    scan = link_api(client, approved, attachment("Underskrivet.pdf", SCAN).id, "signed_scan").get_json()
    response = client.api("delete", f"/api/v1/contract-versions/{approved.id}/documents/{scan['id']}")
    assert response.status_code == 409
    assert "kan inte tas bort" in response.get_json()["message"]
    page = client.post_form(f"/avtalsversioner/{approved.id}/dokument/{scan['id']}/ta-bort")
    assert page.status_code == 409
    assert len(documents_of(db, approved)) == 1


def test_in_review_nothing_changes_not_even_a_signed_scan(login_as, in_review, attachment, db):
    client = login_as("legal", kommun="Göteborg")
    response = link_api(client, in_review, attachment("Underskrivet.pdf", SCAN).id, "signed_scan")
    assert response.status_code == 409
    assert "juridisk granskning" in response.get_json()["message"]
    page = unescape(client.get(f"/avtalsversioner/{in_review.id}/dokument").get_data(as_text=True))
    assert "Under granskningen kan inga dokument läggas till eller tas bort" in page
    assert "Ladda upp ett dokument" not in page  # no form that would only be refused


def test_the_database_guard_refuses_a_pub_agreement_under_an_approved_version(approved, attachment, db):
    """The last lines behind the service: the flush guard and the database triggers."""
    db.add(
        ContractVersionDocument(
            version_id=approved.id, attachment=attachment(), kind=DocumentKind.PUB_AGREEMENT
        )
    )
    with pytest.raises(VersionImmutable):
        db.flush()
    db.rollback()


def test_link_of_another_agreements_file_is_422(login_as, draft, make_agreement, db):
    other = make_agreement(host="Göteborg", buyers=("Härryda",))
    foreign = AgreementAttachment(
        agreement=other,
        filename="x.pdf",
        media_type="application/pdf",
        size_bytes=len(PDF),
        sha256=hashlib.sha256(PDF).hexdigest(),
        content=PDF,
    )
    db.add(foreign)
    db.commit()
    response = link_api(login_as("legal", kommun="Göteborg"), draft, foreign.id, "other")
    assert response.status_code == 422
    assert "attachment_id" in response.get_json()["errors"]


# --- Who may do what -----------------------------------------------------------------------------------


def test_caseworker_reads_and_downloads_but_does_not_upload(login_as, approved, attachment, db):
    scan = attachment("Underskrivet.pdf", SCAN)
    link_api(login_as("legal", kommun="Göteborg"), approved, scan.id, "signed_scan")
    client = login_as("caseworker", kommun="Härryda")
    page = client.get(f"/avtalsversioner/{approved.id}/dokument")
    assert page.status_code == 200
    html = unescape(page.get_data(as_text=True))
    assert "Underskrivet.pdf" in html and scan.sha256 in html
    assert "Ladda upp ett dokument" not in html
    assert client.get(f"/avtal/{approved.agreement_id}/bilagor/{scan.id}").data == SCAN
    assert client.api("get", f"/api/v1/contract-versions/{approved.id}/documents").status_code == 200
    assert upload_page(client, approved, SCAN, "b.pdf").status_code == 403
    assert upload_api(client, approved, SCAN, "b.pdf", kind="signed_scan").status_code == 403
    assert link_api(client, approved, attachment("c.pdf").id, "signed_scan").status_code == 403
    assert len(documents_of(db, approved)) == 1


def test_non_party_gets_404_everywhere(login_as, draft, attachment, db):
    pub = attachment("PUB.pdf")
    link_api(login_as("legal", kommun="Göteborg"), draft, pub.id, "pub_agreement")
    [document] = documents_of(db, draft)
    outsider = login_as("legal", kommun="Malmö")
    assert outsider.get(f"/avtalsversioner/{draft.id}/dokument").status_code == 404
    assert upload_page(outsider, draft, PDF, "a.pdf").status_code == 404
    assert (
        outsider.post_form(f"/avtalsversioner/{draft.id}/dokument/{document.id}/ta-bort").status_code == 404
    )
    base = f"/api/v1/contract-versions/{draft.id}/documents"
    assert outsider.api("get", base).status_code == 404
    assert outsider.api("get", f"{base}/{document.id}").status_code == 404
    assert upload_api(outsider, draft, PDF, "a.pdf", kind="other").status_code == 404
    assert link_api(outsider, draft, pub.id, "other").status_code == 404
    assert outsider.api("delete", f"{base}/{document.id}").status_code == 404
    assert outsider.get(f"/avtal/{draft.agreement_id}/bilagor/{pub.id}").status_code == 404
    assert len(documents_of(db, draft)) == 1


def test_service_refuses_without_contract_edit(db, draft, make_user):
    with pytest.raises(PermissionDenied):
        services.upload_version_document(
            db, make_user(roles=("auditor",), kommun="Lerum"), draft, "other", "a.pdf", PDF
        )


@pytest.mark.parametrize(
    ("status", "addable", "unlink"),
    [
        ("draft", list(DocumentKind), True),
        ("in_review", [], False),
        ("approved", [DocumentKind.SIGNED_SCAN], False),
    ],
)
def test_service_rule_per_status(make_version, status, addable, unlink):
    version = make_version(status=status)
    assert services.addable_kinds(version) == addable
    assert services.may_unlink(version) is unlink
    for kind in set(DocumentKind) - set(addable):
        with pytest.raises(DocumentRefused):
            services._check_may_add(version, kind)


# --- The panel on the version page ---------------------------------------------------------------------


def test_version_panel_lists_documents_and_links(app, make_user, draft, attachment, db):
    scan = attachment("Underskrivet.pdf", SCAN)
    draft.documents.append(ContractVersionDocument(attachment=scan, kind=DocumentKind.SIGNED_SCAN))
    db.commit()
    user = make_user(roles=("legal",), kommun="Göteborg")
    with app.test_request_context("/"):
        login_user(user)
        html = unescape(
            render_template_string(
                '{% include "contracts/documents/_version_panel.html" ignore missing %}', version=draft
            )
        )
    assert f"/avtalsversioner/{draft.id}/avtal.pdf" in html
    assert "Utkast: versionen är inte godkänd" in html
    assert "Underskrivet.pdf" in html and scan.sha256 in html
    assert f"/avtalsversioner/{draft.id}/dokument" in html
    assert "Ladda upp eller koppla dokument" in html


def test_version_page_shows_the_documents_panel(login_as, approved, attachment):
    client = login_as("legal", kommun="Göteborg")
    link_api(client, approved, attachment("Underskrivet.pdf", SCAN).id, "signed_scan")
    page = client.get(f"/avtalsversioner/{approved.id}")
    assert page.status_code == 200
    html = unescape(page.get_data(as_text=True))
    assert "Avtalsdokument" in html
    assert f"/avtalsversioner/{approved.id}/avtal.pdf" in html
    assert "Utkast: versionen är inte godkänd" not in html  # approved: no draft note
    assert "Underskrivet.pdf" in html and hashlib.sha256(SCAN).hexdigest() in html


def test_openapi_documents_the_endpoints(client):
    spec = client.get("/api/v1/openapi.json").json
    paths = spec["paths"]
    base = "/api/v1/contract-versions/{version_id}"
    assert "get" in paths[f"{base}/pdf"]
    assert set(paths[f"{base}/documents"]) >= {"get", "post"}
    assert "multipart/form-data" in paths[f"{base}/documents"]["post"]["requestBody"]["content"]
    assert "post" in paths[f"{base}/documents/link"]
    assert set(paths[f"{base}/documents/{{document_id}}"]) >= {"get", "delete"}
