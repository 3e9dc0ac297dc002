"""The application shell: create_app, configuration, database, users and access, municipalities,
audit log, error handlers, sv-SE formatting, base templates and static files."""

from core.app import create_app

__all__ = ["create_app"]
