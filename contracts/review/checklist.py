"""The legal review checklist as data: contracts/data/review_checklist.csv (UTF-8, `;`-separated), so a
lawyer can correct labels, hints and legal references without a release. Columns:

    key;section;label;hint;precheck

`section` is `checklist` or `hamburg` (the four Hamburg criteria, answered yes/no); `precheck` is
empty or the key of an automatic check in contracts.review.prechecks, whose result fills that row.
The file is read when a version is submitted (the label is copied into the version's rows, so a later
edit does not change what a reviewer signed) and for the hints shown on the review page. The
setting CONTRACTS_REVIEW_CHECKLIST may point to another file (e.g. one a municipality maintains).
"""

from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path

from contracts.models import ReviewSection
from contracts.review.prechecks import PRECHECKS

DEFAULT_CHECKLIST_PATH = Path(__file__).resolve().parent.parent / "data" / "review_checklist.csv"
COLUMNS = ("key", "section", "label", "hint", "precheck")
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
MAX_LABEL = 300  # contract_review_rows.label


class ChecklistInvalid(ValueError):
    """The checklist file cannot be used; the message names the line and what is wrong (Swedish, for
    the lawyer or administrator who edits the file)."""


@dataclass(frozen=True)
class ChecklistRow:
    key: str
    section: ReviewSection
    label: str
    hint: str
    precheck: str | None
    position: int

    @property
    def is_hamburg(self) -> bool:
        return self.section == ReviewSection.HAMBURG


def parse_checklist(text: str, source: str = "granskningslistan") -> list[ChecklistRow]:
    """Rows of a checklist file's text, validated: the header, unique keys of the form `a_z0_9`,
    known sections and pre-checks (each pre-check on one row at most), a label and a hint on every row."""
    if text.startswith("\ufeff"):
        text = text[1:]
    reader = csv.reader(io.StringIO(text), delimiter=";")
    try:
        header = next(reader)
    except StopIteration:
        raise ChecklistInvalid(f"{source} är tom.") from None
    if tuple(h.strip() for h in header) != COLUMNS:
        raise ChecklistInvalid(
            f"{source}, rad 1: kolumnerna ska vara {';'.join(COLUMNS)}, men är {';'.join(header)}."
        )
    rows: list[ChecklistRow] = []
    keys: set[str] = set()
    prechecks: dict[str, str] = {}
    sections = {s.value for s in ReviewSection}
    for line, values in enumerate(reader, start=2):
        if not any(v.strip() for v in values):
            continue
        where = f"{source}, rad {line}"
        if len(values) != len(COLUMNS):
            raise ChecklistInvalid(
                f"{where}: raden har {len(values)} fält men ska ha {len(COLUMNS)} (avgränsade med semikolon)."
            )
        key, section, label, hint, precheck = (v.strip() for v in values)
        if not KEY_PATTERN.match(key):
            raise ChecklistInvalid(
                f"{where}: nyckeln ”{key}” ska bestå av små bokstäver a–z, siffror och understreck "
                "(högst 60 tecken) och börja med en bokstav."
            )
        if key in keys:
            raise ChecklistInvalid(f"{where}: nyckeln ”{key}” finns redan på en tidigare rad.")
        if section not in sections:
            raise ChecklistInvalid(f"{where}: avsnittet ”{section}” är okänt; ange checklist eller hamburg.")
        if not label:
            raise ChecklistInvalid(f"{where}: rubrik saknas.")
        if len(label) > MAX_LABEL:
            raise ChecklistInvalid(f"{where}: rubriken är längre än {MAX_LABEL} tecken.")
        if not hint:
            raise ChecklistInvalid(f"{where}: beskrivning av vad som ska granskas saknas.")
        if precheck:
            if precheck not in PRECHECKS:
                raise ChecklistInvalid(
                    f"{where}: förkontrollen ”{precheck}” finns inte; kända är {', '.join(PRECHECKS)}."
                )
            if precheck in prechecks:
                raise ChecklistInvalid(
                    f"{where}: förkontrollen ”{precheck}” används redan på raden ”{prechecks[precheck]}”."
                )
            prechecks[precheck] = key
        keys.add(key)
        rows.append(
            ChecklistRow(
                key=key,
                section=ReviewSection(section),
                label=label,
                hint=hint,
                precheck=precheck or None,
                position=len(rows) + 1,
            )
        )
    if not rows:
        raise ChecklistInvalid(f"{source} har inga rader.")
    return rows


def checklist_path() -> Path:
    """The file in use: the app's CONTRACTS_REVIEW_CHECKLIST setting, else the one shipped here."""
    try:
        from flask import current_app, has_app_context

        if has_app_context() and current_app.config.get("CONTRACTS_REVIEW_CHECKLIST"):
            return Path(current_app.config["CONTRACTS_REVIEW_CHECKLIST"])
    except ImportError:  # pragma: no cover - flask is always installed
        pass
    return DEFAULT_CHECKLIST_PATH


_cache: dict[str, tuple[float, list[ChecklistRow]]] = {}


def load_checklist(path: str | os.PathLike[str] | None = None) -> list[ChecklistRow]:
    """The validated checklist (default: `checklist_path()`). Re-read whenever the file changes, so a
    corrected file applies to the next submission without a restart."""
    file = Path(path) if path is not None else checklist_path()
    try:
        mtime = file.stat().st_mtime
    except OSError as exc:
        raise ChecklistInvalid(f"Granskningslistan {file} går inte att läsa ({exc.strerror}).") from exc
    cached = _cache.get(str(file))
    if cached is not None and cached[0] == mtime:
        return cached[1]
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ChecklistInvalid(f"Granskningslistan {file.name} är inte sparad som UTF-8.") from exc
    rows = parse_checklist(text, source=f"Granskningslistan {file.name}")
    _cache[str(file)] = (mtime, rows)
    return rows


def checklist_by_key(path: str | os.PathLike[str] | None = None) -> dict[str, ChecklistRow]:
    return {row.key: row for row in load_checklist(path)}
