"""Demo data for `make run`: contact details and population for Göteborgsregionen's members and a
few neighbours, and demo users for every role. Organisation numbers other than Göteborg's are
made-up but Luhn-valid; populations are rounded illustrative figures, marked as demo."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import services
from core.models import Municipality, MunicipalityPopulation

DEMO_PASSWORD = "Samverkan-demo-2026"
DEMO_SOURCE = "Demodata (avrundat)"

# kommunkod: (org number, bankgiro, street, postal code, city, invoice e-mail)
DEMO_MUNICIPALITIES = {
    "1480": ("212000-1355", "5050-1097", "Box 1000", "405 30", "Göteborg", "fakturor@goteborg.demo"),
    "1401": ("212000-1371", "540-2961", "Box 200", "435 80", "Mölnlycke", "fakturor@harryda.demo"),
    "1441": ("212000-1447", "5050-1055", "Box 500", "443 80", "Lerum", "fakturor@lerum.demo"),
    "1402": ("212000-1488", None, "Box 100", "433 21", "Partille", None),
    "1481": ("212000-1462", "505-1065", "Göteborgsvägen 11", "431 82", "Mölndal", "fakturor@molndal.demo"),
    "1460": ("212000-1454", "505-1073", "Box 14", "666 21", "Bengtsfors", "fakturor@bengtsfors.demo"),
    "1461": ("212000-1561", None, "Box 112", "464 22", "Mellerud", None),
    "2281": (
        "212000-2411",
        "5050-1030",
        "Norrmalmsgatan 4",
        "851 85",
        "Sundsvall",
        "fakturor@sundsvall.demo",
    ),
    "1440": ("212000-1504", None, "Box 73", "449 21", "Nödinge", None),
    "1489": ("212000-1512", None, "Box 32", "441 81", "Alingsås", None),
    "1384": ("212000-1520", None, "Storgatan 37", "434 81", "Kungsbacka", None),
    "1482": ("212000-1538", None, "Ytterbyvägen 1", "442 81", "Kungälv", None),
    "1462": ("212000-1546", None, "Box 9", "463 80", "Lilla Edet", None),
    "1415": ("212000-1553", None, "Box 500", "444 82", "Stenungsund", None),
    "1419": ("212000-1579", None, "Box 1", "471 80", "Skärhamn", None),
    "1407": ("212000-1587", None, "Box 1", "475 21", "Öckerö", None),
    "2280": ("212000-2403", None, "Box 1001", "871 29", "Härnösand", None),
    "2262": ("212000-2361", None, "Box 8", "861 21", "Timrå", None),
    "2260": ("212000-2353", None, "Box 50", "841 21", "Ånge", None),
    "2282": ("212000-2429", None, "Box 20", "872 80", "Kramfors", None),
    "2283": ("212000-2437", None, "Box 186", "881 25", "Sollefteå", None),
    "2284": ("212000-2445", None, "Box 156", "891 24", "Örnsköldsvik", None),
}

# Rounded illustrative populations (31 December) for cost splits in the demo agreements.
DEMO_POPULATION = {
    "1440": 32600,
    "1489": 42600,
    "1480": 607900,
    "1401": 39700,
    "1384": 86000,
    "1482": 48700,
    "1441": 44000,
    "1462": 14200,
    "1481": 70900,
    "1402": 40500,
    "1415": 27800,
    "1419": 16000,
    "1407": 13100,
    "1460": 9100,
    "1461": 8900,
    "2281": 99500,
    "2280": 24500,
    "2262": 18000,
    "2260": 9000,
    "2282": 17800,
    "2283": 19000,
    "2284": 56000,
}

DEMO_USERS = [
    {"email": "sysadmin@samverkan.demo", "name": "Sam Systemadmin", "roles": ["sysadmin"], "kommun": None},
    {"email": "admin@harryda.demo", "name": "Anna Administratör", "roles": ["admin"], "kommun": "1401"},
    {
        "email": "handlaggare@harryda.demo",
        "name": "Hassan Handläggare",
        "roles": ["caseworker"],
        "kommun": "1401",
    },
    {"email": "ekonomi@harryda.demo", "name": "Eva Ekonom", "roles": ["finance"], "kommun": "1401"},
    {"email": "jurist@harryda.demo", "name": "Johan Jurist", "roles": ["legal"], "kommun": "1401"},
    {"email": "revisor@harryda.demo", "name": "Rut Revisor", "roles": ["auditor"], "kommun": "1401"},
    {"email": "admin@lerum.demo", "name": "Lars Lerumsson", "roles": ["admin"], "kommun": "1441"},
    {"email": "ekonomi@lerum.demo", "name": "Lina Ekonom", "roles": ["finance"], "kommun": "1441"},
    {
        "email": "admin@goteborg.demo",
        "name": "Göran Göteborgare",
        "roles": ["admin", "legal"],
        "kommun": "1480",
    },
    {"email": "ekonomi@goteborg.demo", "name": "Greta Ekonom", "roles": ["finance"], "kommun": "1480"},
    {
        "email": "handlaggare@partille.demo",
        "name": "Pia Partillesson",
        "roles": ["caseworker"],
        "kommun": "1402",
    },
    {"email": "handlaggare@lerum.demo", "name": "Leo Handläggare", "roles": ["caseworker"], "kommun": "1441"},
    {"email": "admin@sundsvall.demo", "name": "Sara Sundin", "roles": ["admin"], "kommun": "2281"},
    {"email": "jurist@sundsvall.demo", "name": "Jonas Sundqvist", "roles": ["legal"], "kommun": "2281"},
    {"email": "ekonomi@sundsvall.demo", "name": "Stina Ekonom", "roles": ["finance"], "kommun": "2281"},
    {"email": "jurist@bengtsfors.demo", "name": "Berit Jurist", "roles": ["legal"], "kommun": "1460"},
    {
        "email": "admin@bengtsfors.demo",
        "name": "Bengt Bengtsson",
        "roles": ["admin", "finance"],
        "kommun": "1460",
    },
    {"email": "ekonomi@mellerud.demo", "name": "Maja Mellin", "roles": ["finance"], "kommun": "1461"},
    {"email": "admin@molndal.demo", "name": "Mona Mölndahl", "roles": ["admin", "legal"], "kommun": "1481"},
    {"email": "ekonomi@molndal.demo", "name": "Mats Ekonom", "roles": ["finance"], "kommun": "1481"},
]


def load_demo_data(session: Session) -> list[str]:
    """Fill in demo details and users. Expects the reference municipalities to be loaded."""
    by_code = {m.kommunkod: m for m in session.scalars(select(Municipality))}
    for code, (org, bankgiro, street, postal, city, email) in DEMO_MUNICIPALITIES.items():
        m = by_code[code]
        m.org_number, m.bankgiro, m.street_address = org, bankgiro, street
        m.postal_code, m.city, m.invoice_email = postal, city, email
    for code, population in DEMO_POPULATION.items():
        for year, factor in ((2024, 1.0), (2025, 1.008)):
            session.add(
                MunicipalityPopulation(
                    municipality=by_code[code],
                    year=year,
                    population=int(round(population * factor, -1)),
                    reference_date=dt.date(year, 12, 31),
                    source=DEMO_SOURCE,
                )
            )
    session.flush()
    created = []
    for u in DEMO_USERS:
        user = services.create_user(
            session,
            None,
            {
                "email": u["email"],
                "name": u["name"],
                "roles": u["roles"],
                "password": DEMO_PASSWORD,
                "municipality_id": by_code[u["kommun"]].id if u["kommun"] else None,
            },
        )
        created.append(user.email)
    return created
