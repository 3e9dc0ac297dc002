"""Pages of performed services: the list (scope, filters, totals per unit, attest selection), the
register and edit forms, a service's page and the CSV import page with its example file."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from billing.models import PerformedService
from tests.billing import services_support as support
from tests.billing.services_support import PERSONAL_NUMBER, D, count_services, csv_bytes, form

agreement = support.agreement
approve = support.approve
fixed_today = support.fixed_today

LIST = "/prestationer/"


def text(response) -> str:
    return response.get_data(as_text=True)


def cells(html: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", html, re.S)]


@pytest.fixture
def caseworker(login_as):
    return login_as("caseworker", kommun="Göteborg")


@pytest.fixture
def finance(login_as):
    return login_as("finance", kommun="Göteborg")


def test_nav_item_for_roles_that_read(login_as):
    page = text(login_as("auditor", kommun="Lerum").get("/"))
    assert f'href="{LIST}"' in page and ">Prestationer<" in page


def test_list_is_scoped_and_totals_per_unit(login_as, agreement, make_service):
    make_service(agreement, quantity="2.5")
    make_service(agreement, quantity="1.25")
    make_service(agreement, buyer="Lerum", code="resa", unit="km", quantity="42")
    own = text(login_as("auditor", kommun="Göteborg").get(LIST))
    assert own.count('name="ids"') == 0  # auditors do not attest
    assert "Summa per enhet" in own
    row_cells = cells(own)
    assert ["timmar", "2", "3,75"] == row_cells[row_cells.index("timmar") : row_cells.index("timmar") + 3]
    assert ["kilometer", "1", "42,00"] == row_cells[
        row_cells.index("kilometer") : row_cells.index("kilometer") + 3
    ]
    harryda = text(login_as("caseworker", kommun="Härryda").get(LIST))
    assert harryda.count("Göteborg</td>") == 2 and "Lerum</td>" not in harryda
    outsider = text(login_as("finance", kommun="Partille").get(LIST))
    assert "Inga prestationer." in outsider and "Summa per enhet" not in outsider


def test_list_filters(caseworker, agreement, make_service, municipality):
    make_service(agreement, day=D(2026, 9, 30), attested=False)
    make_service(agreement, day=D(2026, 10, 1), buyer="Lerum")

    def dates(query: str) -> list[str]:
        html = text(caseworker.get(LIST + query))
        return re.findall(r'/prestationer/\d+">(\d{4}-\d{2}-\d{2})</a>', html)

    assert dates("") == ["2026-10-01", "2026-09-30"]
    assert dates("?status=ej-attesterade") == ["2026-09-30"]
    assert dates("?status=attesterade") == ["2026-10-01"]
    assert dates(f"?kopare={municipality('Lerum').id}") == ["2026-10-01"]
    assert dates("?fran=2026-10-01&till=2026-10-31") == ["2026-10-01"]
    assert dates(f"?avtal={agreement.id}&roll=kopta") == []
    assert caseworker.get(LIST + "?fran=igår").status_code == 422


def test_register_form(caseworker, agreement, municipality, db):
    page = caseworker.get("/prestationer/ny")
    assert page.status_code == 200
    html = text(page)
    assert agreement.number in html and "Faderskapsutredning" in html and "<code>utredning</code>" in html
    response = caseworker.post_form("/prestationer/ny", form(agreement, municipality, note="Hembesök"))
    assert response.status_code == 302
    service = db.scalar(select(PerformedService))
    assert response.headers["Location"].endswith(f"/prestationer/{service.id}")
    assert (service.quantity, service.note) == (Decimal("2.50"), "Hembesök")
    detail = text(caseworker.get(response.headers["Location"]))
    assert (
        "Prestationen är registrerad" in detail
        and "Inte attesterad" in detail
        and "Inte fakturerad" in detail
    )


def test_register_form_keeps_input_and_shows_errors(caseworker, agreement, municipality, db):
    data = form(agreement, municipality, note=PERSONAL_NUMBER, service_type_code="arende", quantity="1")
    response = caseworker.post_form("/prestationer/ny", data)
    assert response.status_code == 422
    html = text(response)
    assert "Uppgifterna sparades inte" in html
    assert "19850101-****" in html  # the personal number is masked in the message ...
    assert "Ange ärendetyp" in html
    assert 'value="arende"' in html  # ... and the rest of the input is kept
    assert count_services(db) == 0


def test_register_and_add_another_keeps_agreement_and_buyer(caseworker, agreement, municipality):
    data = form(agreement, municipality) | {"action": "again"}
    response = caseworker.post_form("/prestationer/ny", data)
    assert response.status_code == 302
    assert f"avtal={agreement.id}" in response.headers["Location"]
    html = text(caseworker.get(response.headers["Location"]))
    assert f'<option value="{agreement.id}" selected>' in html


def test_only_roles_that_register_see_the_form(login_as):
    assert login_as("auditor", kommun="Göteborg").get("/prestationer/ny").status_code == 403
    assert login_as("caseworker", kommun="Göteborg").get("/prestationer/ny").status_code == 200


def test_attest_selection(finance, agreement, make_service, db):
    a, b, c = (make_service(agreement, attested=False) for _ in range(3))
    html = text(finance.get(LIST))
    assert html.count('name="ids"') == 3 and "Attestera markerade" in html
    response = finance.post_form(
        "/prestationer/attest", {"ids": [a.id, c.id], "action": "attest", "tillbaka": LIST}
    )
    assert response.status_code == 302 and response.headers["Location"] == LIST
    db.expire_all()
    assert a.attested_by_id == finance.user.id and c.attested_at is not None and b.attested_at is None
    assert "2 prestationer attesterade." in text(finance.get(LIST))
    finance.post_form("/prestationer/attest", {"ids": [a.id], "action": "unattest"})
    db.expire_all()
    assert a.attested_at is None


def test_caseworker_cannot_attest(caseworker, agreement, make_service, db):
    service = make_service(agreement, attested=False)
    assert 'name="ids"' not in text(caseworker.get(LIST))
    response = caseworker.post_form("/prestationer/attest", {"ids": [service.id]})
    assert response.status_code == 403
    db.expire_all()
    assert service.attested_at is None


def test_attest_without_selection(finance):
    response = finance.post_form("/prestationer/attest", {"tillbaka": "https://evil.example/"})
    assert response.status_code == 302 and response.headers["Location"] == LIST


def test_detail_shows_billing_and_hides_changes(caseworker, agreement, make_service, make_invoice, db):
    service = make_service(agreement)
    invoice = support.bill(db, make_invoice, service)
    html = text(caseworker.get(f"/prestationer/{service.id}"))
    assert f"Fakturerad på faktura id {invoice.id} (status: Utkast" in html
    assert "Ta bort</button>" not in html and "/redigera" not in html
    assert caseworker.get(f"/prestationer/{service.id}/redigera").status_code == 409
    assert caseworker.post_form(f"/prestationer/{service.id}/ta-bort").status_code == 409
    assert count_services(db) == 1


def test_edit_removes_attest(caseworker, agreement, make_service, municipality, db):
    service = make_service(agreement)
    page = text(caseworker.get(f"/prestationer/{service.id}/redigera"))
    assert 'value="1,50"' in page and "attesteras igen" in page
    data = form(agreement, municipality, quantity="1,75")
    response = caseworker.post_form(f"/prestationer/{service.id}/redigera", data, follow_redirects=True)
    assert "Attesten är borttagen" in text(response)
    db.expire_all()
    assert service.quantity == Decimal("1.75") and service.attested_at is None


def test_delete_with_confirmation(caseworker, agreement, make_service, db):
    service = make_service(agreement, attested=False)
    html = text(caseworker.get(f"/prestationer/{service.id}"))
    assert 'data-confirm="Ta bort prestationen?' in html
    response = caseworker.post_form(f"/prestationer/{service.id}/ta-bort")
    assert response.status_code == 302
    assert count_services(db) == 0


def test_detail_scope(login_as, agreement, make_service):
    service = make_service(agreement)
    assert login_as("caseworker", kommun="Partille").get(f"/prestationer/{service.id}").status_code == 404
    buyer_page = text(login_as("caseworker", kommun="Härryda").get(f"/prestationer/{service.id}"))
    assert "Härryda – din kommun" in buyer_page
    assert (
        "/redigera" not in buyer_page
        and 'value="unattest"' not in buyer_page
        and "Åtgärder" not in buyer_page
    )


def test_import_page(caseworker, agreement, db):
    page = text(caseworker.get("/prestationer/import"))
    assert "/prestationer/import/exempel.csv" in page and "<code>kopare</code>" in page
    data = csv_bytes(
        "avtal;datum;kopare;tjanst;antal",
        f"{agreement.number};2026-10-01;1401;utredning;2,5",
        f"{agreement.number};2026-10-02;1401;utredning;1",
    )
    response = caseworker.post_form(
        "/prestationer/import", {"file": (io.BytesIO(data), "okt.csv")}, content_type="multipart/form-data"
    )
    assert response.status_code == 302
    html = text(caseworker.get("/prestationer/import"))
    assert "2 rader importerade från okt.csv" in html and "Senaste importerna" in html
    assert count_services(db) == 2


def test_import_page_shows_every_error(caseworker, agreement, db):
    data = csv_bytes(
        "avtal;datum;kopare;tjanst;antal;anteckning",
        f"{agreement.number};2026-10-01;1401;utredning;2,5;",
        f"{agreement.number};2026-10-01;1401;utredning;0;{PERSONAL_NUMBER}",
        f"{agreement.number};2026-10-01;Partille;utredning;1;",
    )
    response = caseworker.post_form(
        "/prestationer/import", {"file": (io.BytesIO(data), "okt.csv")}, content_type="multipart/form-data"
    )
    assert response.status_code == 422
    html = text(response)
    assert "Ingenting importerades" in html
    row_cells = cells(html)
    assert (
        row_cells[0:2] == ["3", "antal"]
        and row_cells[3:5] == ["3", "anteckning"]
        and row_cells[6:8] == ["4", "kopare"]
    )
    assert count_services(db) == 0


def test_import_page_without_file(caseworker):
    response = caseworker.post_form("/prestationer/import", {}, content_type="multipart/form-data")
    assert response.status_code == 422 and "Välj en CSV-fil" in text(response)


def test_example_csv(caseworker, agreement):
    response = caseworker.get("/prestationer/import/exempel.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == [
        "avtal",
        "datum",
        "kopare",
        "tjanst",
        "arendetyp",
        "antal",
        "enhet",
        "arende",
        "anteckning",
    ]
    assert {r[0] for r in rows[1:]} == {agreement.number}
    assert rows[1][5] == "2,5"  # decimal comma, as Excel in Sweden writes it
