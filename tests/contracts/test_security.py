"""Security review of contracts (2026). The walking tests (URL map, schemas) keep new endpoints and
fields covered; the others each show a problem the review found:

- A non-party got 422 (e.g. a compare without `with`, a body the schema refuses) instead of 404 on
  API endpoints whose arguments are validated before the view loads the version.
- Numbers: `1e10` was silently 10 000 000 000, `1_000` and Arabic-Indic digits were read as numbers,
  and `1e999999` or a 60-digit number crashed the decimals check (500).
- `?med=²` on the compare page, a `share-²` form field and a junk or 2**63 attachment id on the
  link form answered 500 (or a generic database message); the link form's error was not even shown
  when the agreement had no attachments to link.
- The API upload with `file` sent as a text field answered 500; its description had no length limit.
- Indexing a version in review answered 422 (about the year) instead of 409 (the version's state).
- Deleting a draft an invoice refers to, and removing an attachment a version links, answered 409
  with "someone else just saved the same thing" instead of the reason.
- Prices, buyer references, components and documents removed from a draft left no audit entry.
"""

from __future__ import annotations

import datetime as dt
import html
import importlib
import inspect
import io
import pkgutil
import re

import pytest
from marshmallow import Schema, fields, validate
from sqlalchemy import func, select

import contracts
from contracts.models import (
    CompensationComponent,
    CompensationModel,
    ContractPrice,
    ContractReviewRow,
    ContractVersion,
    ContractVersionDocument,
    DocumentKind,
    ReviewSection,
    VersionStatus,
)
from core.personal_numbers import NoPersonalNumber
from registry.models import AgreementAttachment

BIG = 2**63  # beyond PostgreSQL's integer and SQLite's 64-bit INTEGER
PERSONNUMMER = ("19121212-1212", "121212-1212")
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"

# The blueprints of contracts: pages and API.
PAGE_BLUEPRINTS = {
    "contracts_index_values",
    "contracts_terms",
    "contracts_review",
    "contracts_documents",
    "contracts_indexing",
}
API_BLUEPRINTS = {
    "index_values",
    "contract_terms",
    "contract_version_review",
    "contract_reviews",
    "contract_documents",
    "contracts_indexing_api",
}
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
ENGLISH = re.compile(r"Not a valid|Missing data|Unknown field|Invalid input|Traceback|must be", re.I)


def _text(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(response.get_data(as_text=True)))


def _contract_rules(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] in PAGE_BLUEPRINTS | API_BLUEPRINTS:
            yield rule


def _attach(db, version: ContractVersion, kind: DocumentKind, filename: str = "bilaga.pdf"):
    attachment = AgreementAttachment(
        agreement=version.agreement,
        filename=filename,
        media_type="application/pdf",
        size_bytes=len(PDF),
        sha256="0" * 64,
        content=PDF,
    )
    db.add(attachment)
    document = ContractVersionDocument(attachment=attachment, kind=kind)
    version.documents.append(document)
    db.commit()
    return document


def _add_review_row(db, version: ContractVersion, key: str = "parter") -> ContractReviewRow:
    row = ContractReviewRow(key=key, section=ReviewSection.CHECKLIST, position=1, label="Parterna")
    version.review_rows.append(row)
    db.commit()
    return row


def _approve(db, version: ContractVersion, approver) -> ContractVersion:
    """Approve a version built with rows under it (the guard refuses new rows once approved)."""
    version.status = VersionStatus.APPROVED
    version.approved_by_id = approver.id
    version.approved_at = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    db.commit()
    return version


def _hourly(version: ContractVersion) -> CompensationComponent:
    return next(c for c in version.components if c.model == CompensationModel.HOURLY)


def _ids(version: ContractVersion, document=None, row=None) -> dict:
    """Values for every URL variable of contracts, all belonging to `version`."""
    hourly = _hourly(version)
    return {
        "version_id": version.id,
        "agreement_id": version.agreement_id,
        "service_type_id": hourly.service_type_id,
        "component_id": hourly.id,
        "price_id": hourly.prices[0].id,
        "terms_id": version.buyer_terms[0].id,
        "document_id": document.id if document is not None else 1,
        "key": row.key if row is not None else "parter",
        "group": "grunduppgifter",
    }


# Valid API bodies where the schema needs fields (the body is validated before the view runs).
BODIES = {
    ("contract_terms.Prices", "POST"): {"year": 2031, "amount": "1.00"},
    ("contract_terms.BuyerTermsItem", "PATCH"): {"buyer_reference": "Ny referens"},
    ("contract_version_review.VersionReviewRow", "PUT"): {"status": "ok"},
}


def _call(client, rule, method: str, values: dict):
    url = rule.build(values, append_unknown=False)[1]
    is_api = url.startswith("/api/")
    if method == "GET":
        return url, client.get(url)
    if is_api:
        return url, client.api(method, url, json=BODIES.get((rule.endpoint, method), {}))
    return url, client.post_form(url, {})


@pytest.fixture
def party_world(db, make_agreement, make_version, make_user):
    """Agreement A (Göteborg hosts, Härryda and Lerum buy) with an approved version 1 (a signed scan, a
    review row) and a version 2 in review (a review row); agreement B (Göteborg hosts, Härryda buys)
    with an approved version."""
    a = make_agreement(host="Göteborg", buyers=("Härryda", "Lerum"), number="A-1", title="Hemligt avtal A")
    a1 = make_version(a, status="in_review")
    scan = _attach(db, a1, DocumentKind.SIGNED_SCAN, "Underskrivet-A.pdf")
    row1 = _add_review_row(db, a1)
    _approve(db, a1, make_user(roles=("legal",), kommun="Göteborg"))
    a2 = make_version(a, status="in_review", number=2, effective_from=dt.date(2025, 1, 1))
    row2 = _add_review_row(db, a2)
    b = make_agreement(host="Göteborg", buyers=("Härryda",), number="B-1", title="Avtal B")
    b1 = make_version(b, status="approved")
    return {"a": a, "a1": a1, "a2": a2, "scan": scan, "row1": row1, "row2": row2, "b": b, "b1": b1}


# --- 1. Scope: non-parties get 404 everywhere --------------------------------------------------------


