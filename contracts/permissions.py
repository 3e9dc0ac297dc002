"""Contracts permissions, added to the shell's one permission check (core.permissions).

Index values are public reference data (SKR and SCB publish them), not tenant data: every signed-in
user with a role reads them, unscoped. Finance and legal keep the register; sysadmins may too.

Contract versions belong to an agreement and are seen by its parties only (`can_any` / `require_any`
with the agreement's party municipalities; everyone else gets 404). Administrators, finance and legal
of a party edit drafts; only legal reviews and approves.
"""

from __future__ import annotations

from core.models import Role
from core.permissions import Rule, register_rules

INDEX_READ = "index.read"
INDEX_EDIT = "index.edit"
CONTRACT_READ = "contract.read"
CONTRACT_EDIT = "contract.edit"
CONTRACT_REVIEW = "contract.review"

_EVERY_ROLE = frozenset({Role.ADMIN, Role.CASEWORKER, Role.FINANCE, Role.LEGAL, Role.AUDITOR})

register_rules(
    {
        INDEX_READ: Rule(roles=_EVERY_ROLE, sysadmin=True, scoped=False),
        INDEX_EDIT: Rule(roles=frozenset({Role.FINANCE, Role.LEGAL}), sysadmin=True, scoped=False),
        CONTRACT_READ: Rule(roles=_EVERY_ROLE, sysadmin=False),
        CONTRACT_EDIT: Rule(roles=frozenset({Role.ADMIN, Role.FINANCE, Role.LEGAL}), sysadmin=False),
        CONTRACT_REVIEW: Rule(roles=frozenset({Role.LEGAL}), sysadmin=False),
    }
)
