"""Classifying web-service contract changes: breaking, non-breaking, or a deprecation.

In the spirit of OpenAPI breaking-change tools (oasdiff), from the point of view of a
client that worked with the old site.  Each difference in the ``contract`` area (see
:mod:`moodle_regress.observe.contract`) gets one :class:`ContractChange`:

breaking
    the function removed; a required parameter added (outside a new parameter);
    a parameter removed (Moodle refuses unknown parameters); a parameter retyped, made
    required, or no longer accepting null; a return field removed, retyped, made optional
    (it may be missing) or nullable; the answer gone; no longer allowed from AJAX, login
    now required; removed from a service; Moodle no longer able to describe it.
non-breaking
    a function added; an optional parameter added; a return field added; a parameter made
    optional, accepting null, or its default changed; a parameter type widened (to
    ``raw``, or ``int`` to ``float``), a return type narrowed (the reverse); allowed from
    AJAX; added to a service; its type (read/write) or component changed.
deprecation
    ``<method>_is_deprecated()`` turned true: the function still works, and will go.

When one value changes in several ways the most severe wins, and the change names them
all ("parameter retyped (int -> text); made required").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from moodle_regress.compare import Comparison, Difference
from moodle_regress.observation import make_key
from moodle_regress.observe.contract import AREA, PARAMS, RETURNS

Severity = Literal["breaking", "non-breaking", "deprecation"]
SEVERITIES: tuple[Severity, ...] = ("breaking", "deprecation", "non-breaking")
_RANK = {"breaking": 0, "deprecation": 1, "non-breaking": 2}

#: PARAM_ types that take any text: a parameter retyped to these accepts what it did.
_ANY_TEXT = frozenset({"raw", "raw_trimmed"})
_STRUCTURES = frozenset({"object", "list", "none"})


@dataclass(frozen=True)
class ContractChange:
    severity: Severity
    change: str

    def to_json(self) -> dict[str, str]:
        return {"severity": self.severity, "change": self.change}


def _worst(parts: list[tuple[Severity, str]]) -> ContractChange | None:
    if not parts:
        return None
    severity = min((s for s, _ in parts), key=_RANK.__getitem__)
    return ContractChange(severity, "; ".join(text for _, text in parts))


def _widened(before: str, after: str) -> bool:
    """Whether a value of type ``before`` is always a valid ``after``."""
    if before in _STRUCTURES or after in _STRUCTURES:
        return False
    return (after in _ANY_TEXT and before not in {"int", "float", "bool"}) or (
        before == "int" and after == "float"
    )


def _type_change(before: str, after: str, *, param: bool) -> tuple[Severity, str]:
    what = "parameter" if param else "return field"
    fine = _widened(before, after) if param else _widened(after, before)
    if fine:
        return (
            "non-breaking",
            f"{what} type {'widened' if param else 'narrowed'} ({before} -> {after})",
        )
    return "breaking", f"{what} retyped ({before} -> {after})"


def _param_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[tuple[Severity, str]]:
    parts: list[tuple[Severity, str]] = []
    if old.get("type") != new.get("type"):
        parts.append(_type_change(str(old.get("type")), str(new.get("type")), param=True))
    if old.get("required") != new.get("required"):
        if new.get("required") == "required":
            parts.append(("breaking", "optional parameter made required"))
        else:
            parts.append(("non-breaking", f"parameter made {new.get('required')}"))
    if "default" in old and "default" in new and old["default"] != new["default"]:
        parts.append(("non-breaking", "default changed"))
    if old.get("allownull") != new.get("allownull") and "allownull" in old and "allownull" in new:
        if new["allownull"]:
            parts.append(("non-breaking", "parameter accepts null"))
        else:
            parts.append(("breaking", "parameter no longer accepts null"))
    return parts


def _return_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[tuple[Severity, str]]:
    parts: list[tuple[Severity, str]] = []
    old_type, new_type = str(old.get("type")), str(new.get("type"))
    if old_type != new_type:
        if new_type == "none":
            parts.append(("breaking", "the function no longer returns anything"))
        elif old_type == "none":
            parts.append(("non-breaking", "the function now returns an answer"))
        else:
            parts.append(_type_change(old_type, new_type, param=False))
    if old.get("required") != new.get("required"):
        if new.get("required") == "optional":
            parts.append(("breaking", "return field made optional (it may be missing)"))
        else:
            parts.append(("non-breaking", f"return field made {new.get('required')}"))
    if old.get("allownull") != new.get("allownull") and "allownull" in old and "allownull" in new:
        if new["allownull"]:
            parts.append(("breaking", "return field may be null"))
        else:
            parts.append(("non-breaking", "return field no longer null"))
    return parts


def _fact_change(fact: str, before: Any, after: Any) -> list[tuple[Severity, str]]:
    if fact == "deprecated":
        if after:
            return [("deprecation", "deprecation announced")]
        return [("non-breaking", "no longer deprecated")] if before else []
    if fact == "ajax":
        return (
            [("non-breaking", "allowed from AJAX")]
            if after
            else [("breaking", "no longer allowed from AJAX")]
        )
    if fact == "loginrequired":
        return (
            [("breaking", "login now required")] if after else [("non-breaking", "no login needed")]
        )
    if fact == "services":
        gone = sorted(set(before or []) - set(after or []))
        new = sorted(set(after or []) - set(before or []))
        parts: list[tuple[Severity, str]] = []
        if gone:
            parts.append(("breaking", "removed from service " + ", ".join(gone)))
        if new:
            parts.append(("non-breaking", "added to service " + ", ".join(new)))
        return parts
    if fact == "error":
        if after is not None:
            return [("breaking", "Moodle can no longer describe the function")]
        return [("non-breaking", "Moodle can describe the function again")]
    return [("non-breaking", f"{fact} changed")]


class _Context:
    """What the classification looks up: which keys the comparison adds or removes."""

    def __init__(self, comparison: Comparison) -> None:
        self.before = comparison.before
        self.after = comparison.after
        self.added = {d.key for d in comparison if d.kind == "added"}
        self.removed = {d.key for d in comparison if d.kind == "removed"}

    def function_exists(self, function: str, *, after: bool) -> bool:
        snapshot = self.after if after else self.before
        return snapshot.get(make_key(AREA, function, "component")) is not None

    def ancestor_in(self, function: str, path: list[str], keys: set[str]) -> bool:
        return any(make_key(AREA, function, *path[:n]) in keys for n in range(2, len(path)))


def _structural(diff: Difference, path: list[str], ctx: _Context) -> ContractChange | None:
    function = diff.entity
    root = path[0]
    if diff.kind == "added":
        if root == RETURNS:
            return ContractChange("non-breaking", "return field added")
        if ctx.ancestor_in(function, path, ctx.added):
            return ContractChange("non-breaking", "inside a new parameter")
        if (diff.after_value or {}).get("required") == "required":
            return ContractChange("breaking", "required parameter added")
        return ContractChange("non-breaking", "optional parameter added")
    if diff.kind == "removed":
        what = "return field" if root == RETURNS else "parameter"
        return ContractChange("breaking", f"{what} removed")
    old, new = diff.before_value or {}, diff.after_value or {}
    changes = _param_changes if root == PARAMS else _return_changes
    parts = changes(old, new)
    if not parts:  # nothing a client relies on: say what differs
        fields = sorted(k for k in {*old, *new} if old.get(k) != new.get(k))
        parts = [("non-breaking", f"description changed ({', '.join(fields)})")]
    return _worst(parts)


def classify(diff: Difference, ctx: _Context) -> ContractChange | None:
    """The contract change one difference makes (None outside the contract area)."""
    if diff.area != AREA:
        return None
    function = diff.entity
    if diff.kind == "removed" and not ctx.function_exists(function, after=True):
        return ContractChange("breaking", "function removed")
    if diff.kind == "added" and not ctx.function_exists(function, after=False):
        return ContractChange("non-breaking", "function added")
    path = diff.aspect.split("/")
    if path[0] in (PARAMS, RETURNS) and (len(path) > 1 or diff.kind == "changed"):
        return _structural(diff, path, ctx)
    if path[0] == RETURNS:  # the whole answer described where there was none, or gone
        if diff.kind == "added":
            return ContractChange("non-breaking", "the function now returns an answer")
        return ContractChange("breaking", "the function no longer returns anything")
    return _worst(_fact_change(path[0], diff.before_value, diff.after_value))


def classify_contract(comparison: Comparison) -> Comparison:
    """Set each contract difference's :attr:`Difference.contract`."""
    ctx = _Context(comparison)
    for diff in comparison.differences:
        diff.contract = classify(diff, ctx)
    return comparison
