"""Helpers for the agreement tests: request bodies and document files made with the standard library.

Plain functions, no fixtures and no tests: each test module imports what it needs.
"""

from __future__ import annotations

import io
import zipfile

PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
EXE = (
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"
    + b"\x00" * 48
    + b"This program cannot be run in DOS mode."
)
DOCX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ODT_MEDIA_TYPE = "application/vnd.oasis.opendocument.text"


def _zip(entries: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries:
            # ODF wants `mimetype` first and stored; deflate the rest like office suites do.
            method = zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=method)
    return buffer.getvalue()


def docx_bytes(macro_enabled: bool = False) -> bytes:
    main = (
        "application/vnd.ms-word.document.macroEnabled.main+xml"
        if macro_enabled
        else "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
    )
    content_types = (
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        f'content-types"><Override PartName="/word/document.xml" ContentType="{main}"/></Types>'
    ).encode()
    document = b'<?xml version="1.0"?><w:document xmlns:w="urn:w"><w:body><w:p/></w:body></w:document>'
    return _zip([("[Content_Types].xml", content_types), ("word/document.xml", document)])


def odt_bytes(mimetype: bytes = b"application/vnd.oasis.opendocument.text") -> bytes:
    return _zip([("mimetype", mimetype), ("content.xml", b"<office:document-content/>")])


def plain_zip_bytes() -> bytes:
    return _zip([("avtal.txt", b"Inte ett dokument.")])


def party(municipality, role: str = "buyer", **extra) -> dict:
    return {"municipality_id": municipality.id, "role": role, **extra}


def agreement_body(
    municipality,
    number: str = "GR-JAV-2024",
    host: str = "Göteborg",
    buyers: tuple[str, ...] = ("Härryda", "Lerum"),
    **overrides,
) -> dict:
    """A valid API body for a new agreement; `municipality` is the conftest lookup fixture."""
    body = {
        "number": number,
        "title": "Jävsärenden inom Göteborgsregionen",
        "area": "javsarenden",
        "cooperation_form": "avtalssamverkan",
        "legal_basis": "Kommunallagen 9 kap. 37 §",
        "description": "Handläggning av jävsärenden med extern delegering.",
        "start_date": "2024-01-01",
        "end_date": "2026-12-31",
        "renewal_months": 12,
        "notice_months": 6,
        "parties": [party(municipality(host), "host", board="Socialnämnden Göteborg")]
        + [party(municipality(name), board=f"Socialnämnden {name}") for name in buyers],
    }
    body.update(overrides)
    return body
