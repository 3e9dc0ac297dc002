"""Contracts permissions, added to the shell's one permission check (core.permissions).

Index values are public reference data (SKR and SCB publish them), not tenant data: every signed-in
user with a role reads them, unscoped. Finance and legal keep the register; sysadmins may too.
"""

from __future__ import annotations

from core.models import Role
from core.permissions import Rule, register_rules

INDEX_READ = "index.read"
INDEX_EDIT = "index.edit"

_EVERY_ROLE = frozenset({Role.ADMIN, Role.CASEWORKER, Role.FINANCE, Role.LEGAL, Role.AUDITOR})

register_rules(
    {
        INDEX_READ: Rule(roles=_EVERY_ROLE, sysadmin=True, scoped=False),
        INDEX_EDIT: Rule(roles=frozenset({Role.FINANCE, Role.LEGAL}), sysadmin=True, scoped=False),
    }
)
