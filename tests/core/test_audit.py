"""The audit log: automatic, append-only, hash-chained, verifiable, filterable by auditors."""

import datetime as dt

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from core import services
from core.audit import AuditTamperError, acting_as, verify_audit_chain
from core.cli import core_cli
from core.models import AuditEntry, MunicipalityPopulation


def _entries(db, entity, entity_id=None):
    stmt = select(AuditEntry).where(AuditEntry.entity == entity).order_by(AuditEntry.id)
    if entity_id is not None:
        stmt = stmt.where(AuditEntry.entity_id == str(entity_id))
    return db.scalars(stmt).all()


def _allow_tampering(db):
    """Switch off the database's append-only guard inside the test transaction (rolled back)."""
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_append_only"))
    else:
        db.execute(text("DROP TRIGGER audit_entries_no_update"))
        db.execute(text("DROP TRIGGER audit_entries_no_delete"))


def test_edit_through_a_page_is_recorded_with_who_and_before_after(login_as, municipality, db):
    c = login_as("admin", kommun="Härryda")
    harryda = municipality("Härryda")
    before_city = harryda.city
    response = c.post_form(f"/kommuner/{harryda.id}/redigera", {"city": "Mölnlycke", "postal_code": "43580"})
    assert response.status_code == 302
    entry = _entries(db, "municipalities", harryda.id)[-1]
    assert entry.action == "update"
    assert entry.user_id == c.user.id
    assert entry.actor == c.user.email
    assert entry.municipality_id == harryda.id
    assert entry.changes["city"] == [before_city, "Mölnlycke"]
    assert entry.changes["postal_code"][1] == "435 80"
    assert "kommunkod" not in entry.changes  # unchanged fields are not listed
    assert entry.occurred_at.tzinfo is not None


def test_insert_and_delete_are_recorded(make_user, municipality, db):
    user = make_user(roles=["admin"])
    harryda = municipality("Härryda")
    row = services.set_population(db, user, harryda, 2030, 41000, source="Prognos")
    db.flush()
    inserted = _entries(db, "municipality_populations", row.id)
    assert inserted[-1].action == "insert"
    assert inserted[-1].changes["population"] == [None, 41000]
    row_id = row.id
    db.delete(row)
    db.flush()
    deleted = _entries(db, "municipality_populations", row_id)[-1]
    assert deleted.action == "delete"
    assert deleted.changes["population"] == [41000, None]
    assert db.get(MunicipalityPopulation, row_id) is None


def test_secrets_are_redacted(make_user, db):
    user = make_user(roles=["finance"])
    services.set_password(db, user, "Ett-helt-nytt-lösenord")
    db.flush()
    update = _entries(db, "users", user.id)[-1]
    assert update.changes["password_hash"] == ["***", "***"]
    assert user.password_hash not in str(update.changes)
    token, secret = services.create_api_token(db, user, "Nyckel")
    db.flush()
    token_entry = _entries(db, "api_tokens", token.id)[-1]
    assert token_entry.changes["token_hash"] == [None, "***"]
    assert secret not in str(token_entry.changes)


def test_chain_verifies_and_tampering_is_detected(make_user, municipality, db):
    user = make_user(roles=["admin"])
    harryda = municipality("Härryda")
    services.update_municipality(db, user, harryda, {"city": "Före"})
    services.update_municipality(db, user, harryda, {"city": "Efter"})
    db.flush()
    assert verify_audit_chain(db).ok
    victim = _entries(db, "municipalities", harryda.id)[-2]
    _allow_tampering(db)
    db.execute(
        text("UPDATE audit_entries SET changes = :c WHERE id = :id"),
        {"c": '{"city": [null, "Förfalskat"]}', "id": victim.id},
    )
    result = verify_audit_chain(db)
    assert not result.ok
    assert result.broken_entry_id == victim.id
    assert "hash" in result.reason


def test_deleted_entry_is_detected(make_user, municipality, db):
    user = make_user(roles=["admin"])
    harryda = municipality("Härryda")
    services.update_municipality(db, user, harryda, {"city": "Ett"})
    services.update_municipality(db, user, harryda, {"city": "Två"})
    db.flush()
    first, second = _entries(db, "municipalities", harryda.id)[-2:]
    _allow_tampering(db)
    db.execute(text("DELETE FROM audit_entry_scopes WHERE entry_id = :id"), {"id": first.id})
    db.execute(text("DELETE FROM audit_entries WHERE id = :id"), {"id": first.id})
    result = verify_audit_chain(db)
    assert not result.ok
    assert result.broken_entry_id == second.id


