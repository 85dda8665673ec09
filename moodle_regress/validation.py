"""Validation errors a person can read that never echo the input.

Pydantic's own message repeats the value it refused, and for a missing field the
whole object: in a site descriptor or a sandbox's state that is the token or the
admin password, under its own key or under a misspelt one.  Files holding secrets
are therefore read through :func:`validate_secret_json`: every value under a key
that names a secret is registered for redaction first, and the error names only
fields and reasons.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from moodle_regress.errors import MoodleRegressError
from moodle_ws.redaction import redact, register_secret

Model = TypeVar("Model", bound=BaseModel)

# Keys whose values are secrets, however they are spelt ("tokn", "admin_pasword").
_SECRET_KEY = re.compile(r"(?i)tok|pass|pw|secret|cred")


class InvalidDocumentError(MoodleRegressError):
    """A JSON document does not fit its model; the message holds no input value.

    Callers name the file and say the fix (see :class:`~moodle_regress.site.SiteError`).
    """


def register_secrets_in(data: Any, *, secret: bool = False) -> None:
    """Register every string under a secret-looking key, at any depth below it."""
    if isinstance(data, str | int | float) and secret and not isinstance(data, bool):
        register_secret(str(data))
    elif isinstance(data, Mapping):
        for key, value in data.items():
            register_secrets_in(value, secret=secret or bool(_SECRET_KEY.search(str(key))))
    elif isinstance(data, Sequence) and not isinstance(data, str):
        for item in data:
            register_secrets_in(item, secret=secret)


def describe_validation_error(exc: ValidationError) -> str:
    """``field: reason; field: reason`` with no input value in it."""
    parts = []
    for error in exc.errors(include_input=False, include_url=False, include_context=False):
        where = ".".join(str(p) for p in error["loc"]) or "(document)"
        parts.append(f"{where}: {error['msg']}")
    return redact("; ".join(parts))


def validate_secret_json(model: type[Model], text: str) -> Model:
    """Validate JSON ``text`` as ``model`` without ever echoing what it holds.

    Raises :class:`InvalidDocumentError` (not JSON, or not the model's shape).
    """
    try:
        data = json.loads(text)
    except ValueError as exc:
        # json's message names a position, never the text.
        raise InvalidDocumentError(f"not JSON ({exc})") from None
    register_secrets_in(data)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidDocumentError(describe_validation_error(exc)) from None