def test_every_contracts_endpoint_with_an_agreement_or_version_is_404_for_a_non_party(
    app, login_as, party_world
):
    """Walks the URL map: every method of every contracts URL that names a version or an agreement,
    with ids that all exist and belong together, answers 404 to Kiruna (all roles) and shows nothing."""
    world = party_world
    client = login_as("admin", "finance", "legal", "caseworker", "auditor", kommun="Kiruna")
    checked = []
    for version, row in ((world["a1"], world["row1"]), (world["a2"], world["row2"])):
        values = _ids(version, world["scan"] if version is world["a1"] else None, row)
        for rule in _contract_rules(app):
            if not {"version_id", "agreement_id"} & set(rule.arguments):
                continue
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                url, response = _call(client, rule, method, values)
                checked.append((method, url))
                assert response.status_code == 404, f"{method} {url}: {response.status_code}"
                body = _text(response)
                assert "Hemligt avtal A" not in body and "Underskrivet-A.pdf" not in body, url
    assert len(checked) > 60


def test_lists_show_nothing_of_agreements_the_municipality_is_not_party_to(
    login_as, party_world, db, make_index_value
):
    client = login_as("legal", "finance", kommun="Kiruna")
    for url in (
        "/avtalsgranskning/",
        "/api/v1/contract-reviews/awaiting",
        "/api/v1/contract-reviews/stale",
        "/indexjusteringar/",
        f"/indexjusteringar/?avtal={party_world['a'].id}",
        "/api/v1/index-adjustments",
        f"/api/v1/index-adjustments?agreement_id={party_world['a'].id}",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "A-1" not in _text(response) and "Hemligt avtal A" not in _text(response), url
    assert client.get("/api/v1/contract-reviews/awaiting").json == []


@pytest.mark.parametrize("roles", [("sysadmin",), ("sysadmin", "legal", "finance", "admin")])
def test_a_sysadmin_without_a_municipality_sees_no_contract_data(login_as, party_world, roles):
    client = login_as(*roles, kommun=None)
    a2 = party_world["a2"]
    for url in (
        f"/avtalsversioner/{a2.id}",
        f"/avtal/{a2.agreement_id}/versioner",
        f"/avtalsversioner/{a2.id}/granskning",
        f"/api/v1/contract-versions/{a2.id}",
        f"/api/v1/agreements/{a2.agreement_id}/contract-versions",
        f"/api/v1/contract-versions/{a2.id}/review",
    ):
        response = client.get(url)
        assert response.status_code in (403, 404), url
        assert "Hemligt avtal A" not in _text(response), url
    for url in ("/avtalsgranskning/", "/api/v1/contract-reviews/awaiting", "/indexjusteringar/"):
        response = client.get(url)
        assert response.status_code in (200, 403), url
        assert "A-1" not in _text(response), url
    assert "Hemligt avtal A" not in _text(client.get("/"))


# --- 1b. Ids of rows under another version in the URL of a version the user may see --------------


def test_child_ids_of_another_version_are_404_in_a_visible_versions_urls(
    app, login_as, db, make_agreement, make_version
):
    """Härryda is party to both agreements. Ids of service types, components, prices, buyer terms,
    documents and review rows of B's version (and of A's other version) in the URLs of A's draft
    are not found, on every method; nothing under the other versions changes."""
    a = make_agreement(host="Göteborg", buyers=("Härryda", "Lerum"), number="A-1")
    a1 = make_version(a, status="approved")
    draft = make_version(a, status="draft", number=2, effective_from=dt.date(2025, 1, 1))
    b = make_agreement(host="Härryda", buyers=("Lerum",), number="B-1")
    b_draft = make_version(b, status="draft")
    b_doc = _attach(db, b_draft, DocumentKind.OTHER, "B-bilaga.pdf")
    b_row = _add_review_row(db, b_draft, key="bara-b")
    a1_doc = _attach(db, a1, DocumentKind.SIGNED_SCAN, "A1-scan.pdf")
    client = login_as("admin", "finance", "legal", kommun="Härryda")
    child_args = {"service_type_id", "component_id", "price_id", "terms_id", "document_id", "key"}
    prices_before = db.scalar(select(func.count()).select_from(ContractPrice))
    checked = 0
    for other, document, row in ((b_draft, b_doc, b_row), (a1, a1_doc, None)):
        values = {**_ids(other, document, row), "version_id": draft.id, "agreement_id": a.id}
        for rule in _contract_rules(app):
            if not child_args & set(rule.arguments) or "version_id" not in rule.arguments:
                continue
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                url, response = _call(client, rule, method, values)
                checked += 1
                assert response.status_code == 404, f"{method} {url}: {response.status_code}"
    assert checked > 20
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(ContractPrice)) == prices_before
    assert len(db.get(ContractVersion, b_draft.id).documents) == 1


def test_comparison_with_a_version_of_another_agreement_shows_nothing_of_it(
    login_as, make_agreement, make_version
):
    a = make_agreement(host="Göteborg", buyers=("Härryda",), number="A-1")
    version = make_version(a)
    hidden = make_version(
        make_agreement(host="Kiruna", buyers=("Gällivare",), number="K-1"), scope="Kirunas hemliga omfattning"
    )
    visible_other = make_version(make_agreement(host="Härryda", buyers=("Lerum",), number="H-1"))
    client = login_as("caseworker", kommun="Härryda")
    for other, status in ((hidden, 404), (visible_other, 422)):
        page = client.get(f"/avtalsversioner/{version.id}/jamfor?med={other.id}")
        api = client.get(f"/api/v1/contract-versions/{version.id}/compare?with={other.id}")
        assert (page.status_code, api.status_code) == (status, status)
        assert "Kirunas hemliga omfattning" not in _text(page) + _text(api)


