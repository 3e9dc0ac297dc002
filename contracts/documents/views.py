"""Pages of a version's documents: the contract PDF download, and /avtalsversioner/<id>/dokument with
the linked files (signed scans, PUB-avtal, cost calculation, other appendices), upload, link and
unlink. Validation and the status rules are the services' (and so the API's)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required
from werkzeug.routing import BuildError

import contracts
from contracts.documents import render, services
from contracts.models import DOCUMENT_KIND_LABELS
from contracts.versions import get_version
from core.auth import acting_user
from core.db import db_session
from core.errors import ValidationFailed
from core.schemas import MAX_ID
from core.views import download_response
from registry.agreements.services import format_size

bp = Blueprint(
    "contracts_documents", __name__, url_prefix="/avtalsversioner", template_folder=contracts.TEMPLATES
)

FIELD_LABELS = {
    "file": "Fil",
    "kind": "Slag av dokument",
    "description": "Beskrivning",
    "attachment_id": "Fil",
}

_user = acting_user


def form_id(text: str | None) -> int | None:
    """A row id typed or chosen in a form: plain ASCII digits within the database's INTEGER, else
    None (so `²`, `1.5`, `-5` or 2**63 are "no such file", not a 500 or a database error)."""
    text = (text or "").strip()
    if not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None


def pdf_response(version, pdf: bytes):
    """The contract PDF as a download named after the agreement and version; not cached, since a
    draft changes and every copy is the parties' business only."""
    return download_response(pdf, "application/pdf", render.pdf_filename(version))


def version_url(version) -> str | None:
    """The version's hub page (built by the terms part), if it is registered."""
    try:
        return url_for("contracts_terms.version_detail", version_id=version.id)
    except BuildError:
        return None


def _render_documents(version, status: int = 200, **forms):
    user = _user()
    return render_template(
        "contracts/documents/documents.html",
        version=version,
        rows=services.document_rows(db_session, version),
        rule=services.documents_rule(version),
        may_edit=services.can_edit_documents(user, version),
        may_unlink=services.may_unlink(version) and services.can_edit_documents(user, version),
        kinds=services.addable_kinds(version),
        kind_labels=DOCUMENT_KIND_LABELS,
        linkable=services.linkable_attachments(db_session, version),
        max_bytes=services.max_attachment_bytes(),
        filesize=format_size,
        version_url=version_url(version),
        labels=FIELD_LABELS,
        upload_errors=forms.get("upload_errors") or {},
        upload_form=forms.get("upload_form") or {},
        link_errors=forms.get("link_errors") or {},
        link_form=forms.get("link_form") or {},
    ), status


@bp.get("/<int:version_id>/avtal.pdf")
@login_required
def version_pdf(version_id: int):
    version = get_version(db_session, _user(), version_id)
    return pdf_response(version, render.render_contract_pdf(db_session, version))


@bp.get("/<int:version_id>/dokument")
@login_required
def documents(version_id: int):
    return _render_documents(get_version(db_session, _user(), version_id))


@bp.post("/<int:version_id>/dokument/ladda-upp")
@login_required
def document_upload(version_id: int):
    user = _user()
    version = get_version(db_session, user, version_id)
    upload = request.files.get("file")
    form = {"kind": request.form.get("kind", ""), "description": request.form.get("description", "")}
    if upload is None or not upload.filename:
        return _render_documents(
            version, 422, upload_errors={"file": ["Välj en fil att ladda upp."]}, upload_form=form
        )
    # Read one byte past the limit: enough to know the file is too large without reading all of it.
    content = upload.stream.read(services.max_attachment_bytes() + 1)
    try:
        document = services.upload_version_document(
            db_session, user, version, form["kind"] or None, upload.filename, content, form["description"]
        )
    except ValidationFailed as exc:
        return _render_documents(version, 422, upload_errors=exc.errors, upload_form=form)
    flash(
        f"{document.attachment.filename} är uppladdad som {document.kind_label.lower()} "
        f"(SHA-256 {document.attachment.sha256}).",
        "success",
    )
    return redirect(url_for(".documents", version_id=version.id))


@bp.post("/<int:version_id>/dokument/koppla")
@login_required
def document_link(version_id: int):
    user = _user()
    version = get_version(db_session, user, version_id)
    form = {"attachment_id": request.form.get("attachment_id", ""), "kind": request.form.get("kind", "")}
    attachment_id = form_id(form["attachment_id"])
    try:
        document = services.link_version_document(
            db_session, user, version, attachment_id, form["kind"] or None
        )
    except ValidationFailed as exc:
        return _render_documents(version, 422, link_errors=exc.errors, link_form=form)
    flash(f"{document.attachment.filename} är kopplad som {document.kind_label.lower()}.", "success")
    return redirect(url_for(".documents", version_id=version.id))


@bp.post("/<int:version_id>/dokument/<int:document_id>/ta-bort")
@login_required
def document_unlink(version_id: int, document_id: int):
    user = _user()
    version = get_version(db_session, user, version_id)
    document = services.get_version_document(version, document_id)
    name = document.attachment.filename
    services.unlink_version_document(db_session, user, version, document)
    flash(
        f"{name} är inte längre kopplad till versionen. Filen finns kvar bland avtalets bilagor.", "success"
    )
    return redirect(url_for(".documents", version_id=version.id))


def documents_panel(version) -> dict:
    """What the panel on the version page shows (a Jinja global: the page is the terms part's)."""
    user = _user()
    return {
        "rows": services.document_rows(db_session, version),
        "rule": services.documents_rule(version),
        "may_edit": services.can_edit_documents(user, version),
        "draft": render.is_draft_document(version),
        "filename": render.pdf_filename(version),
    }
