"""API areas, grouped as Moodle groups its functions: ``client.users``, ``client.courses``..."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from moodle_ws.errors import UnexpectedResponseError
from moodle_ws.records import Input, MoodleWarningRecord

if TYPE_CHECKING:
    from moodle_ws.client import MoodleClient

M = TypeVar("M", bound=BaseModel)


class Area:
    """Base of an API area: holds the client it calls through."""

    def __init__(self, client: MoodleClient) -> None:
        self._client = client

    def _call(self, function: str, /, **params: Any) -> Any:
        return self._client.call_params(function, params)

    def _one(self, model: type[M], data: Any, *, function: str) -> M:
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise _shape_error(function, model, exc, data) from None

    def _many(self, model: type[M], data: Any, *, function: str) -> list[M]:
        try:
            return TypeAdapter(list[model]).validate_python(data or [])  # type: ignore[valid-type]
        except ValidationError as exc:
            raise _shape_error(function, model, exc, data) from None

    def _warnings(self, data: Any, *, function: str) -> list[MoodleWarningRecord]:
        found = data.get("warnings") if isinstance(data, dict) else None
        return self._many(MoodleWarningRecord, found or [], function=function)


def params_list(items: Sequence[Input]) -> list[dict[str, Any]]:
    """Typed inputs as the list of mappings Moodle's batch functions take."""
    return [item.to_params() for item in items]


def _shape_error(
    function: str, model: type[BaseModel], exc: ValidationError, data: Any
) -> UnexpectedResponseError:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return UnexpectedResponseError(
        f"{function}: the answer does not fit {model.__name__} ({where}: {first['msg']})",
        excerpt=str(data)[:200],
        hint="The site's Moodle may be newer or older than this client knows; use "
        "client.call() for the raw answer and report the difference.",
    )