def test_linking_an_attachment_of_another_agreement_is_refused(login_as, db, make_agreement, make_version):
    a = make_agreement(host="Göteborg", buyers=("Härryda",), number="A-1")
    draft = make_version(a)
    other = make_version(make_agreement(host="Kiruna", buyers=("Gällivare",), number="K-1"))
    foreign = _attach(db, other, DocumentKind.OTHER, "Kirunas-bilaga.pdf").attachment
    client = login_as("admin", kommun="Härryda")
    page = client.post_form(
        f"/avtalsversioner/{draft.id}/dokument/koppla", {"attachment_id": str(foreign.id), "kind": "other"}
    )
    api = client.api(
        "post",
        f"/api/v1/contract-versions/{draft.id}/documents/link",
        json={"attachment_id": foreign.id, "kind": "other"},
    )
    assert (page.status_code, api.status_code) == (422, 422)
    assert "Kirunas-bilaga.pdf" not in _text(page) + _text(api)
    db.expire_all()
    assert db.get(ContractVersion, draft.id).documents == []


# --- 2. Roles -----------------------------------------------------------------------------------------


def _write_rules(app):
    for rule in _contract_rules(app):
        if "version_id" in rule.arguments or "agreement_id" in rule.arguments:
            for method in sorted(rule.methods & WRITE_METHODS):
                yield rule, method


@pytest.mark.parametrize("roles", [("caseworker",), ("auditor",), ("caseworker", "auditor")])
def test_caseworkers_and_auditors_change_nothing(app, login_as, db, make_agreement, make_version, roles):
    a = make_agreement(host="Göteborg", buyers=("Härryda", "Lerum"))
    a1 = make_version(a, status="approved")
    draft = make_version(a, status="draft", number=2, effective_from=dt.date(2025, 1, 1))
    scan = _attach(db, draft, DocumentKind.OTHER)
    row = _add_review_row(db, draft)
    client = login_as(*roles, kommun="Härryda")
    for version in (draft, a1):
        values = _ids(version, scan if version is draft else None, row)
        for rule, method in _write_rules(app):
            url, response = _call(client, rule, method, values)
            assert response.status_code in (403, 404, 422), f"{method} {url}: {response.status_code}"
            if response.status_code == 404:
                # Only a child id that does not belong to this version (e.g. the document of the
                # draft in the approved version's URL) may be "not found".
                assert version is a1 and {"document_id", "key"} & set(rule.arguments), url
    body = {"kind": "pkv", "edition": "x", "year": 2030, "percent": "1", "source": "x"}
    assert client.api("post", "/api/v1/index-values/", json=body).status_code == 403
    assert client.post_form("/indexvarden/ny", body).status_code == 403
    db.expire_all()
    assert db.get(ContractVersion, draft.id).status == VersionStatus.DRAFT
    assert db.get(ContractVersion, draft.id).title == draft.title


@pytest.mark.parametrize("roles", [("admin",), ("finance",), ("admin", "finance")])
def test_only_legal_marks_rows_and_approves(login_as, db, make_version, roles):
    version = make_version(status="in_review")
    row = _add_review_row(db, version)
    client = login_as(*roles, kommun="Göteborg")
    base = f"/api/v1/contract-versions/{version.id}/review"
    assert client.api("put", f"{base}/rows/{row.key}", json={"status": "ok"}).status_code == 403
    assert client.api("post", f"{base}/approve", json={"override_reason": "Brådskande"}).status_code == 403
    page = f"/avtalsversioner/{version.id}/granskning"
    assert client.post_form(page, {f"row-{row.id}-status": "ok"}).status_code == 403
    assert client.post_form(page + "/godkann", {"override_reason": "Brådskande"}).status_code == 403
    db.expire_all()
    assert db.get(ContractVersion, version.id).status == VersionStatus.IN_REVIEW
    assert db.get(ContractReviewRow, row.id).status is None


# --- 4. Input robustness ------------------------------------------------------------------------------

# What people paste into number fields that is not a plain number: exponents (silently 10 000 000 000),
# NaN and infinities, far too many digits (a 500 in the decimals check), digits of other scripts and
# Python's underscores (both silently accepted).
BAD_NUMBERS = [
    "1e10",
    "1E+2",
    "NaN",
    "Infinity",
    "-Infinity",
    "sNaN",
    "1e999999",
    "9" * 60,
    "1," + "0" * 60 + "1",
    "1_000",
    "\u0661\u0662\u0663",  # Arabic-Indic digits 123
]


@pytest.fixture
def editor_draft(login_as, make_version):
    version = make_version()
    return version, login_as("admin", "finance", "legal", kommun="Göteborg")


@pytest.mark.parametrize("value", BAD_NUMBERS)
def test_bad_numbers_in_prices_and_percents_are_refused_in_swedish(editor_draft, db, make_index_value, value):
    version, client = editor_draft
    index_value = make_index_value(kind="kpi", year=2026, percent="2.0")
    hourly = _hourly(version)
    price = hourly.prices[0]
    base = f"/api/v1/contract-versions/{version.id}"
    calls = [
        ("post", f"{base}/components/{hourly.id}/prices", {"year": 2031, "amount": value}, "amount"),
        ("patch", f"{base}/prices/{price.id}", {"amount": value}, "amount"),
        ("patch", base, {"cost_cap_amount": value}, "cost_cap_amount"),
        (
            "patch",
            f"{base}/components/{hourly.id}",
            {"ceiling_hours": value, "ceiling_per": "year"},
            "ceiling_hours",
        ),
        (
            "post",
            f"{base}/service-types",
            {"code": "moms", "name": "Moms", "unit": "hour", "vat_category": "S", "vat_rate": value},
            "vat_rate",
        ),
        (
            "post",
            "/api/v1/index-values/",
            {"kind": "pkv", "edition": "PKV okt", "year": 2031, "percent": value, "source": "SKR"},
            "percent",
        ),
    ]
    calls.append(
        (
            "post",
            f"/api/v1/index-values/{index_value.id}/revisions",
            {"percent": value, "status": "final"},
            "percent",
        )
    )
    for method, url, body, field in calls:
        response = client.api(method, url, json=body)
        assert response.status_code == 422, f"{method} {url} {value!r}: {response.status_code}"
        assert field in response.json["errors"], (url, response.json)
        assert not ENGLISH.search(str(response.json)), response.json
    page = client.post_form(
        f"/avtalsversioner/{version.id}/ersattning/{hourly.id}/priser", {"year": "2031", "amount": value}
    )
    assert page.status_code == 422
    preview = client.get(f"/indexvarden/berakna?price={value}&index=pkv&year=2026")
    assert preview.status_code == 422
    api_preview = client.get(f"/api/v1/index-values/preview?price={value}&index=pkv&year=2026")
    assert api_preview.status_code == 422
    db.expire_all()
    assert [p.year for p in db.get(CompensationComponent, hourly.id).prices] == [2024, 2025, 2026]
    assert db.get(ContractVersion, version.id).cost_cap_amount is None
    assert (
        client.post_form(
            f"/indexvarden/{index_value.id}/revidera", {"percent": value, "status": "final"}
        ).status_code
        == 422
    )


