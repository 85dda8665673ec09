"""Moodle's upgrade notes: parsed (:mod:`.parse`) and matched to differences (:mod:`.match`).

:func:`explain_upgrade` is the one call a comparison needs: the notes of the newer code
tree for every release after the older site's and up to the newer one's, matched to each
difference.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moodle_regress.compare import Comparison
from moodle_regress.notes.match import NoteMatch, NotesMatcher, explain
from moodle_regress.notes.parse import (
    NoteEntry,
    NotesError,
    load_notes,
    notes_between,
    release_key,
)
from moodle_regress.sandbox.codetree import inspect_tree
from moodle_regress.sandbox.errors import NotMoodleTreeError


@dataclass(frozen=True)
class NotesSelection:
    """The entries of a code tree's notes for the releases from ``after`` (excluded)
    up to ``upto``."""

    entries: list[NoteEntry]
    components: frozenset[str]
    tree_release: str
    after: str
    upto: str

    def describe(self) -> dict[str, Any]:
        files = Counter(Path(e.source).name for e in self.entries)
        releases = sorted({e.release for e in self.entries}, key=release_key)
        sources = ", ".join(f"{n} from {name}" for name, n in sorted(files.items()))
        return {
            "tree_release": self.tree_release,
            "after": self.after,
            "upto": self.upto,
            "entries": len(self.entries),
            "releases": releases,
            "files": dict(files),
            "summary": (
                f"{len(self.entries)} entries of the {self.tree_release} code's notes for "
                f"releases after {self.after} up to {self.upto}"
                + (f" ({sources})" if sources else "")
            ),
        }


def _short(release: str) -> str:
    return release.split("(", 1)[0].strip()


def select_notes(code_dir: Path, after: str, upto: str) -> NotesSelection:
    """The notes of the tree at ``code_dir`` for releases after ``after`` up to ``upto``."""
    try:
        tree = inspect_tree(code_dir)
    except NotMoodleTreeError as exc:
        raise NotesError(f"cannot read upgrade notes: {exc.message}", exc.fix) from None
    try:
        entries = notes_between(load_notes(tree), after, upto)
    except ValueError as exc:
        raise NotesError(
            f"cannot choose upgrade notes: {exc}",
            "compare snapshots that record their sites' releases",
        ) from None
    components = frozenset(name for name, _ in tree.components.values())
    return NotesSelection(entries, components, _short(tree.release), _short(after), _short(upto))


def explain_upgrade(comparison: Comparison, code_dir: Path) -> Comparison:
    """Match every difference to the notes of the newer tree (``code_dir``) between the
    two snapshots' releases."""
    before = comparison.before.meta.release
    after = comparison.after.meta.release
    if not before or not after:
        raise NotesError(
            "the snapshots carry no release: cannot choose upgrade notes",
            "compare snapshots taken by moodle-regress snapshot (they record the release)",
        )
    selection = select_notes(code_dir, before, after)
    return explain(
        comparison,
        selection.entries,
        components=selection.components,
        used=selection.describe(),
    )


__all__ = [
    "NoteEntry",
    "NoteMatch",
    "NotesError",
    "NotesMatcher",
    "NotesSelection",
    "explain",
    "explain_upgrade",
    "select_notes",
]
