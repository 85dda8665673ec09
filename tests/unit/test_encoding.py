"""Moodle's REST parameter encoding: PHP-style nested fields, 1/0, None left out."""

from __future__ import annotations

import enum
from datetime import date
from typing import Any

import pytest

from moodle_ws.areas.courses import CourseCreate, NameValue
from moodle_ws.areas.users import TypeValue, UserCreate
from moodle_ws.encoding import encode_params
from moodle_ws.errors import ParameterEncodingError


def test_flat_scalars() -> None:
    assert encode_params({"a": "x", "b": 3, "c": 1.5}) == [("a", "x"), ("b", "3"), ("c", "1.5")]


def test_booleans_travel_as_one_and_zero() -> None:
    assert encode_params({"yes": True, "no": False}) == [("yes", "1"), ("no", "0")]


def test_none_is_left_out_at_every_depth() -> None:
    params = {"a": None, "b": {"c": None, "d": 1}, "e": [None, 2]}
    assert encode_params(params) == [("b[d]", "1"), ("e[1]", "2")]


def test_nested_lists_and_mappings_at_any_depth() -> None:
    params = {
        "users": [
            {
                "username": "u1",
                "customfields": [{"type": "colour", "value": "red"}],
                "preferences": [{"type": "p", "value": {"deep": [[1, 2], {"x": True}]}}],
            }
        ]
    }
    assert encode_params(params) == [
        ("users[0][username]", "u1"),
        ("users[0][customfields][0][type]", "colour"),
        ("users[0][customfields][0][value]", "red"),
        ("users[0][preferences][0][type]", "p"),
        ("users[0][preferences][0][value][deep][0][0]", "1"),
        ("users[0][preferences][0][value][deep][0][1]", "2"),
        ("users[0][preferences][0][value][deep][1][x]", "1"),
    ]


def test_tuples_are_lists_and_int_keys_are_indexes() -> None:
    assert encode_params({"ids": (4, 5), "m": {0: "a"}}) == [
        ("ids[0]", "4"),
        ("ids[1]", "5"),
        ("m[0]", "a"),
    ]


@pytest.mark.parametrize(
    ("value", "type_name"),
    [(b"raw", "bytes"), ({1, 2}, "set"), (date(2025, 1, 1), "date"), (object(), "object")],
)
def test_other_types_are_refused_naming_the_key(value: Any, type_name: str) -> None:
    with pytest.raises(ParameterEncodingError) as caught:
        encode_params({"courses": [{"options": {"when": value}}]})
    text = str(caught.value)
    assert "'courses[0][options][when]'" in text
    assert type_name in text
    assert "Hint:" in text


def test_non_finite_float_is_refused_naming_the_key() -> None:
    with pytest.raises(ParameterEncodingError, match=r"'grade\[0\]'.*finite"):
        encode_params({"grade": [float("nan")]})


def test_a_key_of_another_type_is_refused() -> None:
    with pytest.raises(ParameterEncodingError, match=r"options.*tuple"):
        encode_params({"options": {(1, 2): "x"}})


def test_params_must_be_a_mapping() -> None:
    with pytest.raises(ParameterEncodingError, match="mapping"):
        encode_params([("a", 1)])  # type: ignore[arg-type]


class Colour(str, enum.Enum):  # noqa: UP042  (the 3.11 str() pitfall is the point)
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


def test_enums_travel_as_their_value() -> None:
    # str() of a (str, Enum) member is "Colour.RED" on Python 3.11.
    assert encode_params({"c": Colour.RED, "l": Level.HIGH}) == [("c", "red"), ("l", "3")]


def test_typed_inputs_encode_as_their_set_fields() -> None:
    user = UserCreate(
        username="ann",
        firstname="Ann",
        lastname="Lee",
        email="ann@example.org",
        createpassword=True,
        customfields=[TypeValue(type="team", value="blue")],
    )
    course = CourseCreate(
        fullname="F",
        shortname="S",
        categoryid=1,
        visible=False,
        courseformatoptions=[NameValue(name="hiddensections", value=1)],
    )
    assert encode_params({"users": [user], "courses": [course]}) == [
        ("users[0][username]", "ann"),
        ("users[0][firstname]", "Ann"),
        ("users[0][lastname]", "Lee"),
        ("users[0][email]", "ann@example.org"),
        ("users[0][createpassword]", "1"),
        ("users[0][customfields][0][type]", "team"),
        ("users[0][customfields][0][value]", "blue"),
        ("courses[0][fullname]", "F"),
        ("courses[0][shortname]", "S"),
        ("courses[0][categoryid]", "1"),
        ("courses[0][visible]", "0"),
        ("courses[0][courseformatoptions][0][name]", "hiddensections"),
        ("courses[0][courseformatoptions][0][value]", "1"),
    ]