@pytest.mark.parametrize("value", ["1 250,50", "1250.5", "0", "-0", "12,345"])
def test_plain_numbers_with_decimal_comma_and_spaces_still_work(editor_draft, value):
    version, client = editor_draft
    hourly = _hourly(version)
    response = client.api(
        "post",
        f"/api/v1/contract-versions/{version.id}/components/{hourly.id}/prices",
        json={"year": 2031, "amount": value} if value != "12,345" else {"year": 2031, "amount": "12,34"},
    )
    assert response.status_code == 201, response.json


def test_json_numbers_are_still_accepted_for_prices(editor_draft):
    version, client = editor_draft
    hourly = _hourly(version)
    url = f"/api/v1/contract-versions/{version.id}/components/{hourly.id}/prices"
    assert client.api("post", url, json={"year": 2031, "amount": 1250.5}).json["amount"] == "1250.50"
    assert client.api("post", url, json={"year": 2032, "amount": 1300}).json["amount"] == "1300.00"
    assert client.api("post", url, json={"year": 2033, "amount": 1e20}).status_code == 422


@pytest.mark.parametrize("other", ["\u00b2", "abc", str(BIG), "-1", "1.5"])
def test_compare_page_with_a_junk_version_number_is_404(login_as, make_version, other):
    version = make_version()
    response = login_as("caseworker", kommun="Härryda").get(
        f"/avtalsversioner/{version.id}/jamfor?med={other}"
    )
    assert response.status_code == 404


@pytest.mark.parametrize("other", ["\u00b2", "abc", str(BIG), "-1"])
def test_compare_choice_with_junk_numbers_redirects_back(login_as, make_version, other):
    version = make_version()
    client = login_as("caseworker", kommun="Härryda")
    response = client.get(f"/avtal/{version.agreement_id}/versioner/jamfor?version={other}&med={other}")
    assert response.status_code == 302


@pytest.mark.parametrize("key", ["share-\u00b2", f"share-{BIG}", "share-abc", "share--1"])
def test_component_form_with_junk_share_fields_is_not_500(login_as, make_version, db, key):
    version = make_version()
    st = version.service_types[0]
    client = login_as("finance", kommun="Göteborg")
    response = client.post_form(
        f"/avtalsversioner/{version.id}/ersattning/ny?modell=preliminary",
        {
            "service_type_id": str(st.id),
            "share_basis": "fixed",
            "reconciliation_deadline_month": "3",
            "reconciliation_deadline_day": "31",
            key: "100",
        },
    )
    assert response.status_code == 422


@pytest.mark.parametrize("value", [str(BIG), "abc", "\u00b2", "-5", "0", "1.5"])
def test_linking_with_a_junk_attachment_id_is_422_with_a_field_message(login_as, make_version, db, value):
    version = make_version()
    client = login_as("admin", kommun="Göteborg")
    response = client.post_form(
        f"/avtalsversioner/{version.id}/dokument/koppla", {"attachment_id": value, "kind": "other"}
    )
    assert response.status_code == 422
    assert "Välj en fil bland avtalets bilagor" in _text(response)


@pytest.mark.parametrize(
    ("field", "extra"),
    [
        ("service_type_id", {}),
        ("buyer_municipality_id", {}),
        ("shared_role_id", {}),
    ],
)
def test_component_form_with_out_of_range_ids_is_422(login_as, make_version, field, extra):
    version = make_version()
    client = login_as("finance", kommun="Göteborg")
    model = "shared_role" if field == "shared_role_id" else "per_case"
    form = {"service_type_id": str(version.service_types[0].id), field: str(BIG), **extra}
    response = client.post_form(f"/avtalsversioner/{version.id}/ersattning/ny?modell={model}", form)
    assert response.status_code == 422
    assert "Okänt id." in _text(response) or "Välj" in _text(response)


@pytest.mark.parametrize(
    "body",
    [
        {"based_on_id": BIG},
        {"based_on_id": "abc"},
        {"effective_from": "99999-01-01"},
        {"effective_from": "2024-02-30"},
        {"effective_from": 20240101},
    ],
)
def test_create_version_with_junk_ids_and_dates_is_422(login_as, make_agreement, body):
    agreement = make_agreement(host="Göteborg")
    client = login_as("admin", kommun="Göteborg")
    response = client.api("post", f"/api/v1/agreements/{agreement.id}/contract-versions", json=body)
    assert response.status_code == 422
    assert not ENGLISH.search(str(response.json)), response.json


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/components", {"model": "per_case", "service_type_id": BIG}),
        ("/components", {"model": "per_case", "service_type_id": 1, "buyer_municipality_id": BIG}),
        ("/components", {"model": "shared_role", "service_type_id": 1, "shared_role_id": BIG}),
        (
            "/components",
            {
                "model": "preliminary",
                "service_type_id": 1,
                "share_basis": "fixed",
                "reconciliation_deadline_month": 3,
                "reconciliation_deadline_day": 31,
                "fixed_shares": [{"municipality_id": BIG, "percent": "100"}],
            },
        ),
        ("/buyer-terms", {"municipality_id": BIG, "buyer_reference": "X"}),
        ("/documents/link", {"attachment_id": BIG, "kind": "other"}),
        ("/review/approve", {"override_reason": "x" * 5000}),
    ],
)
def test_out_of_range_ids_and_long_texts_in_json_bodies_are_422(login_as, make_version, path, body):
    version = make_version()
    client = login_as("admin", "legal", kommun="Göteborg")
    response = client.api("post", f"/api/v1/contract-versions/{version.id}{path}", json=body)
    assert response.status_code == 422, response.json
    assert not ENGLISH.search(str(response.json)), response.json


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/contract-versions/{id}/indexation?year={big}",
        "/api/v1/contract-versions/{id}/indexation?year=abc",
        "/api/v1/contract-versions/{id}/compare?with={big}",
        "/api/v1/contract-versions/{id}/compare?with=abc",
        "/api/v1/agreements/{agreement}/contract-versions/in-force?date=99999-01-01",
        "/api/v1/agreements/{agreement}/contract-versions/in-force?date=abc",
        "/api/v1/agreements/{agreement}/contract-versions/in-force?date=2024-02-30",
        "/api/v1/index-adjustments?agreement_id={big}",
        "/api/v1/index-adjustments?year={big}",
        "/api/v1/index-values/?year={big}",
        "/api/v1/index-values/preview?price=1&index=pkv&year={big}",
        "/avtalsversioner/{id}/indexering?year={big}",
        "/avtalsversioner/{id}/indexering?year=abc",
        "/indexjusteringar/?avtal={big}",
        "/indexjusteringar/?ar={big}",
        "/indexvarden/?ar={big}",
        "/indexvarden/berakna?price=1&index=pkv&year={big}",
    ],
)
def test_out_of_range_and_non_numeric_query_values_are_422(login_as, make_version, url):
    version = make_version(status="approved")
    client = login_as("finance", kommun="Göteborg")
    url = url.format(id=version.id, agreement=version.agreement_id, big=BIG)
    response = client.get(url)
    assert response.status_code == 422, f"{url}: {response.status_code}"
    assert not ENGLISH.search(_text(response)), _text(response)[:500]


