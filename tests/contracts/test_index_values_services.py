"""Recording and revising index values: one value per index and year, every change a revision row,
final values corrected only with a reason, the preview using the stored value, and the roles."""

from decimal import Decimal as D

import pytest
from sqlalchemy import select

from contracts import services
from contracts.errors import IndexRevisionRefused, IndexValueMissing
from contracts.models import IndexKind, IndexStatus, IndexValue, IndexValueRevision, RevisionKind
from core.errors import PermissionDenied, ValidationFailed


def body(**changes):
    data = {
        "kind": "pkv",
        "edition": "PKV oktober 2025",
        "year": 2026,
        "percent": "3,1",
        "status": "preliminary",
        "source": "SKR cirkulär 25:40",
        "published_on": "2025-10-15",
    }
    data.update(changes)
    return data


@pytest.fixture
def finance(make_user):
    return make_user(roles=("finance",))


def test_record_index_value(db, finance):
    value = services.record_index_value(db, finance, body())
    assert value.id is not None
    assert value.kind is IndexKind.PKV
    assert value.percent == D("3.1")
    assert value.status is IndexStatus.PRELIMINARY
    assert value.created_by is finance
    db.expire_all()
    stored = db.get(IndexValue, value.id)
    assert str(stored.percent) == "3.1000"  # Numeric(7, 4) on both databases


def test_duplicate_kind_and_year_is_refused_in_swedish(db, finance, make_index_value):
    make_index_value(kind="pkv", year=2026)
    with pytest.raises(ValidationFailed) as caught:
        services.record_index_value(db, finance, body())
    assert "Det finns redan ett värde för PKV 2026" in caught.value.errors["year"][0]
    # Another index or another year is fine.
    services.record_index_value(db, finance, body(kind="opi", edition="OPI 2026"))
    services.record_index_value(db, finance, body(year=2027, edition="PKV oktober 2026"))


@pytest.mark.parametrize(
    "change, field",
    [
        ({"percent": "100,01"}, "percent"),
        ({"percent": "-50,5"}, "percent"),
        ({"percent": "3,12345"}, "percent"),
        ({"percent": "tre"}, "percent"),
        ({"source": "Uppgift från 19121212-1212"}, "source"),
        ({"edition": "PKV 121212-1212"}, "edition"),
        ({"kind": "xyz"}, "kind"),
        ({"year": 1800}, "year"),
        ({"source": ""}, "source"),
    ],
)
def test_invalid_values_are_refused(db, finance, change, field):
    with pytest.raises(ValidationFailed) as caught:
        services.record_index_value(db, finance, body(**change))
    assert field in caught.value.errors
    assert db.scalar(select(IndexValue)) is None


def test_percent_range_messages_are_swedish(db, finance):
    with pytest.raises(ValidationFailed) as caught:
        services.record_index_value(db, finance, body(percent="101"))
    assert caught.value.errors["percent"] == ["Indexet ska vara mellan -50 och 100 procent."]


def test_preliminary_revised_then_finalized_then_corrected(db, finance, make_index_value):
    value = make_index_value(kind="opi", percent="2.8")
    first = services.revise_index_value(db, finance, value, D("3.0"), "preliminary", None)
    assert first.kind is RevisionKind.REVISION
    assert (first.old_percent, first.new_percent) == (D("2.8"), D("3.0"))
    second = services.revise_index_value(db, finance, value, D("3.2"), IndexStatus.FINAL, "Slutligt OPI")
    assert second.kind is RevisionKind.FINALIZATION
    assert (second.old_status, second.new_status) == (IndexStatus.PRELIMINARY, IndexStatus.FINAL)
    third = services.revise_index_value(db, finance, value, D("3.25"), "final", "Fel i SKR:s cirkulär")
    assert third.kind is RevisionKind.CORRECTION
    assert third.reason == "Fel i SKR:s cirkulär"
    db.commit()
    db.expire_all()
    stored = db.get(IndexValue, value.id)
    assert stored.percent == D("3.25")
    assert stored.status is IndexStatus.FINAL
    assert [r.kind for r in stored.revisions] == [
        RevisionKind.REVISION,
        RevisionKind.FINALIZATION,
        RevisionKind.CORRECTION,
    ]
    assert [r.new_percent for r in stored.revisions] == [D("3.0"), D("3.2"), D("3.25")]
    assert all(r.revised_by_id == finance.id for r in stored.revisions)


