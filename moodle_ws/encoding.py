"""Moodle's REST parameter encoding.

Moodle's REST server reads PHP-style form fields: nested structures are flattened
to ``users[0][customfields][0][type]=x``.  Booleans travel as ``1``/``0`` and
``None`` means "leave the parameter out" so that Moodle applies its default.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from enum import Enum
from typing import Any

from pydantic import BaseModel

from moodle_ws.errors import ParameterEncodingError

Scalar = str | int | float | bool


def encode_params(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Flatten ``params`` into ordered form fields for a Moodle REST call.

    >>> encode_params({"courseids": [3, 4], "options": {"visible": True}})
    [('courseids[0]', '3'), ('courseids[1]', '4'), ('options[visible]', '1')]
    """
    return list(_flatten(params, prefix=""))


def _flatten(value: Any, prefix: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, Mapping):
        yield from _flatten_mapping(value, prefix)
        return
    if not prefix:
        raise ParameterEncodingError("the parameters must be a mapping of names to values")
    if value is None:
        return
    if isinstance(value, Enum):
        # A (str, Enum) member's str() is "Cls.NAME" on 3.11; Moodle wants its value.
        value = value.value
    if isinstance(value, BaseModel):
        # Typed inputs (moodle_ws.records.Input) encode as their set fields.
        yield from _flatten(value.model_dump(exclude_none=True, by_alias=True), prefix)
    elif isinstance(value, bool | int | float | str):
        yield prefix, _scalar(value, prefix)
    elif isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        for index, item in enumerate(value):
            yield from _flatten(item, f"{prefix}[{index}]")
    else:
        raise ParameterEncodingError(
            f"parameter {prefix!r} has a value of type {type(value).__name__}, "
            "which Moodle's REST protocol cannot carry"
        )


def _flatten_mapping(value: Mapping[Any, Any], prefix: str) -> Iterator[tuple[str, str]]:
    for key, item in value.items():
        if not isinstance(key, str | int):
            raise ParameterEncodingError(
                f"parameter {prefix or '<root>'!s} has a key of type "
                f"{type(key).__name__}; keys must be str or int"
            )
        yield from _flatten(item, f"{prefix}[{key}]" if prefix else str(key))


def _scalar(value: Scalar, prefix: str) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and not math.isfinite(value):
        raise ParameterEncodingError(
            f"parameter {prefix!r} is {value!r}; Moodle accepts only finite numbers"
        )
    return str(value)
