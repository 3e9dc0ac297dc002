"""Business rules of the shell: the municipality register, population figures, users and API tokens.

Functions here add and flush; the request or `unit_of_work()` owns the transaction.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from marshmallow import ValidationError
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from core.auth import MIN_PASSWORD_LENGTH, hash_password, hash_token, new_token_secret
from core.db import swedish, utcnow
from core.errors import Conflict, NotFound, ValidationFailed
from core.models import ApiToken, Municipality, MunicipalityPopulation, Role, User, UserRole
from core.permissions import Permission, can, require
from core.personal_numbers import check_no_personal_number, find_personal_numbers
from core.schemas import MAX_POPULATION, MunicipalityUpdateSchema, UserCreateSchema, UserUpdateSchema

REFERENCE_CSV = Path(__file__).parent / "data" / "municipalities.csv"


# --- Municipalities -----------------------------------------------------------------------------


def load_reference_municipalities(session: Session, path: Path = REFERENCE_CSV) -> int:
    """Insert the municipalities of the reference file that are missing; returns how many were added."""
    existing = set(session.scalars(select(Municipality.kommunkod)))
    added = 0
    with path.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["kommunkod"] in existing:
                continue
            session.add(
                Municipality(
                    kommunkod=row["kommunkod"],
                    name=row["name"],
                    county_code=row["county_code"],
                    county_name=row["county_name"],
                )
            )
            added += 1
    session.flush()
    return added


def search_municipalities(session: Session, q: str | None = None, county: str | None = None):
    """A select() of municipalities matching a name or kommunkod fragment and/or a county code."""
    stmt = (
        select(Municipality)
        .options(selectinload(Municipality.populations))
        .order_by(swedish(Municipality.name), Municipality.kommunkod)
    )
    if q:
        q = q.strip()
        stmt = stmt.where(
            or_(
                func.lower(Municipality.name).contains(q.lower(), autoescape=True),
                Municipality.kommunkod.startswith(q, autoescape=True),
            )
        )
    if county:
        stmt = stmt.where(Municipality.county_code == county)
    return stmt


def list_counties(session: Session) -> list[tuple[str, str]]:
    rows = session.execute(
        select(Municipality.county_code, Municipality.county_name)
        .distinct()
        .order_by(Municipality.county_code)
    )
    return [(code, name) for code, name in rows]


def get_municipality(session: Session, municipality_id: int) -> Municipality:
    municipality = session.get(Municipality, municipality_id)
    if municipality is None:
        raise NotFound("Kommunen finns inte.")
    return municipality


def get_municipality_by_code(session: Session, kommunkod: str) -> Municipality:
    municipality = session.scalar(select(Municipality).where(Municipality.kommunkod == kommunkod))
    if municipality is None:
        raise NotFound(f"Det finns ingen kommun med kommunkod {kommunkod}.")
    return municipality


def load_or_raise(schema, data: dict, partial: bool = False) -> dict:
    try:
        return schema.load(data, partial=partial)
    except ValidationError as exc:
        raise ValidationFailed(errors=exc.messages) from exc


def update_municipality(session: Session, user, municipality: Municipality, data: dict) -> Municipality:
    """Validate and apply an edit of a municipality's contact and payment details."""
    require(user, Permission.MUNICIPALITY_EDIT, municipality.id)
    values = load_or_raise(MunicipalityUpdateSchema(), data)
    org = values.get("org_number")
    if org:
        clash = session.scalar(
            select(Municipality).where(Municipality.org_number == org, Municipality.id != municipality.id)
        )
        if clash is not None:
            raise ValidationFailed(
                errors={"org_number": [f"Organisationsnumret används redan av {clash.name}."]}
            )
    for key, value in values.items():
        setattr(municipality, key, value)
    session.flush()
    return municipality