def test_finalizing_without_change_of_percent_is_recorded(db, finance, make_index_value):
    value = make_index_value(percent="3.1")
    revision = services.revise_index_value(db, finance, value, D("3.1"), "final", None)
    assert revision.kind is RevisionKind.FINALIZATION
    assert revision.old_percent == revision.new_percent == D("3.1")


def test_final_value_needs_a_reason(db, finance, make_index_value):
    value = make_index_value(status="final")
    with pytest.raises(ValidationFailed) as caught:
        services.revise_index_value(db, finance, value, D("3.3"), "final", None)
    assert caught.value.errors == {"reason": ["Skriv varför det slutliga värdet rättas."]}
    with pytest.raises(ValidationFailed):
        services.revise_index_value(db, finance, value, D("3.3"), "final", "   ")
    assert value.percent == D("3.1")
    assert db.scalar(select(IndexValueRevision)) is None


def test_final_value_cannot_become_preliminary(db, finance, make_index_value):
    value = make_index_value(status="final")
    with pytest.raises(IndexRevisionRefused) as caught:
        services.revise_index_value(db, finance, value, D("3.3"), "preliminary", "Ångrar")
    assert caught.value.status_code == 409


def test_no_change_is_refused(db, finance, make_index_value):
    value = make_index_value(percent="3.1")
    with pytest.raises(ValidationFailed):
        services.revise_index_value(db, finance, value, D("3.1000"), "preliminary", None)


def test_revision_reason_refuses_personal_numbers(db, finance, make_index_value):
    value = make_index_value(status="final")
    with pytest.raises(ValidationFailed) as caught:
        services.revise_index_value(db, finance, value, D("3.3"), "final", "Gäller 19121212-1212")
    assert "reason" in caught.value.errors


def test_search_filters(db, finance, make_index_value):
    make_index_value(kind="pkv", year=2025)
    make_index_value(kind="pkv", year=2026)
    make_index_value(kind="opi", year=2026)
    found = db.scalars(services.search_index_values(db, finance, kind="pkv")).all()
    assert [(v.kind, v.year) for v in found] == [(IndexKind.PKV, 2026), (IndexKind.PKV, 2025)]
    found = db.scalars(services.search_index_values(db, finance, year=2026)).all()
    assert {v.kind for v in found} == {IndexKind.PKV, IndexKind.OPI}


def test_preview_uses_the_stored_value(db, finance, make_index_value):
    make_index_value(kind="pkv", year=2026, percent="2.45")
    preview = services.preview_indexation(db, finance, D("985"), "pkv", 2026, "krona")
    assert preview.result.new_price == D("1009")
    assert preview.value.year == 2026


def test_preview_without_a_value_is_refused_in_swedish(db, finance):
    with pytest.raises(IndexValueMissing) as caught:
        services.preview_indexation(db, finance, D("985"), "aki", 2030, "ore")
    assert caught.value.message.startswith("Det finns inget värde för AKI 2030 i registret.")


@pytest.mark.parametrize("roles", [("caseworker",), ("admin",), ("auditor",)])
def test_read_only_roles_cannot_write(db, make_user, make_index_value, roles):
    user = make_user(roles=roles)
    value = make_index_value()
    with pytest.raises(PermissionDenied):
        services.record_index_value(db, user, body(year=2030))
    with pytest.raises(PermissionDenied):
        services.revise_index_value(db, user, value, D("4"), "final", None)
    assert db.scalars(services.search_index_values(db, user)).all() == [value]


@pytest.mark.parametrize("roles, kommun", [(("legal",), "Härryda"), (("sysadmin",), None)])
def test_legal_and_sysadmin_can_write(db, make_user, roles, kommun):
    user = make_user(roles=roles, kommun=kommun)
    value = services.record_index_value(db, user, body())
    revision = services.revise_index_value(db, user, value, D("3.2"), "final", None)
    assert revision.revised_by is user
