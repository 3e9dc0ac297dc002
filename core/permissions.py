"""The one permission check used by pages and API alike: role plus municipality scope."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from core.errors import PermissionDenied
from core.models import Role


class Permission(enum.StrEnum):
    MUNICIPALITY_READ = "municipality.read"
    MUNICIPALITY_EDIT = "municipality.edit"
    USER_READ = "user.read"
    USER_MANAGE = "user.manage"
    AUDIT_READ = "audit.read"


@dataclass(frozen=True)
class Rule:
    roles: frozenset[Role] | None  # None: every signed-in user
    sysadmin: bool = True  # sysadmins act across the country for this permission
    scoped: bool = True  # the target must belong to the user's own municipality


# Keys are permission names; packages add their own with register_rules() (core never imports them).
RULES: dict[str, Rule] = {
    # The municipality register itself (names, counties, organisation numbers) is public reference
    # data that every user needs to pick counterparties; editing is scoped.
    Permission.MUNICIPALITY_READ: Rule(roles=None, scoped=False),
    Permission.MUNICIPALITY_EDIT: Rule(roles=frozenset({Role.ADMIN, Role.FINANCE})),
    Permission.USER_READ: Rule(roles=frozenset({Role.ADMIN, Role.AUDITOR})),
    Permission.USER_MANAGE: Rule(roles=frozenset()),
    Permission.AUDIT_READ: Rule(roles=frozenset({Role.AUDITOR})),
}


def register_rules(rules: dict[str, Rule]) -> None:
    RULES.update(rules)


def can(user, permission: str, municipality_id: int | None = None) -> bool:
    """May `user` do `permission`, on something belonging to `municipality_id` (None: no target)?"""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    rule = RULES[permission]
    if user.is_sysadmin and rule.sysadmin:
        return True
    if rule.roles is not None and not (user.roles & rule.roles):
        return False
    if rule.scoped and municipality_id is not None and user.municipality_id != municipality_id:
        return False
    return True


def require(user, permission: str, municipality_id: int | None = None) -> None:
    if not can(user, permission, municipality_id):
        raise PermissionDenied()


def can_any(user, permission: str, municipality_ids) -> bool:
    """For rows shared by several municipalities (agreements, transfers): may the user act as one of them?"""
    ids = set(municipality_ids)
    if not ids:
        return can(user, permission) and (user.is_sysadmin and RULES[permission].sysadmin)
    return any(can(user, permission, m) for m in ids)


def require_any(user, permission: str, municipality_ids) -> None:
    if not can_any(user, permission, municipality_ids):
        raise PermissionDenied()


def scope_municipality_ids(user, permission: str) -> set[int] | None:
    """For list queries: the municipality ids the user may see for `permission`; None means all."""
    rule = RULES[permission]
    if user.is_sysadmin and rule.sysadmin:
        return None
    if not rule.scoped:
        return None
    return {user.municipality_id} if user.municipality_id is not None else set()
