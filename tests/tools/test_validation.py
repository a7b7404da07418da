"""Tool arguments are checked against the tool's JSON schema before the tool runs."""

from tools import resolve_tools
from tools.validation import validate


def test_valid_arguments_pass_the_schema_of_a_catalogue_tool():
    (book,) = resolve_tools(["book_appointment"])
    args = {"date": "2030-01-07", "time": "10:00", "name": "Robin", "phone": "+15551234567"}
    assert validate(args, book.schema) == []


def test_missing_wrong_typed_and_unknown_arguments_are_each_reported():
    (book,) = resolve_tools(["book_appointment"])
    problems = validate({"date": 20300107, "time": "10:00", "name": "Robin", "when": "x"},
                        book.schema)  # fmt: skip
    assert "date: expected string, got int" in problems
    assert "phone: is required" in problems
    assert "when: is not an accepted argument" in problems


def test_optional_arguments_accept_null_and_booleans_are_not_numbers():
    (take,) = resolve_tools(["take_message"])
    assert validate({"name": "Robin", "message": "hi", "callback_number": None}, take.schema) == []
    schema = {"type": "object", "properties": {"ms": {"type": "integer", "minimum": 50}}}
    assert validate({"ms": True}, schema) == ["ms: expected integer, got bool"]
    assert validate({"ms": 10}, schema) == ["ms: must be >= 50"]
    assert validate({"ms": 100.0}, schema) == []


def test_nested_enums_patterns_and_items():
    schema = {
        "type": "object",
        "properties": {
            "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}},
            "day": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
        },
    }
    assert validate({"tags": ["a", "c"], "day": "tomorrow"}, schema) == [
        "tags[1]: must be one of ['a', 'b']",
        "day: does not match the pattern ^\\d{4}-\\d{2}-\\d{2}$",
    ]
