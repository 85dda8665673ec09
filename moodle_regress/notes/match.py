r"""Matching differences to the upgrade-note entries that explain them.

A difference is about *subjects*: a web-service function (``contract/<fn>/...``,
``webservice/<fn>/...``, ``api/<fn>/...``), the component it belongs to (the contract's
own ``component`` observation, else the longest known component its name starts with),
plugins (``themes``/``formats``/``activities`` lists of installed ones, an activity's
``modname``, key components naming a component: ``plugins/mod_chat/...``), and names
(the field or setting a key or value names).  An entry *names* a subject when the
subject is one of its identifiers (``[A-Za-z0-9_]+`` words, case-insensitive):
``core_badges_get_badge`` in "`core_badges_get_badge`" or ``mod_chat`` in "Remove
mod_chat", but never ``chat`` inside ``mod_chat``.

A difference is about the function *as a whole* when it adds or removes the function,
is one of its facts (``deprecated``, ``ajax``...) or its presence in the service
(``webservice/<fn>/...``); otherwise it is about a field (a parameter, a part of the
answer, a service it joins or leaves) and an entry must name that field too.

An entry **explains** a difference (a strong match) when, first rule first:

1. *names the function*: it names the difference's function (and the field, for a
   field's difference: ``core_badges_get_badge`` and ``courseid``);
2. *names the function's method in its component*: it names the function's name
   without the component (``unenrol_users`` for ``enrol_manual_unenrol_users``) and
   either is the component's own entry (enrol_manual's notes) or names the component or
   its external class (``core_question_external\move_questions``); and the field, for
   a field's difference;
3. *announces the field's change in its component*: a field's difference, and the entry
   is the function's component's, names the field and is of the same kind (a removal
   for a removed field, an addition for an added one): core_badges' "The fields
   imageauthorname, imageauthoremail, and imageauthorurl have been removed";
4. *removes the plugin*: the difference removes something of a component that is gone
   (no function of it is left, or the plugin left the list of installed ones), the
   entry is a removal and names the component (``Remove mod_chat from Moodle 5.0``).

An entry is **possibly related** (a weak match) when:

5. *names the function, not the field*: rule 1 or 2 without the field;
6. *names the plugin*: the difference is about a plugin (not a function) and the entry
   names it;
7. *removes a plugin of that name*: the difference removes something of a component
   that is gone, the entry is a removal and names the plugin's own name (``chat``
   for mod_chat: "Remove chat and survey support from tool_mobile");
8. *names a field of the component*: the entry is the component's and names the
   difference's field or setting.

Rules 3 and 8 look at the field itself (the last name of its path), never at a common
word (``name``, ``type``, ``title``...).

A difference keeps every strong match and at most :data:`MAX_WEAK` weak ones, in the
order of the rules.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from moodle_regress.compare import Comparison, Difference
from moodle_regress.notes.parse import NoteEntry
from moodle_regress.observation import SITE_ENTITY, make_key
from moodle_regress.snapshot import Snapshot

MAX_WEAK = 3
_TOKEN = re.compile(r"[A-Za-z0-9_]+")
#: Areas whose entity is a web-service function.
FUNCTION_AREAS = ("contract", "webservice", "api")
#: Areas whose values name plugins of one type.
PLUGIN_AREAS = {"themes": "theme", "formats": "format", "activities": "mod"}
#: Names too common to link a field to a note.
_COMMON_NAMES = frozenset(
    {
        "id", "name", "type", "value", "text", "data", "items", "list", "returns", "params",
        "button", "title", "icon", "key", "component", "date", "tag", "url", "status", "time",
        "message", "error", "warnings", "event", "events", "user", "users", "course",
        "courses", "group", "groups", "files", "options", "settings", "description",
        "summary", "format", "visible", "content", "label", "mobile",
    }
)  # fmt: skip

RULES = (
    "names the function",
    "names the function's method in its component",
    "announces the field's change in its component",
    "removes the plugin",
    "names the function, not the field",
    "names the plugin",
    "removes a plugin of that name",
    "names a field of the component",
)
_STRONG_RULES = frozenset(RULES[:4])
#: The kind of note that announces each kind of difference.
_SAME_KIND = {"added": "added", "removed": "removed", "changed": "changed"}


@dataclass(frozen=True)
class NoteMatch:
    """One entry matched to one difference, by the rule named."""

    entry: NoteEntry
    rule: str

    @property
    def strong(self) -> bool:
        return self.rule in _STRONG_RULES

    @property
    def strength(self) -> str:
        return "explained" if self.strong else "possibly related"

    def to_json(self) -> dict[str, Any]:
        return {**self.entry.to_json(), "strength": self.strength, "rule": self.rule}


@dataclass(frozen=True)
class Subjects:
    """What a difference is about (see the module's docstring)."""

    functions: frozenset[str] = frozenset()
    #: (component, method) pairs: a function's component and its name without it.
    methods: frozenset[tuple[str, str]] = frozenset()
    components: frozenset[str] = frozenset()
    names: frozenset[str] = frozenset()
    #: Components of the difference that are gone, when it removes something of them.
    gone: frozenset[str] = frozenset()
    #: About the function as a whole (not one of its fields): naming it is enough.
    whole: bool = True
    #: The difference's kind (added, removed, changed).
    kind: str = ""
    #: The field itself (a path's last name), for rules that name no function.
    leaves: frozenset[str] = frozenset()


def tokens(text: str) -> frozenset[str]:
    return frozenset(t.lower() for t in _TOKEN.findall(text))


def component_by_prefix(function: str, components: Iterable[str]) -> str | None:
    """The longest component whose name, with ``_``, starts ``function``."""
    best = None
    for component in components:
        if function.startswith(component + "_") and (best is None or len(component) > len(best)):
            best = component
    return best


def _leaf_names(paths: Iterable[Any]) -> set[str]:
    names = set()
    for path in paths:
        if isinstance(path, str):
            leaf = re.split(r"[./]", path.replace("[]", ""))[-1]
            if leaf:
                names.add(leaf)
    return names


def _names_in(value: Any) -> set[str] | None:
    """The names a list holds, or a mapping's keys (``{"chat": "enabled"}``); None for
    other values."""
    if isinstance(value, list):
        return {item for item in value if isinstance(item, str)}
    if isinstance(value, dict):
        return {str(key) for key in value}
    return None


def _list_change(diff: Difference) -> tuple[set[Any], set[Any]]:
    """(items removed, items added) when both values are lists, or both mappings (their
    keys), or one side is absent."""
    old = _names_in(diff.before_value) if diff.before is not None else set()
    new = _names_in(diff.after_value) if diff.after is not None else set()
    if old is None or new is None or type(diff.before_value) is not type(diff.after_value):
        if diff.before is not None and diff.after is not None:
            return set(), set()
        old, new = old or set(), new or set()
    return old - new, new - old


def _modules_of(diff: Difference) -> set[str]:
    """Activity modules a value names (``{"modname": "chat", ...}``)."""
    found = set()
    for value in (diff.before_value, diff.after_value):
        if isinstance(value, dict) and isinstance(value.get("modname"), str):
            found.add(f"mod_{value['modname']}")
    return found


ComponentOf = Callable[[str], "str | None"]

_WHOLE_FUNCTION = ("function added", "function removed")


def _item_kind(kind: str, removed: set[Any], added: set[Any]) -> str:
    """A list that only gained (lost) items adds (removes) them: ``api/<fn>/fields``."""
    if kind == "changed" and added and not removed:
        return "added"
    if kind == "changed" and removed and not added:
        return "removed"
    return kind


def _function_fields(
    diff: Difference, segments: list[str], items: set[Any]
) -> tuple[set[str], set[str], bool]:
    """(field names with their parents, the fields themselves, whether the difference is
    about the function as a whole)."""
    if diff.contract is not None and diff.contract.change in _WHOLE_FUNCTION:
        return set(), set(), True
    if diff.area == "api":
        leaves = _leaf_names(items)
        return leaves, leaves, False
    if diff.area == "contract" and len(segments) > 1 and segments[0] in ("params", "returns"):
        return set(segments[1:]), {segments[-1]}, False
    if diff.area == "contract" and segments == ["services"]:
        services = {str(s) for s in items}
        # Notes say "the mobile app" rather than moodle_mobile_app.
        mobile = {"mobile"} if any("mobile" in s for s in services) else set()
        return services | mobile, services, False
    return set(), set(), True


def subjects_of(
    diff: Difference, component_of: ComponentOf, known: frozenset[str], gone: frozenset[str]
) -> Subjects:
    """The subjects of one difference (``component_of`` names a function's component,
    ``gone`` are the components the comparison loses)."""
    removed, added = _list_change(diff)
    removal = diff.kind == "removed" or (bool(removed) and not added)
    segments = [s for s in diff.aspect.split("/") if s and s != "[]"]
    names = {segments[-1]} if segments else set()
    if diff.area in FUNCTION_AREAS:
        function = diff.entity
        component = component_of(function)
        methods = set()
        if component and function.startswith(component + "_"):
            methods.add((component, function[len(component) + 1 :]))
        names, leaves, whole = _function_fields(diff, segments, removed | added)
        mine = frozenset({component} if component else ())
        return Subjects(
            functions=frozenset({function}),
            methods=frozenset(methods),
            components=mine,
            names=frozenset(names),
            gone=mine & gone if removal else frozenset(),
            whole=whole,
            kind=_item_kind(diff.kind, removed, added),
            leaves=frozenset(leaves),
        )
    components = {c for c in [diff.entity, *segments] if c in known}
    components |= {c for c in _modules_of(diff) if c in known}
    if diff.area in PLUGIN_AREAS:
        plugin_type = PLUGIN_AREAS[diff.area]
        values = (
            removed
            | added
            | {v for v in (diff.before_value, diff.after_value) if isinstance(v, str)}
        )
        named = {f"{plugin_type}_{v}" for v in values}
        # themes and formats name plugins in any value; activities only in known ones.
        components |= named if plugin_type != "mod" else named & known
    mine = frozenset(components)
    return Subjects(
        components=mine,
        names=frozenset(names),
        gone=mine & gone if removal else frozenset(),
        leaves=frozenset(names),
    )


class NotesMatcher:
    """The entries of a release range, indexed by the identifiers they name."""

    def __init__(self, entries: Sequence[NoteEntry]) -> None:
        self.entries = list(entries)
        self._tokens = [tokens(e.text) for e in self.entries]
        self._by_token: dict[str, list[int]] = defaultdict(list)
        self._by_component: dict[str, list[int]] = defaultdict(list)
        for index, (entry, words) in enumerate(zip(self.entries, self._tokens, strict=True)):
            for word in words:
                self._by_token[word].append(index)
            self._by_component[entry.component].append(index)

    def _candidates(self, subjects: Subjects) -> list[int]:
        words = set(subjects.functions) | set(subjects.components) | set(subjects.names)
        words |= {method for _, method in subjects.methods}
        words |= {c.split("_", 1)[1] for c in subjects.components if "_" in c}
        found: set[int] = set()
        for word in words:
            found.update(self._by_token.get(word.lower(), ()))
        for component in subjects.components:
            found.update(self._by_component.get(component, ()))
        return sorted(found)

    def rule_for(self, index: int, subjects: Subjects) -> str | None:
        """The first rule by which entry ``index`` matches, if any."""
        entry, words = self.entries[index], self._tokens[index]
        field = subjects.whole or bool({n.lower() for n in subjects.names} & words)
        named = any(f.lower() in words for f in subjects.functions)
        if named and field:
            return RULES[0]
        for component, method in subjects.methods:
            owner = entry.component == component or bool(
                {component.lower(), f"{component}_external".lower()} & words
            )
            if owner and method.lower() in words:
                named = True
                if field:
                    return RULES[1]
        leaves = {n.lower() for n in subjects.leaves if len(n) > 2 and n not in _COMMON_NAMES}
        in_component = entry.component in subjects.components and bool(leaves & words)
        if in_component and not subjects.whole and _SAME_KIND.get(subjects.kind) == entry.kind:
            return RULES[2]
        removal = entry.kind == "removed"
        if removal and any(c.lower() in words for c in subjects.gone):
            return RULES[3]
        if named:
            return RULES[4]
        if not subjects.functions and any(c.lower() in words for c in subjects.components):
            return RULES[5]
        short = {c.split("_", 1)[1].lower() for c in subjects.gone if "_" in c}
        if removal and short & words:
            return RULES[6]
        return RULES[7] if in_component else None

    def matches(self, subjects: Subjects) -> list[NoteMatch]:
        found = []
        for index in self._candidates(subjects):
            rule = self.rule_for(index, subjects)
            if rule is not None:
                found.append(NoteMatch(self.entries[index], rule))
        found.sort(key=lambda m: RULES.index(m.rule))
        strong = [m for m in found if m.strong]
        return strong + [m for m in found if not m.strong][:MAX_WEAK]


def _function_components(snapshot: Snapshot, component_of: ComponentOf) -> set[str]:
    functions = {o.entity for o in snapshot if o.area in ("contract", "webservice")}
    return {c for c in map(component_of, functions) if c}


def _plugins(snapshot: Snapshot) -> set[str]:
    """Plugins the snapshot lists as installed (themes, formats, activity modules) or
    observes as entities of the ``plugins`` area."""
    found = set()
    for obs in snapshot:
        if obs.area == "plugins":
            found.add(obs.entity)
        elif obs.area in PLUGIN_AREAS and obs.entity == SITE_ENTITY:
            names = _names_in(obs.value) or set()
            found |= {f"{PLUGIN_AREAS[obs.area]}_{v}" for v in names}
    return found


def gone_components(comparison: Comparison, component_of: ComponentOf) -> frozenset[str]:
    """Components with functions (or installed plugins) before and none after."""
    before = _function_components(comparison.before, component_of)
    after = _function_components(comparison.after, component_of)
    return frozenset((before - after) | (_plugins(comparison.before) - _plugins(comparison.after)))


def explain(
    comparison: Comparison,
    entries: Sequence[NoteEntry],
    *,
    components: Iterable[str] = (),
    used: dict[str, Any] | None = None,
) -> Comparison:
    """Set each difference's :attr:`Difference.notes` from ``entries``.

    ``components`` are the component names the target code knows (for a function not
    in the contract, its component is the longest of them its name starts with); the
    components the snapshots show (the contract's, installed plugins) are known too,
    since a plugin the upgrade removed is not in the target code.
    ``used`` describes the notes for the reports (tree, releases, entry count).
    """
    known = frozenset(components) | {e.component for e in entries}
    for snapshot in (comparison.before, comparison.after):
        known |= {
            o.value
            for o in snapshot
            if o.area == "contract" and o.aspect == "component" and isinstance(o.value, str)
        }
        known |= _plugins(snapshot)
    matcher = NotesMatcher(entries)
    cache: dict[str, str | None] = {}

    def component_of(function: str) -> str | None:
        if function not in cache:
            key = make_key("contract", function, "component")
            obs = comparison.after.get(key) or comparison.before.get(key)
            value = obs.value if obs is not None else None
            cache[function] = (
                value if isinstance(value, str) else component_by_prefix(function, known)
            )
        return cache[function]

    gone = gone_components(comparison, component_of)
    for diff in comparison.differences:
        diff.notes = matcher.matches(subjects_of(diff, component_of, known, gone))
    comparison.notes_used = used
    return comparison
