from calls.templates import render


def test_known_values_fill_placeholders():
    assert render("Hi {user_name}!", {"user_name": "Ada"}) == "Hi Ada!"


def test_defaults_fill_what_the_call_does_not_know():
    assert render("Hi {user_name}!", {}, {"user_name": "there"}) == "Hi there!"


def test_unknown_placeholders_vanish_without_leaving_gaps():
    assert render("Hi {user_name}, welcome.", {}) == "Hi, welcome."


def test_attribute_access_is_not_evaluated():
    text = render("{user_name.__class__} {0}", {"user_name": "Ada"})
    assert "class" in text and "str" not in text.replace("class", "")