@pytest.mark.parametrize(
    "url",
    [
        "/indexvarden/?sida={big}",
        "/indexjusteringar/?sida={big}",
        "/api/v1/index-values/?page={big}",
        "/api/v1/contract-reviews/awaiting?page={big}",
    ],
)
def test_out_of_range_page_numbers_are_not_500(login_as, url):
    response = login_as("finance", kommun="Göteborg").get(url.format(big=BIG))
    assert response.status_code < 500


# --- Dates at the edges of the calendar --------------------------------------------------------------


def test_far_future_term_dates_do_not_break_the_agreement_or_version_pages(
    login_as, make_agreement, make_version
):
    """A version of a renewing agreement may take effect and move the end date to 9999-12-31 with ten
    years' renewal; once approved, the registry's pages (notice and renewal dates), the start page, the
    version page and the contract PDF still work (no date overflow)."""
    agreement = make_agreement(host="Göteborg", buyers=("Härryda",), renewal_months=12)
    make_version(agreement, status="approved")
    client = login_as("admin", "legal", kommun="Göteborg")
    created = client.api(
        "post",
        f"/api/v1/agreements/{agreement.id}/contract-versions",
        json={"effective_from": "9999-12-31", "title": "Långt fram"},
    )
    assert created.status_code == 201, created.json
    url = f"/api/v1/contract-versions/{created.json['id']}"
    body = {"changes_term": True, "term_end_date": "9999-12-31", "term_renewal_months": 120}
    assert client.api("patch", url, json=body).status_code == 200
    assert client.api("post", url + "/review/submit").status_code == 200
    assert (
        client.api("post", url + "/review/approve", json={"override_reason": "Datumtest"}).status_code == 200
    )
    for page in (
        f"/avtalsversioner/{created.json['id']}",
        f"/avtalsversioner/{created.json['id']}/avtal.pdf",
        f"/avtalsversioner/{created.json['id']}/indexering",
        f"/avtal/{agreement.id}",
        f"/api/v1/agreements/{agreement.id}",
        "/",
        "/avtalsgranskning/",
    ):
        assert client.get(page).status_code == 200, page


def test_far_past_index_date_is_refused_or_harmless(login_as, make_version):
    version = make_version()
    client = login_as("finance", kommun="Göteborg")
    response = client.api(
        "patch",
        f"/api/v1/contract-versions/{version.id}",
        json={"index_kind": "kpi", "index_edition": "KPI", "index_effective_from": "0001-01-01"},
    )
    assert response.status_code in (200, 422)
    assert client.get(f"/avtalsversioner/{version.id}").status_code == 200
    assert client.get(f"/avtalsversioner/{version.id}/indexering").status_code in (200, 422)
    assert client.get(f"/avtalsversioner/{version.id}/indexering?year=1901").status_code in (200, 422)


# --- Personal identity numbers in free text ---------------------------------------------------------


def _contract_schemas():
    for module_info in pkgutil.walk_packages(contracts.__path__, "contracts."):
        if not module_info.name.endswith("schemas"):
            continue
        module = importlib.import_module(module_info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Schema) and cls.__module__ == module.__name__:
                yield cls


def _string_fields(schema: Schema, prefix: str = ""):
    """Every string the schema loads, also inside nested schemas and lists."""
    for name, field in schema.load_fields.items():
        inner = field.inner if isinstance(field, fields.List) else field
        if isinstance(inner, fields.Nested):
            yield from _string_fields(inner.schema, f"{prefix}{name}.")
        elif isinstance(inner, fields.String):
            yield f"{prefix}{name}", inner


def _is_code(field: fields.Field) -> bool:
    """Only a fixed choice, not free text."""
    return any(isinstance(v, validate.OneOf) for v in field.validators)


FREE_TEXT = [
    pytest.param(cls, name, field, id=f"{cls.__name__}.{name}")
    for cls in _contract_schemas()
    for name, field in _string_fields(cls())
    if not _is_code(field)
]


def test_contracts_has_free_text_fields_to_check():
    assert len(FREE_TEXT) > 15


@pytest.mark.parametrize(("schema_cls", "name", "field"), FREE_TEXT)
def test_every_free_text_field_refuses_personal_numbers_and_has_a_length_limit(schema_cls, name, field):
    where = f"{schema_cls.__module__}.{schema_cls.__name__}.{name}"
    assert any(isinstance(v, NoPersonalNumber) for v in field.validators), f"{where} accepts personnummer"
    assert any(isinstance(v, validate.Length) and v.max for v in field.validators), (
        f"{where} has no max length"
    )


