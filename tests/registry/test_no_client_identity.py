"""Every free-text field the registry accepts refuses personal identity numbers, with the one shared
validator. A new text field without it makes this test fail."""

import importlib
import inspect
import pkgutil

import pytest
from marshmallow import Schema, fields, validate

import registry
from core.personal_numbers import NoPersonalNumber


def _schemas():
    for module_info in pkgutil.walk_packages(registry.__path__, "registry."):
        if not module_info.name.endswith(".schemas"):
            continue
        module = importlib.import_module(module_info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Schema) and cls.__module__ == module.__name__:
                yield cls


def _is_code(field: fields.Field) -> bool:
    """Fields that only take a fixed code or a pattern (choices, kommunkod, enum states), not free text."""
    return (
        any(isinstance(v, validate.OneOf | validate.Regexp) for v in field.validators)
        and not any(isinstance(v, NoPersonalNumber) for v in field.validators)
        and not isinstance(field, fields.Email)
    )


# Not free text: query-string search terms are never stored; a legal basis is a code looked up in
# the legal-basis table; the IVO person reference has its own strict format and parser, which also
# runs the personal-number check (tested in tests/registry/test_decisions_*).
SEARCH_TERMS = {"q", "legal_basis", "ivo_person_ref"}


def _free_text_fields():
    for schema_cls in _schemas():
        schema = schema_cls()
        for name, field in schema.load_fields.items():
            if isinstance(field, fields.String) and name not in SEARCH_TERMS and not _is_code(field):
                yield pytest.param(schema_cls, name, field, id=f"{schema_cls.__name__}.{name}")


FREE_TEXT = list(_free_text_fields())


def test_the_registry_has_free_text_fields_to_check():
    assert len(FREE_TEXT) > 20


@pytest.mark.parametrize(("schema_cls", "name", "field"), FREE_TEXT)
def test_free_text_field_refuses_personal_numbers(schema_cls, name, field):
    assert any(isinstance(v, NoPersonalNumber) for v in field.validators), (
        f"{schema_cls.__module__}.{schema_cls.__name__}.{name} accepts free text without NoPersonalNumber"
    )
