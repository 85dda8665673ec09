"""Course categories: ``core_course_*_categories``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from moodle_ws.areas import Area, params_list
from moodle_ws.records import Input, Record


class CategoryCreate(Input):
    name: str
    #: 0 is the top level.
    parent: int | None = None
    idnumber: str | None = None
    description: str | None = None
    descriptionformat: int | None = None
    theme: str | None = None


class CategoryUpdate(Input):
    id: int
    name: str | None = None
    parent: int | None = None
    idnumber: str | None = None
    description: str | None = None
    descriptionformat: int | None = None
    theme: str | None = None


class CreatedCategory(Record):
    id: int
    name: str


class Category(Record):
    id: int
    name: str
    parent: int = 0
    idnumber: str | None = None
    description: str | None = None
    descriptionformat: int | None = None
    sortorder: int | None = None
    coursecount: int | None = None
    visible: bool | None = None
    visibleold: bool | None = None
    timemodified: int | None = None
    depth: int | None = None
    path: str | None = None
    theme: str | None = None


class CategoriesArea(Area):
    def create(self, categories: Sequence[CategoryCreate]) -> list[CreatedCategory]:
        function = "core_course_create_categories"
        data = self._call(function, categories=params_list(categories))
        return self._many(CreatedCategory, data, function=function)

    def get(
        self,
        criteria: Mapping[str, str | int] | None = None,
        *,
        addsubcategories: bool = True,
    ) -> list[Category]:
        """Categories matching every ``criteria`` item (``{"id": 3}``, ``{"name": "x"}``...)."""
        function = "core_course_get_categories"
        data = self._call(
            function,
            criteria=[{"key": k, "value": str(v)} for k, v in (criteria or {}).items()],
            addsubcategories=addsubcategories,
        )
        return self._many(Category, data, function=function)

    def update(self, categories: Sequence[CategoryUpdate]) -> None:
        self._call("core_course_update_categories", categories=params_list(categories))

    def delete(
        self, categoryids: Sequence[int], *, recursive: bool = False, newparent: int | None = None
    ) -> None:
        """Delete categories; their content is deleted (``recursive``) or moved to
        ``newparent``; Moodle refuses a non-empty category with neither."""
        self._call(
            "core_course_delete_categories",
            categories=[
                {"id": cid, "recursive": recursive, "newparent": newparent} for cid in categoryids
            ],
        )