@pytest.mark.parametrize("pnr", PERSONNUMMER)
def test_personal_numbers_are_refused_in_every_free_text_field_over_http(login_as, make_version, db, pnr):
    version = make_version()
    hourly = _hourly(version)
    client = login_as("admin", "legal", kommun="Göteborg")
    base = f"/api/v1/contract-versions/{version.id}"
    text = f"Gäller {pnr}"
    calls = [
        ("patch", base, {"title": text}, "title"),
        ("patch", base, {"scope": text}, "scope"),
        ("patch", base, {"change_summary": text}, "change_summary"),
        ("patch", base, {"index_edition": text}, "index_edition"),
        ("patch", f"{base}/service-types/{hourly.service_type_id}", {"name": text}, "name"),
        (
            "patch",
            f"{base}/service-types/{hourly.service_type_id}",
            {"vat_exemption_reason": text},
            "vat_exemption_reason",
        ),
        ("patch", f"{base}/components/{hourly.id}", {"description": text}, "description"),
        (
            "patch",
            f"{base}/buyer-terms/{version.buyer_terms[0].id}",
            {"buyer_reference": text},
            "buyer_reference",
        ),
        (
            "post",
            f"/api/v1/agreements/{version.agreement_id}/contract-versions",
            {"title": text, "change_summary": text},
            "title",
        ),
        (
            "post",
            "/api/v1/index-values/",
            {"kind": "pkv", "edition": "PKV", "year": 2031, "percent": "1", "source": text},
            "source",
        ),
    ]
    for method, url, body, field in calls:
        response = client.api(method, url, json=body)
        assert response.status_code == 422, (url, body, response.status_code)
        assert field in response.json["errors"], (url, response.json)
        assert "personnummer" in str(response.json["errors"][field]), response.json
    per_case = client.api(
        "post", f"{base}/components", json={"model": "per_case", "service_type_id": hourly.service_type_id}
    )
    assert per_case.status_code == 201
    response = client.api(
        "post",
        f"{base}/components/{per_case.json['id']}/prices",
        json={"year": 2030, "case_type": text, "amount": "1"},
    )
    assert response.status_code == 422 and "case_type" in response.json["errors"]
    page = client.post_form(
        f"/avtalsversioner/{version.id}/kopare", {f"ref-{version.buyer_terms[0].municipality_id}": text}
    )
    assert page.status_code == 422
    db.expire_all()
    assert pnr not in (db.get(ContractVersion, version.id).scope or "")


@pytest.mark.parametrize("pnr", PERSONNUMMER)
def test_personal_numbers_are_refused_in_review_texts(login_as, make_version, db, pnr):
    version = make_version(status="in_review")
    row = _add_review_row(db, version)
    client = login_as("admin", "legal", kommun="Göteborg")
    base = f"/api/v1/contract-versions/{version.id}"
    text = f"Se {pnr}"
    response = client.api("put", f"{base}/review/rows/{row.key}", json={"status": "missing", "comment": text})
    assert response.status_code == 422 and "comment" in response.json["errors"]
    response = client.api("post", f"{base}/review/approve", json={"override_reason": text})
    assert response.status_code == 422 and "override_reason" in response.json["errors"]
    response = client.api("post", f"{base}/review/return", json={"reason": text})
    assert response.status_code == 422 and "reason" in response.json["errors"]
    page = client.post_form(
        f"/avtalsversioner/{version.id}/granskning",
        {f"row-{row.id}-status": "missing", f"row-{row.id}-comment": text},
    )
    assert page.status_code == 422
    db.expire_all()
    assert db.get(ContractReviewRow, row.id).comment is None
    assert db.get(ContractVersion, version.id).status == VersionStatus.IN_REVIEW