def test_removing_the_newest_entry_is_detected(make_user, municipality, db):
    user = make_user(roles=["admin"])
    services.update_municipality(db, user, municipality("Härryda"), {"city": "Sist"})
    db.flush()
    last = db.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))
    _allow_tampering(db)
    db.execute(text("DELETE FROM audit_entry_scopes WHERE entry_id = :id"), {"id": last.id})
    db.execute(text("DELETE FROM audit_entries WHERE id = :id"), {"id": last.id})
    result = verify_audit_chain(db)
    assert not result.ok
    assert "sista" in result.reason


def test_orm_refuses_to_change_or_delete_entries(make_user, db):
    make_user()
    entry = db.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))
    entry.actor = "någon annan"
    with pytest.raises(AuditTamperError):
        db.flush()
    db.rollback()
    entry = db.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))
    db.delete(entry)
    with pytest.raises(AuditTamperError):
        db.flush()
    db.rollback()


def test_database_refuses_update_and_delete(make_user, db):
    make_user()
    entry_id = db.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1))
    db.commit()
    for statement in (
        "UPDATE audit_entries SET actor = 'x' WHERE id = :id",
        "DELETE FROM audit_entries WHERE id = :id",
    ):
        nested = db.begin_nested()
        with pytest.raises(DBAPIError, match="append-only"):
            db.execute(text(statement), {"id": entry_id})
        nested.rollback()


def test_verify_audit_command(app, make_user, municipality, db):
    user = make_user(roles=["admin"])
    services.update_municipality(db, user, municipality("Härryda"), {"city": "Kommando"})
    db.commit()
    runner = app.test_cli_runner()
    ok = runner.invoke(core_cli, ["verify-audit"])
    assert ok.exit_code == 0, ok.output
    assert "Granskningsloggen är hel" in ok.output
    newest = db.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))
    _allow_tampering(db)
    db.execute(text("UPDATE audit_entries SET actor = 'förfalskare' WHERE id = :id"), {"id": newest.id})
    db.commit()
    broken = runner.invoke(core_cli, ["verify-audit"])
    assert broken.exit_code == 1
    assert f"BRUTEN vid post {newest.id}" in broken.output


def test_auditor_page_filters_by_entity_user_and_date(login_as, make_user, municipality, db):
    admin = make_user(roles=["admin"], name="Alma Admin")
    harryda = municipality("Härryda")
    with acting_as(admin.email, admin.id):
        services.update_municipality(db, admin, harryda, {"city": "Filterstad"})
        db.commit()
    c = login_as("auditor")
    today = dt.date.today().isoformat()
    by_entity = c.get("/granskningslogg/?entitet=municipalities").get_data(as_text=True)
    assert "Filterstad" in by_entity
    assert "Alma Admin" in by_entity  # who, by name
    assert "Användare " + str(admin.id) not in by_entity  # user rows are filtered out
    api = c.get(f"/api/v1/audit/?user_id={admin.id}&page_size=100").json
    assert api and all(e["user_id"] == admin.id for e in api)
    api_entities = c.get("/api/v1/audit/?entity=users&page_size=100").json
    assert all(e["entity"] == "users" for e in api_entities)
    assert c.get(f"/api/v1/audit/?date_from={today}&entity=municipalities").json
    yesterday = (dt.date.today() - dt.timedelta(days=2)).isoformat()
    assert c.get(f"/api/v1/audit/?date_to={yesterday}&entity=municipalities").json == []
    assert "Filterstad" not in c.get(f"/granskningslogg/?till={yesterday}").get_data(as_text=True)


def test_only_auditors_and_sysadmins_read_the_log(login_as):
    assert login_as("finance").get("/granskningslogg/").status_code == 403
    assert login_as("admin").get("/api/v1/audit/").status_code == 403
    assert login_as("auditor").get("/granskningslogg/").status_code == 200
    assert login_as("sysadmin", kommun=None).get("/api/v1/audit/").status_code == 200


def test_auditors_of_every_party_see_a_shared_rows_entries(login_as, make_user, municipality, db):
    """An agreement concerns all its parties: each party's auditor reads its audit entries."""
    import datetime as dt

    from registry.models import Agreement, AgreementParty, Area, CooperationForm, PartyRole

    agreement = Agreement(
        number="AUD-1",
        title="Granskat avtal",
        area=Area.JAV,
        cooperation_form=CooperationForm.AVTALSSAMVERKAN,
        legal_basis="KL 9 kap. 37 §",
        start_date=dt.date(2026, 1, 1),
    )
    agreement.parties = [
        AgreementParty(municipality=municipality("Göteborg"), role=PartyRole.HOST),
        AgreementParty(municipality=municipality("Härryda"), role=PartyRole.BUYER),
    ]
    db.add(agreement)
    db.commit()
    for kommun, visible in (("Göteborg", True), ("Härryda", True), ("Lerum", False)):
        c = login_as("auditor", kommun=kommun)
        entries = c.get("/api/v1/audit/?entity=agreements&page_size=100").json
        assert (str(agreement.id) in {e["entity_id"] for e in entries}) is visible, kommun