def set_population(
    session: Session,
    user,
    municipality: Municipality,
    year: int,
    population: int,
    reference_date: dt.date | None = None,
    source: str | None = None,
) -> MunicipalityPopulation:
    require(user, Permission.MUNICIPALITY_EDIT, municipality.id)
    row = session.scalar(
        select(MunicipalityPopulation).where(
            MunicipalityPopulation.municipality_id == municipality.id, MunicipalityPopulation.year == year
        )
    )
    if row is None:
        row = MunicipalityPopulation(municipality=municipality, year=year)
        session.add(row)
    row.population = population
    row.reference_date = reference_date
    row.source = source
    session.flush()
    return row


@dataclass
class ImportResult:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


_HEADER_ALIASES = {
    "kommunkod": "kommunkod",
    "kod": "kommunkod",
    "kommun_kod": "kommunkod",
    "region": "kommunkod",
    "år": "year",
    "ar": "year",
    "year": "year",
    "folkmängd": "population",
    "folkmangd": "population",
    "befolkning": "population",
    "population": "population",
    "antal": "population",
    "invånare": "population",
    "referensdatum": "reference_date",
    "datum": "reference_date",
    "reference_date": "reference_date",
    "källa": "source",
    "kalla": "source",
    "source": "source",
}


UNREADABLE_CSV = (
    "Filen kan inte läsas som text (UTF-8 eller Windows-1252). Spara den som CSV och försök igen."
)