@pytest.mark.parametrize("pnr", PERSONNUMMER)
def test_personal_numbers_are_refused_in_an_uploaded_documents_description(login_as, make_version, db, pnr):
    version = make_version()
    client = login_as("admin", kommun="Göteborg")
    response = client.api(
        "post",
        f"/api/v1/contract-versions/{version.id}/documents",
        data={"kind": "other", "description": f"Bilaga om {pnr}", "file": (io.BytesIO(PDF), "bilaga.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422 and "description" in response.json["errors"]
    response = client.api(
        "post",
        f"/api/v1/contract-versions/{version.id}/documents",
        data={"kind": "other", "description": "x" * 5000, "file": (io.BytesIO(PDF), "bilaga.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422 and "description" in response.json["errors"]
    db.expire_all()
    assert db.get(ContractVersion, version.id).documents == []


# --- 3. Immutability: approved and in-review versions ----------------------------------------------

# Write endpoints that legitimately act on a version in review (the review itself) or on an approved
# version (adding the signed scan is tested with another kind below, so it is refused here too).
REVIEW_ACTIONS = {
    "contract_version_review.VersionReviewPrechecks",
    "contract_version_review.VersionReviewRow",
    "contract_version_review.VersionReviewApprove",
    "contract_version_review.VersionReviewReturn",
    "contracts_review.review_save",
    "contracts_review.review_refresh",
    "contracts_review.review_approve",
    "contracts_review.review_return",
}


def _immutability_world(db, make_agreement, make_version, make_user, status: str):
    agreement = make_agreement(host="Göteborg", buyers=("Härryda", "Lerum"))
    version = make_version(agreement, status="in_review")
    document = _attach(db, version, DocumentKind.OTHER, "Underlag.pdf")
    row = _add_review_row(db, version)
    loose = AgreementAttachment(
        agreement=agreement,
        filename="Lös.pdf",
        media_type="application/pdf",
        size_bytes=len(PDF),
        sha256="1" * 64,
        content=PDF,
    )
    db.add(loose)
    db.commit()
    if status == "approved":
        _approve(db, version, make_user(roles=("legal",), kommun="Göteborg"))
    return version, document, row, loose


def _snapshot(db, version_id: int) -> tuple:
    db.expire_all()
    v = db.get(ContractVersion, version_id)
    return (
        v.status,
        v.title,
        v.payment_terms_days,
        sorted((st.id, st.name) for st in v.service_types),
        sorted(
            (c.id, c.description, tuple(sorted((p.year, p.amount) for p in c.prices))) for c in v.components
        ),
        sorted((t.id, t.buyer_reference) for t in v.buyer_terms),
        sorted(d.attachment_id for d in v.documents),
        sorted((r.id, r.status) for r in v.review_rows),
    )


@pytest.mark.parametrize("status", ["approved", "in_review"])
def test_every_edit_endpoint_refuses_approved_and_in_review_versions_with_409(
    app, login_as, db, make_agreement, make_version, make_user, municipality, status
):
    """Walks the URL map: every write on a version (and every GET of an edit form) by an editor with
    every role answers 409 with a Swedish message and changes nothing, except the review's own
    actions on a version in review."""
    version, document, row, loose = _immutability_world(db, make_agreement, make_version, make_user, status)
    hourly = _hourly(version)
    st_id = hourly.service_type_id
    values = _ids(version, document, row)
    client = login_as("admin", "finance", "legal", kommun="Göteborg")
    bodies = {
        "contract_terms.VersionItem": {"title": "Ny rubrik"},
        "contract_terms.ServiceTypes": {"code": "ny", "name": "Ny", "unit": "hour", "vat_category": "O"},
        "contract_terms.ServiceTypeItem": {"name": "Ny"},
        "contract_terms.Components": {"model": "per_case", "service_type_id": st_id},
        "contract_terms.ComponentItem": {"description": "Ny"},
        "contract_terms.Prices": {"year": 2031, "amount": "1.00"},
        "contract_terms.PriceItem": {"amount": "2.00"},
        "contract_terms.BuyerTerms": {"municipality_id": municipality("Lerum").id, "buyer_reference": "X"},
        "contract_terms.BuyerTermsItem": {"buyer_reference": "X"},
        "contract_documents.VersionDocumentLink": {"attachment_id": loose.id, "kind": "pub_agreement"},
        "contract_version_review.VersionReviewRow": {"status": "ok"},
        "contract_version_review.VersionReviewReturn": {"reason": "Mer underlag behövs."},
        "contracts_indexing_api.VersionIndexation": {"year": 2027},
        "contracts_terms.version_terms_edit": {"title": "Ny rubrik", "effective_from": "2024-01-01"},
        "contracts_terms.service_type_create": {
            "code": "ny",
            "name": "Ny",
            "unit": "hour",
            "vat_category": "O",
        },
        "contracts_terms.service_type_edit": {"code": "x", "name": "Ny", "unit": "hour", "vat_category": "O"},
        "contracts_terms.component_create": {"model": "per_case", "service_type_id": str(st_id)},
        "contracts_terms.component_edit": {"service_type_id": str(st_id), "description": "Ny"},
        "contracts_terms.price_create": {"year": "2031", "amount": "1,00"},
        "contracts_terms.price_edit": {"year": "2024", "amount": "2,00"},
        "contracts_terms.buyer_terms_edit": {f"ref-{municipality('Lerum').id}": "Ny"},
        "contracts_review.review_save": {f"row-{row.id}-status": "ok"},
        "contracts_review.review_return": {"reason": "Mer underlag behövs."},
        "contracts_documents.document_link": {"attachment_id": str(loose.id), "kind": "pub_agreement"},
        "contracts_indexing.indexation_apply": {"year": "2027"},
    }
    before = _snapshot(db, version.id)
    checked = []
    for rule in _contract_rules(app):
        if "version_id" not in rule.arguments:
            continue
        methods = rule.methods & WRITE_METHODS
        if "GET" in rule.methods and methods and rule.endpoint.startswith("contracts_terms."):
            methods = methods | {"GET"}  # the edit forms themselves
        for method in sorted(methods):
            if status == "in_review" and rule.endpoint in REVIEW_ACTIONS:
                continue
            if status == "approved" and rule.endpoint.endswith(("VersionIndexation", "indexation_apply")):
                continue  # indexing an approved version makes a new draft; tested in test_indexing_*
            url = rule.build(values, append_unknown=False)[1]
            body = bodies.get(rule.endpoint, {})
            if method == "GET":
                response = client.get(url)
            elif rule.endpoint.endswith(("VersionDocuments", "document_upload")):
                data = {"kind": "pub_agreement", "file": (io.BytesIO(PDF), "pub.pdf")}
                if url.startswith("/api/"):
                    response = client.api(method, url, data=data, content_type="multipart/form-data")
                else:
                    response = client.post_form(url, data, content_type="multipart/form-data")
            elif url.startswith("/api/"):
                response = client.api(method, url, json=body)
            else:
                response = client.post_form(url, body)
            checked.append(f"{method} {url}")
            assert response.status_code == 409, f"{method} {url} ({rule.endpoint}): {response.status_code}"
            text = _text(response)
            assert not ENGLISH.search(text), text[:300]
            assert re.search(r"kan (inte|bara)|Bara|godkänd|granskning", text), (url, text[:300])
    assert len(checked) > 30
    assert _snapshot(db, version.id) == before


def test_deleting_a_draft_that_an_invoice_references_is_409_with_a_message_that_says_so(
    login_as, make_agreement, make_version, db, municipality
):
    """The database refuses (the invoice's foreign key is RESTRICT); the answer used to be the generic
    "someone else just saved the same thing" instead of why the draft cannot go."""
    from billing.models import ChargeKind, Invoice, VatGroup

    agreement = make_agreement(host="Göteborg", buyers=("Härryda",))
    version = make_version(agreement)
    db.add(
        Invoice(
            charge_kind=ChargeKind.SERVICES,
            vat_group=VatGroup.OUTSIDE_SCOPE,
            seller_municipality_id=municipality("Göteborg").id,
            buyer_municipality_id=municipality("Härryda").id,
            agreement_id=agreement.id,
            contract_version_id=version.id,
            period_start=dt.date(2024, 1, 1),
            period_end=dt.date(2024, 1, 31),
        )
    )
    db.commit()
    client = login_as("admin", kommun="Göteborg")
    api = client.api("delete", f"/api/v1/contract-versions/{version.id}")
    page = client.post_form(f"/avtalsversioner/{version.id}/ta-bort")
    assert (api.status_code, page.status_code) == (409, 409)
    assert "hänvisar till" in api.json["message"] and "hänvisar till" in _text(page)
    db.expire_all()
    assert db.get(ContractVersion, version.id) is not None


def test_removing_an_agreement_attachment_linked_to_a_contract_version_says_why(
    login_as, make_agreement, make_version, db
):
    from registry.models import AgreementStatus

    agreement = make_agreement(host="Göteborg", buyers=("Härryda",), status=AgreementStatus.DRAFT)
    version = make_version(agreement)
    document = _attach(db, version, DocumentKind.PUB_AGREEMENT, "PUB.pdf")
    client = login_as("admin", kommun="Göteborg")
    response = client.api("delete", f"/api/v1/agreements/{agreement.id}/attachments/{document.attachment_id}")
    assert response.status_code == 409
    assert "version 1" in response.json["message"] and "PUB.pdf" in response.json["message"]
    db.expire_all()
    assert db.get(AgreementAttachment, document.attachment_id) is not None
    # Unlinked first, the attachment can go.
    assert (
        client.post_form(f"/avtalsversioner/{version.id}/dokument/{document.id}/ta-bort").status_code == 302
    )
    response = client.api("delete", f"/api/v1/agreements/{agreement.id}/attachments/{document.attachment_id}")
    assert response.status_code == 204


# --- The audit log keeps what is removed from a draft ---------------------------------------------


def test_removing_terms_from_a_draft_is_in_the_audit_log_for_the_parties(
    login_as, make_version, db, municipality
):
    """Prices, buyer references, components and documents are removed from their parent's collection
    (delete-orphan); those deletes used to leave no audit entry at all."""
    from core.models import AuditEntry, AuditEntryScope

    version = make_version()
    hourly = _hourly(version)
    outlays = next(c for c in version.components if c.model == CompensationModel.OUTLAYS)
    document = _attach(db, version, DocumentKind.OTHER)
    price, terms = hourly.prices[0], version.buyer_terms[0]
    ids = {
        "contract_prices": price.id,
        "contract_buyer_terms": terms.id,
        "contract_components": outlays.id,
        "contract_version_documents": document.id,
    }
    client = login_as("finance", kommun="Göteborg")
    base = f"/api/v1/contract-versions/{version.id}"
    assert client.api("delete", f"{base}/prices/{price.id}").status_code == 204
    assert client.api("delete", f"{base}/buyer-terms/{terms.id}").status_code == 204
    assert client.api("delete", f"{base}/components/{outlays.id}").status_code == 204
    assert client.api("delete", f"{base}/documents/{document.id}").status_code == 204
    db.expire_all()
    parties = {municipality(m).id for m in ("Göteborg", "Härryda", "Lerum")}
    for entity, entity_id in ids.items():
        entry = db.scalar(
            select(AuditEntry).where(
                AuditEntry.entity == entity,
                AuditEntry.entity_id == str(entity_id),
                AuditEntry.action == "delete",
            )
        )
        assert entry is not None, entity
        assert entry.user_id == client.user.id
        scopes = set(
            db.scalars(select(AuditEntryScope.municipality_id).where(AuditEntryScope.entry_id == entry.id))
        )
        assert scopes == parties, entity


def test_api_upload_with_the_file_sent_as_text_is_422_not_500(login_as, make_version, db):
    version = make_version()
    client = login_as("admin", kommun="Göteborg")
    response = client.api(
        "post",
        f"/api/v1/contract-versions/{version.id}/documents",
        data={"kind": "other", "file": "inte en fil"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert response.json["errors"]["file"] == [
        "Välj en fil att ladda upp (som en fil i formuläret, inte som text)."
    ]
    db.expire_all()
    assert db.get(ContractVersion, version.id).documents == []


def test_forms_and_cookie_api_writes_need_the_csrf_token(login_as, make_version, db):
    """Nothing in contracts is exempt from the shell's CSRF check (a junk bearer header included)."""
    version = make_version()
    client = login_as("admin", "legal", kommun="Göteborg")
    base = f"/api/v1/contract-versions/{version.id}"
    assert client.client.post(f"/avtalsversioner/{version.id}/ta-bort").status_code == 400
    assert client.client.post(f"/avtalsversioner/{version.id}/granskning/lamna-in").status_code == 400
    assert client.client.delete(base).status_code == 400
    assert client.client.patch(
        base, json={"title": "X"}, headers={"Authorization": "Bearer junk"}
    ).status_code in (
        400,
        401,
    )
    assert client.client.post("/api/v1/index-values/", json={}).status_code == 400
    db.expire_all()
    assert db.get(ContractVersion, version.id).status == VersionStatus.DRAFT
    assert db.get(ContractVersion, version.id).title == version.title


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_version_in_force_on_the_first_and_last_day_of_the_calendar(login_as, make_version, day):
    version = make_version(status="approved")
    client = login_as("caseworker", kommun="Härryda")
    response = client.get(f"/api/v1/agreements/{version.agreement_id}/contract-versions/in-force?date={day}")
    assert response.status_code == (404 if day.startswith("0001") else 200)
    assert not ENGLISH.search(str(response.json))


@pytest.mark.parametrize("role", ["admin", "finance", "legal"])
@pytest.mark.parametrize("kommun", ["Göteborg", "Lerum"])
def test_admin_finance_and_legal_of_any_party_edit_a_draft(login_as, make_version, db, role, kommun):
    version = make_version()
    client = login_as(role, kommun=kommun)
    response = client.api("patch", f"/api/v1/contract-versions/{version.id}", json={"payment_terms_days": 20})
    assert response.status_code == 200
    db.expire_all()
    assert db.get(ContractVersion, version.id).payment_terms_days == 20


def test_review_form_ignores_rows_of_another_version(login_as, db, make_agreement, make_version):
    """The review form of A's version names a row of B's version (Härryda's legal may review both):
    B's row is not marked through A's form."""
    a = make_version(make_agreement(host="Göteborg", buyers=("Härryda",), number="A-1"), status="in_review")
    b = make_version(make_agreement(host="Härryda", buyers=("Lerum",), number="B-1"), status="in_review")
    a_row, b_row = _add_review_row(db, a), _add_review_row(db, b)
    client = login_as("legal", kommun="Härryda")
    response = client.post_form(
        f"/avtalsversioner/{a.id}/granskning",
        {f"row-{b_row.id}-status": "missing", f"row-{b_row.id}-comment": "Via fel version"},
    )
    assert response.status_code in (302, 404, 422)
    db.expire_all()
    assert db.get(ContractReviewRow, b_row.id).status is None
    assert db.get(ContractReviewRow, a_row.id).status is None
