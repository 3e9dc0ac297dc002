"""`flask core ...` commands."""

from sqlalchemy import func, select

from core.auth import verify_password
from core.cli import core_cli
from core.models import AuditEntry, Municipality, User


def test_create_user_and_set_password(app, db):
    runner = app.test_cli_runner()
    result = runner.invoke(
        core_cli,
        [
            "create-user",
            "--email",
            "Ny.Ekonom@Lerum.test",
            "--name",
            "Ny Ekonom",
            "--municipality",
            "1441",
            "--role",
            "finance",
            "--role",
            "legal",
            "--password",
            "Första-lösenordet-1",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "ny.ekonom@lerum.test är skapad" in result.output
    user = db.scalar(select(User).where(User.email == "ny.ekonom@lerum.test"))
    assert user.municipality.kommunkod == "1441"
    assert {r.value for r in user.roles} == {"finance", "legal"}
    assert verify_password(user, "Första-lösenordet-1")
    created = db.scalar(
        select(AuditEntry).where(AuditEntry.entity == "users", AuditEntry.entity_id == str(user.id))
    )
    assert created.actor == "cli: create-user"

    result = runner.invoke(
        core_cli, ["set-password", "ny.ekonom@lerum.test", "--password", "Andra-lösenordet-22"]
    )
    assert result.exit_code == 0, result.output
    db.expire_all()
    assert verify_password(db.get(User, user.id), "Andra-lösenordet-22")


def test_create_user_errors_are_clear_and_save_nothing(app, db):
    runner = app.test_cli_runner()
    result = runner.invoke(
        core_cli,
        [
            "create-user",
            "--email",
            "x@y.test",
            "--name",
            "X",
            "--municipality",
            "9999",
            "--role",
            "finance",
            "--password",
            "Ett-långt-lösenord",
        ],
    )
    assert result.exit_code == 1
    assert "Det finns ingen kommun med kommunkod 9999" in result.output
    result = runner.invoke(
        core_cli,
        [
            "create-user",
            "--email",
            "x@y.test",
            "--name",
            "X",
            "--municipality",
            "1441",
            "--role",
            "finance",
            "--password",
            "kort",
        ],
    )
    assert result.exit_code == 1
    assert "Minst 12 tecken." in result.output
    assert db.scalar(select(User).where(User.email == "x@y.test")) is None


def test_set_password_for_unknown_user(app):
    result = app.test_cli_runner().invoke(
        core_cli, ["set-password", "ingen@x.test", "--password", "Ett-långt-lösenord"]
    )
    assert result.exit_code == 1
    assert "Det finns ingen användare" in result.output


def test_seed_is_idempotent_and_loads_demo_data_once(demo):
    # `demo` ran `flask core seed` on an empty database (once per backend, shared by the demo tests).
    first = demo.output
    db = demo.session
    assert "Kommunregistret: 290 nya kommuner inlästa." in first
    assert "Demodata inlästa" in first
    assert db.scalar(select(func.count()).select_from(Municipality)) == 290
    goteborg = db.scalar(select(Municipality).where(Municipality.kommunkod == "1480"))
    assert goteborg.org_number == "212000-1355"
    assert goteborg.population_for(2025) is not None
    db.rollback()  # end the read transaction: SQLite lets only one writer in
    runner = demo.app.test_cli_runner()
    second = runner.invoke(core_cli, ["seed"])
    assert second.exit_code == 0, second.output
    assert "Kommunregistret är redan inläst." in second.output
    assert "Demodata" not in second.output
    logins = runner.invoke(core_cli, ["demo-logins"])
    assert "ekonomi@harryda.demo" in logins.output
    assert "Ekonomi" in logins.output and "Härryda" in logins.output
