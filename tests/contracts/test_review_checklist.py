"""The review checklist as data: the shipped file holds DOMAIN.md's rows and the four Hamburg criteria, and
the loader refuses a file a lawyer has broken with a message naming the line."""

from __future__ import annotations

import os

import pytest

from contracts.models import ReviewSection
from contracts.review.checklist import (
    DEFAULT_CHECKLIST_PATH,
    ChecklistInvalid,
    load_checklist,
    parse_checklist,
)
from contracts.review.prechecks import PRECHECKS

HEADER = "key;section;label;hint;precheck\n"

CHECKLIST_KEYS = [
    "parties",
    "purpose_legal_basis",
    "scope",
    "responsibility",
    "external_delegation",
    "jav",
    "secrecy",
    "personal_data",
    "records_archiving",
    "compensation",
    "invoicing_payment",
    "indexation",
    "reconciliation",
    "follow_up",
    "quality_complaints",
    "not_executed",
    "staff_employer",
    "insurance",
    "term_renewal",
    "notice",
    "termination_breach",
    "wind_down",
    "amendments",
    "assignment",
    "force_majeure",
    "disputes",
    "signatures",
]
HAMBURG_KEYS = ["hamburg_parties", "hamburg_cooperation", "hamburg_public_interest", "hamburg_market_share"]


def test_shipped_checklist_has_every_row_in_order():
    rows = load_checklist(DEFAULT_CHECKLIST_PATH)
    assert [r.key for r in rows if r.section == ReviewSection.CHECKLIST] == CHECKLIST_KEYS
    assert [r.key for r in rows if r.section == ReviewSection.HAMBURG] == HAMBURG_KEYS
    assert [r.position for r in rows] == list(range(1, len(rows) + 1))
    assert all(r.label and r.hint for r in rows)


def test_shipped_checklist_maps_each_precheck_to_its_row():
    rows = {r.key: r for r in load_checklist(DEFAULT_CHECKLIST_PATH)}
    assert {key: r.precheck for key, r in rows.items() if r.precheck} == {
        "parties": "public_parties",
        "compensation": "compensation_complete",
        "notice": "term_notice",
        "personal_data": "pub_agreement",
        "hamburg_public_interest": "cost_calculation",
    }
    assert set(PRECHECKS) == {r.precheck for r in rows.values() if r.precheck}


def test_shipped_checklist_carries_the_legal_references():
    rows = {r.key: r for r in load_checklist(DEFAULT_CHECKLIST_PATH)}
    assert "OSL 10 kap. 2 §" in rows["secrecy"].hint
    assert "GDPR art. 28" in rows["personal_data"].hint and "GDPR art. 26" in rows["personal_data"].hint
    assert "KL 9 kap. 37 §" in rows["purpose_legal_basis"].hint
    assert "LOU 3 kap. 17–18 §§" in rows["hamburg_parties"].hint
    assert "20 %" in rows["hamburg_market_share"].label


def test_a_valid_file_with_a_bom_and_blank_lines_loads():
    rows = parse_checklist(
        "\ufeff" + HEADER + "a;checklist;Rubrik A;Vad A;public_parties\n\n" + "b;hamburg;Rubrik B;Vad B;\n"
    )
    assert [(r.key, r.section, r.precheck, r.position) for r in rows] == [
        ("a", ReviewSection.CHECKLIST, "public_parties", 1),
        ("b", ReviewSection.HAMBURG, None, 2),
    ]
    assert rows[1].is_hamburg


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "är tom"),
        ("key;section;label\n", "rad 1: kolumnerna ska vara key;section;label;hint;precheck"),
        (HEADER + "a;checklist;A;Vad\n", "rad 2: raden har 4 fält men ska ha 5"),
        (HEADER + "A-1;checklist;A;Vad;\n", "rad 2: nyckeln ”A-1”"),
        (HEADER + "a;checklist;A;Vad;\na;hamburg;B;Vad;\n", "rad 3: nyckeln ”a” finns redan"),
        (HEADER + "a;bilaga;A;Vad;\n", "rad 2: avsnittet ”bilaga” är okänt"),
        (HEADER + "a;checklist; ;Vad;\n", "rad 2: rubrik saknas"),
        (HEADER + "a;checklist;A; ;\n", "rad 2: beskrivning av vad som ska granskas saknas"),
        (HEADER + "a;checklist;A;Vad;gissning\n", "rad 2: förkontrollen ”gissning” finns inte"),
        (
            HEADER + "a;checklist;A;Vad;pub_agreement\nb;checklist;B;Vad;pub_agreement\n",
            "rad 3: förkontrollen ”pub_agreement” används redan på raden ”a”",
        ),
        (HEADER + "a;checklist;" + "x" * 301 + ";Vad;\n", "rubriken är längre än 300 tecken"),
        (HEADER, "har inga rader"),
    ],
)
def test_invalid_files_are_refused_with_the_line(text, message):
    with pytest.raises(ChecklistInvalid) as excinfo:
        parse_checklist(text)
    assert message in str(excinfo.value)


def test_load_rereads_a_corrected_file(tmp_path):
    path = tmp_path / "lista.csv"
    path.write_text(HEADER + "a;checklist;Gammal rubrik;Vad;\n", encoding="utf-8")
    assert load_checklist(path)[0].label == "Gammal rubrik"
    path.write_text(HEADER + "a;checklist;Rättad rubrik;Vad;\n", encoding="utf-8")
    stat = path.stat()
    os.utime(path, (stat.st_atime, stat.st_mtime + 5))
    assert load_checklist(path)[0].label == "Rättad rubrik"


def test_unreadable_files_are_refused(tmp_path):
    with pytest.raises(ChecklistInvalid, match="går inte att läsa"):
        load_checklist(tmp_path / "saknas.csv")
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes((HEADER + "a;checklist;Jäv;Vad;\n").encode("latin-1"))
    with pytest.raises(ChecklistInvalid, match="UTF-8"):
        load_checklist(latin1)
