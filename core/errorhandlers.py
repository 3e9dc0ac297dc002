"""Error answers in one shape: JSON `{"code", "status", "message", "errors"}` under /api/, Swedish
HTML pages elsewhere. Users never see a stack trace."""

from __future__ import annotations

from http import HTTPStatus

from flask import Flask, g, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError, IntegrityError
from werkzeug.exceptions import HTTPException, InternalServerError

from core.db import db_session
from core.errors import DomainError

SWEDISH_MESSAGES = {
    400: "Begäran kunde inte tolkas.",
    401: "Du behöver logga in.",
    403: "Du har inte behörighet till detta.",
    404: "Sidan eller posten finns inte.",
    405: "Metoden är inte tillåten här.",
    409: "Ändringen krockar med befintliga uppgifter.",
    413: "Filen är för stor.",
    415: "Formatet stöds inte.",
    422: "Uppgifterna är inte giltiga.",
    429: "För många försök. Vänta en stund och försök igen.",
    500: "Ett oväntat fel inträffade. Felet är loggat; försök igen om en stund.",
    503: "Tjänsten är tillfälligt otillgänglig.",
}
SWEDISH_BODY_ERRORS = {"Invalid JSON body.": "Innehållet är inte giltig JSON."}
CSRF_MESSAGE = (
    "Formuläret saknar giltig säkerhetskod (CSRF) eller har legat öppet för länge. "
    "Ladda om sidan och försök igen."
)


def wants_json() -> bool:
    return request.path.startswith("/api/")


def error_response(status: int, message: str, errors: dict | None = None):
    if wants_json():
        body = {
            "code": status,
            "status": HTTPStatus(status).phrase,
            "message": message,
            "errors": errors or {},
        }
        return jsonify(body), status
    return render_template("core/error.html", status=status, message=message, errors=errors or {}), status


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain(exc: DomainError):
        return error_response(exc.status_code, exc.message, exc.errors)

    @app.errorhandler(IntegrityError)
    def _integrity(exc: IntegrityError):
        # The services check uniqueness first with a friendly message; this is the database's last
        # word when two people save the same thing at the same moment.
        db_session.rollback()
        app.logger.warning("integrity error on %s %s: %s", request.method, request.path, exc.orig)
        return error_response(
            409,
            "Uppgiften krockar med en som någon annan just har sparat (t.ex. samma nummer). "
            "Ladda om sidan och försök igen.",
        )

    @app.errorhandler(DataError)
    @app.errorhandler(OverflowError)
    def _out_of_range(exc: Exception):
        # A number too large for the database (e.g. an id of 10**12 in a query string or body).
        db_session.rollback()
        return error_response(
            422, "Ett värde är för stort eller har fel form för att kunna sökas eller sparas."
        )

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError):
        return error_response(400, CSRF_MESSAGE, {"csrf_token": [CSRF_MESSAGE]})

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        status = exc.code or 500
        errors = {}
        data = getattr(exc, "data", None) or {}
        if isinstance(data, dict) and data.get("messages"):
            # webargs/flask-smorest: {"json": {...}} or {"query": {...}}; keep the field errors flat.
            messages = data["messages"]
            for location in ("json", "query", "form", "files", "headers"):
                if location in messages:
                    value = messages[location]
                    if isinstance(value, dict):
                        errors.update(value)
                    else:  # e.g. {"json": ["Invalid JSON body."]}: the body as a whole is wrong
                        errors[location] = [SWEDISH_BODY_ERRORS.get(str(v), str(v)) for v in value]
            if not errors:
                errors = messages
        message = SWEDISH_MESSAGES.get(status, exc.description or "Fel")
        if status == 401 and g.get("invalid_token"):
            message = "API-nyckeln är ogiltig, återkallad eller har gått ut."
        response = error_response(status, message, errors)
        if status == 401 and wants_json():
            response[0].headers["WWW-Authenticate"] = 'Bearer realm="samverkan"'
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        if isinstance(exc, HTTPException):
            return _http(exc)
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, SWEDISH_MESSAGES[500])

    app.register_error_handler(InternalServerError, _http)
