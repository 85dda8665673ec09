"""Expected changes: the differences a reviewer accepted, each with its reason.

The file is YAML::

    expected:
      - key: site/@site/release             # a key pattern (see below)
        reason: The upgrade changes the release, of course.
      - key: "webservice/mod_chat_*/**"
        change: removed                      # optional: added, removed, changed, or a list
        reason: mod_chat left core in 5.0 (MDL-82457).
      - key: courses/*/format-options
        before: {equals: {hiddensections: 0}}   # optional value conditions,
        after: {regex: "coursedisplay"}         # equals or regex, on before and/or after
        reason: ...
      - key: data/*/rows
        after: {at_least: before}               # a number, or the other side's value
        reason: Tables grow; only lost rows matter.

Two more conditions use what the comparison learned about a difference:

``explained: true``
    an upgrade note of the releases between the two sites explains it (a strong match,
    see :mod:`moodle_regress.notes.match`; "possibly related" is not enough).  One rule
    accepts everything Moodle announced::

      - key: "**"
        explained: true
        reason: Announced in Moodle's upgrade notes (the report shows the note).

    The difference's reason then names the note's issue (``... (MDL-82457)``).
    ``explained: false`` matches what no note explains.
``contract: non-breaking``
    the web-service contract change's severity (``breaking``, ``non-breaking``,
    ``deprecation``, or a list), see :mod:`moodle_regress.classify`.

Key patterns: ``*`` matches within one key component (never ``/``), ``**`` matches
anything including ``/``, ``?`` one character, ``[abc]`` a character class; ``[]``
stands for itself (a list's items in ``contract`` keys: ``params/courses/[]/visible``).  A
``/`` inside an entity is written ``%2F`` (keys escape it).  A ``regex`` condition
searches the value if it is a string, else its canonical JSON; ``equals`` compares
the whole value; ``at_least`` holds for a number not below the given one, or
below the other side's value when given ``before`` (on ``after``) or ``after`` (on
``before``).  A condition on a side that has no value (``before`` of an added key)
does not match.  The first rule that matches a difference explains it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from moodle_regress.compare import CHANGE_KINDS, ChangeKind, Comparison, Difference
from moodle_regress.errors import MoodleRegressError
from moodle_regress.observation import canonical

_RULE_FIELDS = {"key", "reason", "change", "before", "after", "explained", "contract"}
_SEVERITIES = ("breaking", "non-breaking", "deprecation")
_CONDITION_FIELDS = {"equals", "regex", "at_least"}
#: ``at_least: before`` (or ``after``): compare with the other side's value.
_SIDES = ("before", "after")


class ExpectedFileError(MoodleRegressError):
    """An expected-changes file that cannot be used; names the file, line and field."""


def glob_to_regex(pattern: str) -> re.Pattern[str]:
    """Compile a key pattern (see the module's docstring) to an anchored regex."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern.startswith("[]", i):  # a list's items in contract keys, not a class
            out.append(re.escape("[]"))
            i += 2
        elif ch == "*":
            out.append("[^/]*")
            i += 1
        elif ch == "?":
            out.append("[^/]")
            i += 1
        elif ch == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                raise ValueError(f"unclosed '[' at position {i}")
            body = pattern[i + 1 : end]
            if body.startswith("!"):
                body = "^" + body[1:]
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = end + 1
        else:
            out.append(re.escape(ch))
            i += 1
    return re.compile("".join(out) + r"\Z")


_MISSING = object()


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


@dataclass(frozen=True)
class ValueCondition:
    equals: Any = _MISSING
    regex: re.Pattern[str] | None = None
    #: A number, or "before"/"after": the other side's value.
    at_least: float | str | None = None

    def matches(self, present: bool, value: Any, other: Any = None) -> bool:
        if not present:
            return False
        if self.equals is not _MISSING and canonical(value) != canonical(self.equals):
            return False
        if self.regex is not None:
            text = value if isinstance(value, str) else canonical(value)
            if not self.regex.search(text):
                return False
        return self.at_least is None or self._at_least(value, other)

    def _at_least(self, value: Any, other: Any) -> bool:
        bound = _number(other) if isinstance(self.at_least, str) else self.at_least
        number = _number(value)
        return number is not None and bound is not None and number >= bound


@dataclass(frozen=True)
class ExpectedRule:
    pattern: str
    reason: str
    line: int
    kinds: frozenset[ChangeKind] | None = None
    before: ValueCondition | None = None
    after: ValueCondition | None = None
    key_regex: re.Pattern[str] = re.compile("")
    #: Whether an upgrade note must (True) or must not (False) explain the difference.
    explained: bool | None = None
    #: Contract severities accepted (breaking, non-breaking, deprecation).
    contract: frozenset[str] | None = None

    def matches(self, diff: Difference) -> bool:
        if self.kinds is not None and diff.kind not in self.kinds:
            return False
        if not self.key_regex.match(diff.key):
            return False
        if self.explained is not None and (diff.explanation == "explained") != self.explained:
            return False
        if self.contract is not None and (
            diff.contract is None or diff.contract.severity not in self.contract
        ):
            return False
        if self.before is not None and not self.before.matches(
            diff.before is not None, diff.before_value, diff.after_value
        ):
            return False
        return self.after is None or self.after.matches(
            diff.after is not None, diff.after_value, diff.before_value
        )

    def describe(self) -> str:
        return f"line {self.line}: {self.pattern}"

    def reason_for(self, diff: Difference) -> str:
        """The reason shown for ``diff``: with the explaining note's issue for an
        ``explained`` rule."""
        if self.explained:
            issues = [m.entry.issue for m in diff.notes if m.strong and m.entry.issue]
            if issues:
                return f"{self.reason} ({', '.join(dict.fromkeys(issues))})"
        return self.reason


class ExpectedChanges:
    """The rules of one expected-changes file."""

    def __init__(self, rules: Sequence[ExpectedRule], source: str = "<expected>") -> None:
        self.rules = list(rules)
        self.source = source

    def __len__(self) -> int:
        return len(self.rules)

    @classmethod
    def load(cls, path: Path) -> ExpectedChanges:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ExpectedFileError(f"no expected-changes file at {path}") from None
        except OSError as exc:
            raise ExpectedFileError(f"cannot read {path}: {exc.strerror}") from None
        return cls.parse(text, source=str(path))

    @classmethod
    def load_all(cls, paths: Sequence[Path]) -> ExpectedChanges | None:
        """The rules of several files, in order (the first match explains); None for none."""
        loaded = [cls.load(path) for path in paths]
        if not loaded:
            return None
        return cls([r for e in loaded for r in e.rules], ", ".join(e.source for e in loaded))

    @classmethod
    def parse(cls, text: str, *, source: str = "<expected>") -> ExpectedChanges:
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"{source}:{mark.line + 1}" if mark is not None else source
            problem = getattr(exc, "problem", None) or str(exc)
            raise ExpectedFileError(f"{where}: not valid YAML: {problem}") from None
        if root is None:
            return cls([], source)
        entries = _rule_nodes(root, source)
        return cls([_parse_rule(node, index, source) for index, node in enumerate(entries)], source)

    def explain(self, diff: Difference) -> ExpectedRule | None:
        for rule in self.rules:
            if rule.matches(diff):
                return rule
        return None

    def apply(self, comparison: Comparison) -> Comparison:
        """Mark each difference a rule explains; record the rules that explained nothing."""
        used: set[int] = set()
        for diff in comparison.differences:
            diff.expected, diff.reason = False, None
            for index, rule in enumerate(self.rules):
                if rule.matches(diff):
                    diff.expected, diff.reason = True, rule.reason_for(diff)
                    used.add(index)
                    break
        comparison.unused_rules = [
            rule.describe() for index, rule in enumerate(self.rules) if index not in used
        ]
        return comparison


def _rule_nodes(root: yaml.Node, source: str) -> list[yaml.Node]:
    if isinstance(root, yaml.SequenceNode):
        return list(root.value)
    if isinstance(root, yaml.MappingNode):
        fields = {k.value: (k, v) for k, v in root.value}
        unknown = set(fields) - {"expected", "version"}
        if unknown:
            name = sorted(unknown)[0]
            raise ExpectedFileError(
                f"{source}:{fields[name][0].start_mark.line + 1}: unknown top-level field "
                f"{name!r}; the file holds `expected:`, a list of rules"
            )
        if "version" in fields:
            node = fields["version"][1]
            if not (isinstance(node, yaml.ScalarNode) and node.value == "1"):
                raise ExpectedFileError(
                    f"{source}:{node.start_mark.line + 1}: version: this moodle-regress "
                    "reads expected-changes files of version 1"
                )
        if "expected" not in fields:
            raise ExpectedFileError(f"{source}:1: no `expected:` list of rules")
        node = fields["expected"][1]
        if isinstance(node, yaml.ScalarNode) and node.value in ("", "~", "null"):
            return []
        if not isinstance(node, yaml.SequenceNode):
            raise ExpectedFileError(
                f"{source}:{node.start_mark.line + 1}: expected: must be a list of rules"
            )
        return list(node.value)
    raise ExpectedFileError(
        f"{source}:{root.start_mark.line + 1}: the file must be a mapping with an "
        "`expected:` list of rules"
    )


def _scalar(node: yaml.Node, where: str, field: str) -> str:
    if not isinstance(node, yaml.ScalarNode) or node.tag.endswith(":null"):
        raise ExpectedFileError(f"{where}: {field}: must be a text, not {_kind(node)}")
    return str(node.value)


def _kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return "empty" if node.tag.endswith(":null") else "a scalar"


def _parse_rule(node: yaml.Node, index: int, source: str) -> ExpectedRule:
    line = node.start_mark.line + 1
    where = f"{source}:{line}: expected[{index}]"
    if not isinstance(node, yaml.MappingNode):
        raise ExpectedFileError(f"{where}: a rule must be a mapping with key and reason")
    fields = {k.value: (k, v) for k, v in node.value}
    for name, (knode, _) in fields.items():
        if name not in _RULE_FIELDS:
            raise ExpectedFileError(
                f"{source}:{knode.start_mark.line + 1}: expected[{index}]: unknown field "
                f"{name!r}; a rule has {', '.join(sorted(_RULE_FIELDS))}"
            )
    for required in ("key", "reason"):
        if required not in fields:
            raise ExpectedFileError(
                f"{where}: {required}: missing; every rule needs a key pattern and a reason"
            )

    def at(name: str) -> str:
        return f"{source}:{fields[name][1].start_mark.line + 1}: expected[{index}]"

    pattern = _scalar(fields["key"][1], at("key"), "key")
    try:
        key_regex = glob_to_regex(pattern)
    except (ValueError, re.error) as exc:
        raise ExpectedFileError(f"{at('key')}: key: bad pattern {pattern!r}: {exc}") from None
    reason = _scalar(fields["reason"][1], at("reason"), "reason").strip()
    if not reason:
        raise ExpectedFileError(f"{at('reason')}: reason: empty; say why the change is fine")
    kinds = None
    if "change" in fields:
        kinds = _parse_kinds(fields["change"][1], at("change"))
    before = _parse_condition(fields, "before", at) if "before" in fields else None
    after = _parse_condition(fields, "after", at) if "after" in fields else None
    explained = (
        _parse_bool(fields["explained"][1], at("explained")) if "explained" in fields else None
    )
    contract = (
        _parse_severities(fields["contract"][1], at("contract")) if "contract" in fields else None
    )
    return ExpectedRule(
        pattern=pattern,
        reason=reason,
        line=line,
        kinds=kinds,
        before=before,
        after=after,
        key_regex=key_regex,
        explained=explained,
        contract=contract,
    )


def _parse_bool(node: yaml.Node, where: str) -> bool:
    text = _scalar(node, where, "explained")
    if not node.tag.endswith(":bool"):
        raise ExpectedFileError(f"{where}: explained: {text!r} must be true or false")
    return text.lower() in ("true", "yes", "on")


def _parse_severities(node: yaml.Node, where: str) -> frozenset[str]:
    values = node.value if isinstance(node, yaml.SequenceNode) else [node]
    found = set()
    for item in values:
        text = _scalar(item, where, "contract")
        if text not in _SEVERITIES:
            raise ExpectedFileError(
                f"{where}: contract: {text!r} is not one of {', '.join(_SEVERITIES)}"
            )
        found.add(text)
    return frozenset(found)


def _parse_kinds(node: yaml.Node, where: str) -> frozenset[ChangeKind]:
    values: Iterable[yaml.Node]
    values = node.value if isinstance(node, yaml.SequenceNode) else [node]
    kinds: set[ChangeKind] = set()
    for item in values:
        text = _scalar(item, where, "change")
        if text not in CHANGE_KINDS:
            raise ExpectedFileError(
                f"{where}: change: {text!r} is not one of {', '.join(CHANGE_KINDS)}"
            )
        kinds.add(text)
    return frozenset(kinds)


def _parse_condition(
    fields: dict[str, tuple[yaml.Node, yaml.Node]], name: str, at: Callable[[str], str]
) -> ValueCondition:
    where = at(name)
    node = fields[name][1]
    if not isinstance(node, yaml.MappingNode) or not node.value:
        raise ExpectedFileError(
            f"{where}: {name}: must be a mapping with `equals:`, `regex:` or `at_least:`, "
            f"for example {name}: {{equals: topics}}"
        )
    parts = {k.value: (k, v) for k, v in node.value}
    for cond, (knode, _) in parts.items():
        if cond not in _CONDITION_FIELDS:
            raise ExpectedFileError(
                f"{_source_of(where)}:{knode.start_mark.line + 1}: {name}.{cond}: "
                "unknown condition; use equals, regex or at_least"
            )
    equals: Any = _MISSING
    regex = None
    if "equals" in parts:
        equals = yaml.safe_load(yaml.serialize(parts["equals"][1]))
    if "regex" in parts:
        text = _scalar(parts["regex"][1], where, f"{name}.regex")
        try:
            regex = re.compile(text)
        except re.error as exc:
            raise ExpectedFileError(
                f"{where}: {name}.regex: {text!r} is not a regular expression: {exc}"
            ) from None
    at_least = _parse_at_least(parts["at_least"][1], where, name) if "at_least" in parts else None
    return ValueCondition(equals=equals, regex=regex, at_least=at_least)


def _parse_at_least(node: yaml.Node, where: str, name: str) -> float | str:
    """A number, or the other side's name (``after: {at_least: before}``)."""
    text = _scalar(node, where, f"{name}.at_least")
    other = next(side for side in _SIDES if side != name)
    if text == other:
        return text
    try:
        return float(text)
    except ValueError:
        raise ExpectedFileError(
            f"{where}: {name}.at_least: {text!r} is neither a number nor {other!r}"
        ) from None


def _source_of(where: str) -> str:
    """``file.yaml:12: expected[0]`` -> ``file.yaml``."""
    return where.rsplit(":", 2)[0]