def decode_csv_bytes(data: bytes) -> str:
    """UTF-8 (with or without BOM) or, failing that, Windows-1252 as Excel writes it. Bytes that are
    neither raise UnicodeDecodeError: callers report UNREADABLE_CSV."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252")


def sniff_delimiter(first_line: str) -> str:
    """`;` (Excel in Sweden) or `,`, judged by the header line: whichever occurs more often."""
    return ";" if first_line.count(";") >= first_line.count(",") else ","


def import_population_csv(session: Session, user, data: bytes) -> ImportResult:
    """Import population figures (kommunkod; år; folkmängd[; referensdatum; källa]).

    `user` None means the command line, which may write every municipality.
    All rows are checked first; if any is wrong nothing is written and every error is reported with
    its line number, in Swedish.
    """
    result = ImportResult()
    if not data.strip():
        result.errors.append((0, "Filen är tom."))
        return result
    try:
        text = decode_csv_bytes(data)
    except UnicodeDecodeError:
        result.errors.append((0, UNREADABLE_CSV))
        return result
    if not text.strip():  # e.g. Excel's "CSV UTF-8" of an empty sheet: only a byte order mark
        result.errors.append((0, "Filen är tom."))
        return result
    lines = text.splitlines()
    reader = csv.reader(io.StringIO(text), delimiter=sniff_delimiter(lines[0]))
    header = next(reader, [])
    columns = [_HEADER_ALIASES.get(h.strip().lower().lstrip("\ufeff")) for h in header]
    missing = {"kommunkod", "year", "population"} - set(columns)
    if missing:
        names = {"kommunkod": "kommunkod", "year": "år", "population": "folkmängd"}
        result.errors.append(
            (
                1,
                "Rubrikraden saknar kolumn: "
                + ", ".join(names[m] for m in sorted(missing))
                + ". Första raden ska vara t.ex. kommunkod;år;folkmängd.",
            )
        )
        return result

    municipalities = {m.kommunkod: m for m in session.scalars(select(Municipality))}
    parsed: list[tuple[Municipality, int, int, dt.date | None, str | None]] = []
    seen: dict[tuple[str, int], int] = {}
    for line_no, raw in enumerate(reader, start=2):
        if not any(cell.strip() for cell in raw):
            continue
        result.rows += 1
        if len(raw) > len(columns):
            result.errors.append((line_no, f"Raden har {len(raw)} fält men rubrikraden {len(columns)}."))
            continue
        row = {col: raw[i].strip() for i, col in enumerate(columns) if col and i < len(raw)}
        problems = []
        code = row.get("kommunkod", "")
        if code.isdigit() and len(code) == 3:
            code = "0" + code  # Excel drops the leading zero of Stockholm county's codes
        municipality = municipalities.get(code)
        if municipality is None:
            problems.append(f"okänd kommunkod '{code}'")
        elif user is not None and not can(user, Permission.MUNICIPALITY_EDIT, municipality.id):
            problems.append(f"du får inte ändra uppgifter för {municipality.name}")
        year_text = row.get("year", "")
        year = int(year_text) if year_text.isdigit() else None
        if year is None or not 1900 <= year <= 2200:
            problems.append(f"ogiltigt år '{year_text}'")
        pop_text = re.sub(r"[\s\u00a0]", "", row.get("population", ""))
        population = int(pop_text) if pop_text.isdigit() else None
        if population is None:
            problems.append(f"ogiltig folkmängd '{row.get('population', '')}' (ange ett heltal)")
        elif population > MAX_POPULATION:
            problems.append(
                f"ogiltig folkmängd '{row.get('population', '')}' (högst {MAX_POPULATION:,})".replace(
                    ",", " "
                )
            )
        ref_date = None
        if row.get("reference_date"):
            try:
                ref_date = dt.date.fromisoformat(row["reference_date"])
            except ValueError:
                problems.append(f"ogiltigt referensdatum '{row['reference_date']}' (ÅÅÅÅ-MM-DD)")
        source = row.get("source") or None
        if source and len(source) > 200:
            problems.append("källan är längre än 200 tecken")
        if source and find_personal_numbers(source):
            problems.append("källan innehåller ett personnummer, som inte får registreras")
        if municipality is not None and year is not None:
            key = (code, year)
            if key in seen:
                problems.append(f"{municipality.name} {year} finns redan på rad {seen[key]}")
            else:
                seen[key] = line_no
        if problems:
            message = "; ".join(problems)
            result.errors.append((line_no, message[:1].upper() + message[1:] + "."))
        else:
            parsed.append((municipality, year, population, ref_date, source))
    if result.rows == 0 and not result.errors:
        result.errors.append((0, "Filen innehåller inga rader med folkmängd."))
    if result.errors:
        return result

    existing = {
        (p.municipality_id, p.year): p
        for p in session.scalars(
            select(MunicipalityPopulation).where(
                MunicipalityPopulation.municipality_id.in_({m.id for m, *_ in parsed})
            )
        )
    }
    for municipality, year, population, ref_date, source in parsed:
        current = existing.get((municipality.id, year))
        if current is None:
            session.add(
                MunicipalityPopulation(
                    municipality=municipality,
                    year=year,
                    population=population,
                    reference_date=ref_date,
                    source=source,
                )
            )
            result.created += 1
        elif (current.population, current.reference_date, current.source) == (population, ref_date, source):
            result.unchanged += 1
        else:
            current.population, current.reference_date, current.source = population, ref_date, source
            result.updated += 1
    session.flush()
    return result


# --- Users --------------------------------------------------------------------------------------


def _check_roles_and_scope(session: Session, roles: list[str], municipality_id: int | None) -> list[Role]:
    role_set = [Role(r) for r in dict.fromkeys(roles)]
    if Role.SYSADMIN in role_set:
        if municipality_id is not None:
            raise ValidationFailed(
                errors={"municipality_id": ["En systemadministratör hör inte till en kommun."]}
            )
    else:
        if municipality_id is None:
            raise ValidationFailed(errors={"municipality_id": ["Välj den kommun användaren arbetar för."]})
        if session.get(Municipality, municipality_id) is None:
            raise ValidationFailed(errors={"municipality_id": ["Kommunen finns inte."]})
    return role_set


def create_user(session: Session, actor, data: dict) -> User:
    """Create a user (sysadmins only, or `actor=None` from the command line)."""
    if actor is not None:
        require(actor, Permission.USER_MANAGE)
    values = load_or_raise(UserCreateSchema(), data)
    email = values["email"].strip().lower()
    if session.scalar(select(User).where(User.email == email)) is not None:
        raise ValidationFailed(errors={"email": ["Det finns redan en användare med den e-postadressen."]})
    roles = _check_roles_and_scope(session, values["roles"], values.get("municipality_id"))
    user = User(
        email=email,
        name=values["name"].strip(),
        municipality_id=values.get("municipality_id"),
        password_hash=hash_password(values["password"]),
        active=values.get("active", True),
    )
    user.role_rows = [UserRole(role=r) for r in roles]
    session.add(user)
    session.flush()
    return user


def update_user(session: Session, actor, user: User, data: dict) -> User:
    if actor is not None:
        require(actor, Permission.USER_MANAGE)
    values = load_or_raise(UserUpdateSchema(), data, partial=True)
    municipality_id = values.get("municipality_id", user.municipality_id)
    roles = values.get("roles", [r.value for r in user.roles])
    role_list = _check_roles_and_scope(session, roles, municipality_id)
    if actor is not None and actor.id == user.id:
        if Role.SYSADMIN not in role_list or values.get("active") is False:
            raise Conflict(
                "Du kan inte ta bort din egen systemadministratörsroll eller inaktivera dig själv."
            )
    if "name" in values:
        user.name = values["name"].strip()
    user.municipality_id = municipality_id
    if "active" in values:
        user.active = values["active"]
    if "password" in values and values["password"]:
        user.password_hash = hash_password(values["password"])
    current = {r.role: r for r in user.role_rows}
    user.role_rows = [current.get(r) or UserRole(role=r) for r in role_list]
    session.flush()
    return user


def set_password(session: Session, user: User, password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(
            errors={"password": [f"Lösenordet måste ha minst {MIN_PASSWORD_LENGTH} tecken."]}
        )
    user.password_hash = hash_password(password)
    session.flush()


def change_own_password(session: Session, user: User, current: str, new: str, repeat: str) -> None:
    """A user changes their own password: the current one must be given, the new one twice."""
    from core.auth import verify_password

    errors = {}
    if not verify_password(user, current or ""):
        errors["current_password"] = ["Det nuvarande lösenordet stämmer inte."]
    if len(new or "") < MIN_PASSWORD_LENGTH:
        errors["new_password"] = [f"Minst {MIN_PASSWORD_LENGTH} tecken."]
    elif new != repeat:
        errors["repeat_password"] = ["Lösenorden är inte lika."]
    if errors:
        raise ValidationFailed(errors=errors)
    set_password(session, user, new)


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("Användaren finns inte.")
    return user


def get_user_by_email(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFound(f"Det finns ingen användare med e-postadressen {email}.")
    return user


def search_users(session: Session, actor, q: str | None = None, municipality_id: int | None = None):
    """Users the actor may see: sysadmins everyone, others only their own municipality's."""
    require(actor, Permission.USER_READ)
    stmt = select(User).order_by(swedish(User.name), User.id)
    if not actor.is_sysadmin:
        stmt = stmt.where(User.municipality_id == actor.municipality_id)
    if municipality_id is not None:
        stmt = stmt.where(User.municipality_id == municipality_id)
    if q:
        q = q.strip().lower()
        stmt = stmt.where(
            or_(func.lower(User.name).contains(q, autoescape=True), User.email.contains(q, autoescape=True))
        )
    return stmt


# --- API tokens ---------------------------------------------------------------------------------


def create_api_token(
    session: Session, user: User, name: str, days: int | None = None
) -> tuple[ApiToken, str]:
    """Create a personal token; returns the row and the secret, which is never stored or shown again."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationFailed(
            errors={"name": ["Ge nyckeln ett namn (högst 100 tecken), t.ex. 'Ekonomisystemet'."]}
        )
    try:
        check_no_personal_number(name)
    except ValidationError as exc:
        raise ValidationFailed(errors={"name": exc.messages}) from exc
    if days is not None and not 1 <= days <= 730:
        raise ValidationFailed(errors={"days": ["Giltighetstiden ska vara 1-730 dagar."]})
    secret = new_token_secret()
    token = ApiToken(
        user=user,
        name=name,
        prefix=secret[:10],
        token_hash=hash_token(secret),
        expires_at=utcnow() + dt.timedelta(days=days) if days else None,
    )
    session.add(token)
    session.flush()
    return token, secret


def revoke_api_token(session: Session, user: User, token_id: int) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None or (token.user_id != user.id and not user.is_sysadmin):
        raise NotFound("API-nyckeln finns inte.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.flush()
    return token
