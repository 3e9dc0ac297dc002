"""Demo stories of the registry, loaded by `flask core seed` into an empty database.

Filled in as the registry's parts arrive: the Göteborgsregionen jäv cooperation, Bengtsfors and
Mellerud's shared social services director, the Västernorrland family-home cooperation hosted by
Sundsvall, and a familjerätt cooperation near its notice date.
"""

from __future__ import annotations

from sqlalchemy.orm import Session


def load(session: Session) -> None:
    return None
