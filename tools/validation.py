"""Check a tool call's arguments against the tool's JSON schema before the tool runs.

The LLM writes the arguments, so they are untrusted input: a wrong type, a missing required
field or an unknown key is reported back to the LLM as an error and the tool does not run.
This covers the JSON-schema keywords tool schemas use (type, properties, required,
additionalProperties, items, enum, const, anyOf/oneOf, string length and pattern, number
bounds, array length); unknown keywords are ignored, as the specification says.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list, tuple),
    "null": (type(None),),
}


def _is_type(value: Any, name: str) -> bool:
    if name in ("integer", "number") and isinstance(value, bool):
        return False  # JSON booleans are not numbers
    if name == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _TYPES.get(name, (object,)))


def _check(value: Any, schema: Mapping[str, Any], path: str, errors: list[str]) -> None:
    expected = schema.get("type")
    if expected is not None:
        names = [expected] if isinstance(expected, str) else list(expected)
        if not any(_is_type(value, n) for n in names):
            errors.append(f"{path}: expected {' or '.join(names)}, got {type(value).__name__}")
            return
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: must be one of {schema['enum']}")
    if "const" in schema and value != schema["const"]:
        errors.append(f"{path}: must be {schema['const']!r}")
    for key in ("anyOf", "oneOf"):
        if key in schema:
            matches = [s for s in schema[key] if not validate(value, s, path)]
            if not matches or (key == "oneOf" and len(matches) > 1):
                errors.append(f"{path}: does not match {'any' if key == 'anyOf' else 'one'} of "
                              "the allowed schemas")  # fmt: skip
    if isinstance(value, str):
        _check_string(value, schema, path, errors)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        _check_number(value, schema, path, errors)
    elif isinstance(value, dict):
        _check_object(value, schema, path, errors)
    elif isinstance(value, list | tuple):
        if "minItems" in schema and len(value) < schema["minItems"]:
            errors.append(f"{path}: needs at least {schema['minItems']} items")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errors.append(f"{path}: allows at most {schema['maxItems']} items")
        if isinstance(schema.get("items"), Mapping):
            for i, item in enumerate(value):
                _check(item, schema["items"], f"{path}[{i}]", errors)


def _check_string(value: str, schema: Mapping[str, Any], path: str, errors: list[str]) -> None:
    if "minLength" in schema and len(value) < schema["minLength"]:
        errors.append(f"{path}: must be at least {schema['minLength']} characters")
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        errors.append(f"{path}: must be at most {schema['maxLength']} characters")
    if "pattern" in schema and not re.search(schema["pattern"], value):
        errors.append(f"{path}: does not match the pattern {schema['pattern']}")


def _check_number(value: float, schema: Mapping[str, Any], path: str, errors: list[str]) -> None:
    if "minimum" in schema and value < schema["minimum"]:
        errors.append(f"{path}: must be >= {schema['minimum']}")
    if "maximum" in schema and value > schema["maximum"]:
        errors.append(f"{path}: must be <= {schema['maximum']}")
    if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
        errors.append(f"{path}: must be > {schema['exclusiveMinimum']}")
    if "exclusiveMaximum" in schema and value >= schema["exclusiveMaximum"]:
        errors.append(f"{path}: must be < {schema['exclusiveMaximum']}")


def _check_object(value: dict, schema: Mapping[str, Any], path: str, errors: list[str]) -> None:
    properties: Mapping[str, Any] = schema.get("properties") or {}
    for name in schema.get("required") or []:
        if name not in value:
            errors.append(f"{_join(path, name)}: is required")
    extra = schema.get("additionalProperties", True)
    for name, item in value.items():
        if name in properties:
            _check(item, properties[name], _join(path, name), errors)
        elif extra is False:
            errors.append(f"{_join(path, name)}: is not an accepted argument")
        elif isinstance(extra, Mapping):
            _check(item, extra, _join(path, name), errors)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def validate(value: Any, schema: Mapping[str, Any], path: str = "") -> list[str]:
    """Check ``value`` against a JSON schema.

    Args:
        value: The decoded JSON value (a tool call's arguments are an object).
        schema: The JSON schema.
        path: Where ``value`` sits, for messages (empty for the top level).

    Returns:
        Human-readable problems, empty when the value is valid.
    """
    errors: list[str] = []
    _check(value, schema, path, errors)
    return errors


def arguments_schema(
    properties: Mapping[str, Any], required: list[str], *, closed: bool = True
) -> dict[str, Any]:
    """The object schema of a tool's arguments (``closed`` rejects unknown argument names)."""
    schema: dict[str, Any] = {
        "type": "object",
        "properties": dict(properties),
        "required": required,
    }
    if closed:
        schema["additionalProperties"] = False
    return schema
