"""Comparing two snapshots: what was added, removed and changed, key by key.

Values are compared by their canonical JSON, so ``1`` and ``true`` or ``1`` and
``1.0`` differ, as they do for a client of the site.  Metadata is never compared
(the release is observed as ``site/@site/release`` like any other fact).

Observations that carry a ``screenshot`` on both sides are also compared as
pictures (:func:`moodle_regress.browser.visual.compare_images`): a share of changed
pixels above the threshold makes them ``changed`` even when their values agree, and
the difference keeps the comparison (with its highlighted image) for the report.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from moodle_regress.observation import SITE_ENTITY, Keyed, Observation, canonical, split_key
from moodle_regress.snapshot import Snapshot, SnapshotReader, UnsortedSnapshotError

if TYPE_CHECKING:
    from moodle_regress.browser.visual import VisualDiff
    from moodle_regress.classify import ContractChange
    from moodle_regress.notes.match import NoteMatch

SCREENSHOT = "screenshot"

ChangeKind = Literal["added", "removed", "changed"]
Explanation = Literal["explained", "possibly related", "unexplained"]
EXPLANATIONS: tuple[Explanation, ...] = ("explained", "possibly related", "unexplained")
CHANGE_KINDS: tuple[ChangeKind, ...] = ("added", "removed", "changed")


@dataclass(slots=True)
class Difference(Keyed):
    """One key whose observation differs between the two snapshots."""

    key: str
    kind: ChangeKind
    before: Observation | None
    after: Observation | None
    expected: bool = False
    reason: str | None = None
    #: The screenshots' comparison, when both sides carry one.
    visual: VisualDiff | None = None
    #: How a web-service contract change affects clients (contract area only).
    contract: ContractChange | None = None
    #: Upgrade-note entries that explain the difference, strongest first.
    notes: list[NoteMatch] = field(default_factory=list)

    @property
    def before_value(self) -> Any:
        return self.before.value if self.before is not None else None

    @property
    def after_value(self) -> Any:
        return self.after.value if self.after is not None else None

    @property
    def explanation(self) -> Explanation:
        """``explained`` (an upgrade note names it), ``possibly related`` (only weak
        matches) or ``unexplained``."""
        if any(m.strong for m in self.notes):
            return "explained"
        return "possibly related" if self.notes else "unexplained"

    @property
    def source(self) -> str:
        obs = self.after or self.before
        return obs.source if obs is not None else "api"

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "key": self.key,
            "area": self.area,
            "entity": self.entity,
            "aspect": self.aspect,
            "kind": self.kind,
            "source": self.source,
            "expected": self.expected,
        }
        if self.before is not None:
            data["before"] = self.before.value
        if self.after is not None:
            data["after"] = self.after.value
        if self.reason is not None:
            data["reason"] = self.reason
        if self.contract is not None:
            data["contract"] = self.contract.to_json()
        data["explanation"] = self.explanation
        if self.notes:
            data["notes"] = [match.to_json() for match in self.notes]
        if self.visual is not None:
            data["visual"] = {
                "share": round(self.visual.share, 6),
                "summary": self.visual.summary(),
            }
        return data


@dataclass(frozen=True)
class Counts:
    added: int = 0
    removed: int = 0
    changed: int = 0
    expected: int = 0
    unexpected: int = 0
    unchanged: int = 0
    #: Differences an upgrade note explains, only possibly explains, or not at all.
    explained: int = 0
    possibly_related: int = 0
    unexplained: int = 0
    #: Unexpected differences an upgrade note explains.
    unexpected_explained: int = 0
    #: Web-service contract changes by severity.
    breaking: int = 0
    non_breaking: int = 0
    deprecation: int = 0

    @property
    def total(self) -> int:
        return self.added + self.removed + self.changed


@dataclass
class Comparison:
    """The differences between ``before`` and ``after``, sorted by key."""

    before: Snapshot
    after: Snapshot
    differences: list[Difference]
    unchanged: int
    #: Expected-change rules that matched no difference (a hint they are stale).
    unused_rules: list[str] = field(default_factory=list)
    #: Which upgrade notes explained the differences (see moodle_regress.notes), if any.
    notes_used: dict[str, Any] | None = None
    #: Every pair of screenshots compared, changed or not, by key.
    visual_checks: dict[str, VisualDiff] = field(default_factory=dict)

    def __iter__(self) -> Iterator[Difference]:
        return iter(self.differences)

    def __len__(self) -> int:
        return len(self.differences)

    @property
    def unexpected(self) -> list[Difference]:
        return [d for d in self.differences if not d.expected]

    def counts(self, area: str | None = None) -> Counts:
        diffs = [d for d in self.differences if area is None or d.area == area]
        kinds = Counter(d.kind for d in diffs)
        expected = sum(1 for d in diffs if d.expected)
        explained = Counter(d.explanation for d in diffs)
        severity = Counter(d.contract.severity for d in diffs if d.contract is not None)
        return Counts(
            added=kinds["added"],
            removed=kinds["removed"],
            changed=kinds["changed"],
            expected=expected,
            unexpected=len(diffs) - expected,
            unchanged=self.unchanged if area is None else 0,
            explained=explained["explained"],
            possibly_related=explained["possibly related"],
            unexplained=explained["unexplained"],
            unexpected_explained=sum(
                1 for d in diffs if not d.expected and d.explanation == "explained"
            ),
            breaking=severity["breaking"],
            non_breaking=severity["non-breaking"],
            deprecation=severity["deprecation"],
        )

    def areas(self) -> list[str]:
        return sorted({d.area for d in self.differences})

    def by_area(self) -> dict[str, dict[str, list[Difference]]]:
        """Differences grouped by area, then by entity, each group in key order."""
        grouped: dict[str, dict[str, list[Difference]]] = {}
        for diff in self.differences:
            parts = split_key(diff.key)
            grouped.setdefault(parts.area, {}).setdefault(parts.entity, []).append(diff)
        return grouped

    def to_json(self) -> dict[str, Any]:
        counts = self.counts()
        return {
            "before": self.before.meta.model_dump(mode="json"),
            "after": self.after.meta.model_dump(mode="json"),
            "counts": {
                "added": counts.added,
                "removed": counts.removed,
                "changed": counts.changed,
                "expected": counts.expected,
                "unexpected": counts.unexpected,
                "unchanged": counts.unchanged,
                "total": counts.total,
                "explained": counts.explained,
                "possibly_related": counts.possibly_related,
                "unexplained": counts.unexplained,
                "unexpected_explained": counts.unexpected_explained,
                "breaking": counts.breaking,
                "non_breaking": counts.non_breaking,
                "deprecation": counts.deprecation,
            },
            "notes": self.notes_used,
            "areas": {
                area: {entity: [d.to_json() for d in diffs] for entity, diffs in entities.items()}
                for area, entities in self.by_area().items()
            },
            "unused_expected_rules": list(self.unused_rules),
        }


def _same(a: Observation, b: Observation) -> bool:
    # == first (fast, and most observations are equal), then canonical JSON to
    # tell True from 1 and 1 from 1.0, which == confuses.
    return a.value == b.value and canonical(a.value) == canonical(b.value)


def compare(
    before: Snapshot,
    after: Snapshot,
    *,
    visual: bool = True,
    threshold: float | None = None,
    tolerance: int | None = None,
) -> Comparison:
    """Every key added, removed or changed from ``before`` to ``after``.

    ``visual`` compares screenshots attached to both sides (``threshold``: share of
    changed pixels above which a page counts as changed; ``tolerance``: per-channel
    difference below which a pixel is unchanged; the browser suite's defaults when
    None).  Each comparison of pictures is kept in ``visual_checks``.
    """
    result = Comparison(before, after, [], 0)
    pairs = _aligned(_in_key_order(before), _in_key_order(after))
    _compare_pairs(result, pairs, visual=visual, threshold=threshold, tolerance=tolerance)
    return result


#: Areas read whole after the comparison (the contract classification and the
#: upgrade-note matching look across them); site-wide facts (entity ``@site``) too.
WHOLE_AREAS = frozenset({"contract", "webservice", "plugins"})


def compare_files(
    before: Path,
    after: Path,
    *,
    visual: bool = True,
    threshold: float | None = None,
    tolerance: int | None = None,
) -> Comparison:
    """:func:`compare` of two snapshot files, streamed: the files are read side by side
    in key order, and only the differences, the :data:`WHOLE_AREAS` and site-wide
    facts are held, so two snapshots of a large site compare in bounded memory.

    The comparison's ``before`` and ``after`` hold just those observations (with
    their files' paths, for attachments).  A file not in key order (written by
    another tool) is loaded whole instead.
    """
    old, new = SnapshotReader(before), SnapshotReader(after)
    result = Comparison(Snapshot(old.meta, path=before), Snapshot(new.meta, path=after), [], 0)
    try:
        pairs = _kept(_aligned(old, new), result.before, result.after)
        _compare_pairs(result, pairs, visual=visual, threshold=threshold, tolerance=tolerance)
    except UnsortedSnapshotError:
        return compare(
            Snapshot.load(before),
            Snapshot.load(after),
            visual=visual,
            threshold=threshold,
            tolerance=tolerance,
        )
    for diff in result.differences:  # what the explanations look up
        if diff.before is not None:
            result.before.add(diff.before)
        if diff.after is not None:
            result.after.add(diff.after)
    return result


#: A key with its observation on each side (None where a side lacks it).
Pair = tuple[str, Observation | None, Observation | None]


def _in_key_order(snapshot: Snapshot) -> Iterator[Observation]:
    observations = snapshot.observations
    return (observations[key] for key in sorted(observations))


def _aligned(old: Iterable[Observation], new: Iterable[Observation]) -> Iterator[Pair]:
    """Two key-ordered streams side by side, key by key."""
    olds, news = iter(old), iter(new)
    a, b = next(olds, None), next(news, None)
    while a is not None or b is not None:
        if b is None or (a is not None and a.key < b.key):
            assert a is not None
            yield a.key, a, None
            a = next(olds, None)
        elif a is None or b.key < a.key:
            yield b.key, None, b
            b = next(news, None)
        else:
            yield a.key, a, b
            a, b = next(olds, None), next(news, None)


def _kept(pairs: Iterator[Pair], before: Snapshot, after: Snapshot) -> Iterator[Pair]:
    for key, a, b in pairs:
        parts = split_key(key)
        if parts.area in WHOLE_AREAS or parts.entity == SITE_ENTITY:
            if a is not None:
                before.add(a)
            if b is not None:
                after.add(b)
        yield key, a, b


def _compare_pairs(
    result: Comparison,
    pairs: Iterable[Pair],
    *,
    visual: bool,
    threshold: float | None,
    tolerance: int | None,
) -> None:
    for key, a, b in pairs:
        if a is None or b is None:
            kind: ChangeKind = "added" if a is None else "removed"
            result.differences.append(Difference(key, kind, a, b))
        else:
            pictures = (
                _compare_screenshots(
                    result.before, a, result.after, b, threshold=threshold, tolerance=tolerance
                )
                if visual and SCREENSHOT in a.attachments and SCREENSHOT in b.attachments
                else None
            )
            if pictures is not None:
                result.visual_checks[key] = pictures
            if _same(a, b) and (pictures is None or not pictures.exceeds):
                result.unchanged += 1
            else:
                result.differences.append(Difference(key, "changed", a, b, visual=pictures))


def _compare_screenshots(
    before: Snapshot,
    a: Observation,
    after: Snapshot,
    b: Observation,
    *,
    threshold: float | None,
    tolerance: int | None,
) -> VisualDiff | None:
    from moodle_regress.browser.visual import (
        DEFAULT_THRESHOLD,
        DEFAULT_TOLERANCE,
        ImageCompareError,
        compare_images,
    )

    old = before.attachment_path(a, SCREENSHOT)
    new = after.attachment_path(b, SCREENSHOT)
    if old is None or new is None or not old.is_file() or not new.is_file():
        return None  # the report says which picture is missing
    try:
        return compare_images(
            old,
            new,
            threshold=DEFAULT_THRESHOLD if threshold is None else threshold,
            tolerance=DEFAULT_TOLERANCE if tolerance is None else tolerance,
        )
    except ImageCompareError:
        return None
