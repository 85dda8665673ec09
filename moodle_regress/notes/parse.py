"""Moodle's upgrade notes, parsed into entries.

Two formats exist in a Moodle code tree:

* From 4.5 on, ``UPGRADING.md`` at the tree's root (every component, grouped
  ``## <release>`` / ``### <component>`` / ``#### Added|Changed|Deprecated|Removed|Fixed``)
  and in each component's directory (``# <component> Upgrade notes`` / ``## <release>`` /
  ``### <kind>``).  Each entry is a ``- `` list item, usually closed by
  ``For more information see [MDL-NNNNN](https://tracker.moodle.org/browse/MDL-NNNNN)``.
* Before 4.5, ``upgrade.txt`` in each component's directory: ``=== <release> ===``
  headings (sometimes several releases: ``=== 4.0.2, 4.1 ===``), entries as ``* `` items
  with indented continuation lines.  These carry no kind; it is inferred from the
  entry's words (see :func:`infer_kind`), and the tracker issue is the first
  ``MDL-NNNNN`` the text names, if any.

The same entry appears in the root ``UPGRADING.md`` and in its component's file:
:func:`load_notes` keeps one.  Only files in Moodle's own component directories are
read (``lib/components.json`` says which), so third-party libraries' notes are not.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from moodle_regress.errors import MoodleRegressError
from moodle_regress.sandbox.codetree import CodeTree

NoteKind = Literal["added", "changed", "deprecated", "removed", "fixed"]
NOTE_KINDS: tuple[NoteKind, ...] = ("added", "changed", "deprecated", "removed", "fixed")

TRACKER_URL = "https://tracker.moodle.org/browse/"
_ISSUE = re.compile(r"\bMDL-\d+\b")
_MORE_INFO = re.compile(r"^\s*For more information see\b.*$", re.M)
_RELEASE = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?(\+)?")
_MD_TITLE = re.compile(r"^#\s+(\S+)(?:\s+\([^)]*\))?\s+Upgrade notes\s*$", re.I)
_TXT_HEADING = re.compile(r"^===\s*(.*?)\s*===\s*$")

#: A release as a sortable key: "5.0.6+" -> (5, 0, 6, 1); "4.5" -> (4, 5, 0, 0).
ReleaseKey = tuple[int, int, int, int]


class NotesError(MoodleRegressError):
    """The upgrade notes of a code tree cannot be read."""


def release_key(text: str) -> ReleaseKey:
    """ "5.0.6+ (Build: 20260403)" -> (5, 0, 6, 1); raises ValueError when no release."""
    match = _RELEASE.search(text)
    if match is None:
        raise ValueError(f"not a Moodle release: {text!r}")
    major, minor, patch, plus = match.groups()
    return (int(major), int(minor), int(patch or 0), 1 if plus else 0)


def releases_in(heading: str) -> tuple[ReleaseKey, ...]:
    """Every release a heading names: "4.0.2, 4.1" -> ((4, 0, 2, 0), (4, 1, 0, 0))."""
    return tuple(release_key(m.group(0)) for m in _RELEASE.finditer(heading))


@dataclass(frozen=True)
class NoteEntry:
    """One entry of Moodle's upgrade notes."""

    #: The release heading as written ("5.0", "5.0.6+", "4.0.2, 4.1").
    release: str
    component: str
    kind: NoteKind
    text: str
    #: Tracker issues the entry names, the one it refers to for more information first.
    issues: tuple[str, ...] = ()
    #: The notes file, relative to the code tree.
    source: str = ""
    #: True when the kind was inferred from the words (upgrade.txt has no kinds).
    kind_inferred: bool = False

    @property
    def issue(self) -> str | None:
        return self.issues[0] if self.issues else None

    @property
    def url(self) -> str | None:
        return TRACKER_URL + self.issues[0] if self.issues else None

    @property
    def first_release(self) -> ReleaseKey:
        """The earliest release the heading names (a change backported to 4.0.2 and
        made in 4.1 reached a 4.0.5 site already)."""
        return min(releases_in(self.release))

    def to_json(self) -> dict[str, object]:
        return {
            "release": self.release,
            "component": self.component,
            "kind": self.kind,
            "text": self.text,
            "issue": self.issue,
            "url": self.url,
            "source": self.source,
        }


def infer_kind(text: str) -> NoteKind:
    """The kind of an upgrade.txt entry, from its words, first rule that applies:
    removed ("removed", "deleted", "no longer"), deprecated, added ("added", "new"),
    fixed ("fixed"), else changed."""
    lowered = text.lower()
    if (
        re.search(r"\b(?:removed|deleted|no longer)\b", lowered)
        and "will be removed" not in lowered
    ):
        return "removed"
    if "deprecat" in lowered:
        return "deprecated"
    if re.search(r"\b(?:added|new)\b", lowered):
        return "added"
    if re.search(r"\bfixed\b", lowered):
        return "fixed"
    return "changed"


def _issues(text: str) -> tuple[str, ...]:
    """Issues named in ``text``, the "For more information see" one first."""
    more = _MORE_INFO.search(text)
    first = _ISSUE.findall(more.group(0)) if more else []
    return tuple(dict.fromkeys([*first, *_ISSUE.findall(text)]))


def _clean(lines: Iterable[str]) -> str:
    text = "\n".join(line.rstrip() for line in lines)
    text = _MORE_INFO.sub("", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _kind_heading(title: str) -> NoteKind | None:
    lowered = title.strip().lower()
    return lowered if lowered in NOTE_KINDS else None


@dataclass
class _MdState:
    release: str | None = None
    component: str | None = None
    kind: NoteKind | None = None


def parse_upgrading_md(
    text: str, *, source: str = "UPGRADING.md", component: str | None = None
) -> list[NoteEntry]:
    """Entries of one ``UPGRADING.md`` (the root one, or a component's)."""
    lines = text.splitlines()
    title = next((_MD_TITLE.match(line) for line in lines if line.startswith("# ")), None)
    default = title.group(1) if title else component
    state = _MdState(component=default)
    entries: list[NoteEntry] = []
    current: list[str] | None = None

    def close() -> None:
        nonlocal current
        if current is not None and state.release and state.component and state.kind:
            body = "\n".join(current)
            cleaned = _clean(current)
            if cleaned:
                entries.append(
                    NoteEntry(
                        state.release, state.component, state.kind, cleaned, _issues(body), source
                    )
                )
        current = None

    for line in lines:
        heading = re.match(r"^(#{2,4})\s+(.*?)\s*$", line)
        if heading:
            close()
            _md_heading(state, len(heading.group(1)), heading.group(2), default)
        elif line.startswith("- "):
            close()
            current = [line[2:]]
        elif current is not None:
            current.append(line[2:] if line.startswith("  ") else line)
    close()
    return entries


def _md_heading(state: _MdState, level: int, title: str, default: str | None) -> None:
    if level == 2:
        state.release = title if releases_in(title) else None
        state.component, state.kind = default, None
    elif level == 3:
        kind = _kind_heading(title)
        if kind is not None:  # a component's own file: ### Added
            state.kind = kind
        else:  # the root file: ### mod_choice
            state.component, state.kind = title.strip("` "), None
    else:
        state.kind = _kind_heading(title)


def parse_upgrade_txt(text: str, *, component: str, source: str = "upgrade.txt") -> list[NoteEntry]:
    """Entries of one ``upgrade.txt`` (releases before 4.5)."""
    entries: list[NoteEntry] = []
    release: str | None = None
    current: list[str] | None = None

    def close() -> None:
        nonlocal current
        if current is not None and release is not None:
            cleaned = _clean(current)
            if cleaned:
                kind = infer_kind(cleaned)
                body = "\n".join(current)
                entries.append(
                    NoteEntry(release, component, kind, cleaned, _issues(body), source, True)
                )
        current = None

    for line in text.splitlines():
        heading = _TXT_HEADING.match(line)
        if heading:
            close()
            title = heading.group(1)
            # "=== 4.5 Onwards ===" and "=== earlier versions ===" hold no entries.
            plain = bool(releases_in(title)) and not re.search(r"[A-Za-z]{4,}", title)
            release = title if plain else None
        elif re.match(r"^[*-] ", line):
            close()
            current = [line[2:]]
        elif line.strip() and current is None and release is not None:
            current = [line]  # a paragraph without a bullet
        elif current is not None:
            current.append(line)
    close()
    return entries


def _component_for(tree: CodeTree, directory: Path) -> str | None:
    if directory == tree.root:
        return "core"
    found = tree.components.get(directory)
    return found[0] if found else None


def _notes_files(tree: CodeTree) -> Iterator[tuple[Path, str]]:
    """(file, component) for each notes file in Moodle's own directories."""
    directories = [tree.root, *tree.components]
    for directory in dict.fromkeys(directories):
        component = _component_for(tree, directory)
        if component is None:
            continue
        for name in ("UPGRADING.md", "upgrade.txt"):
            path = directory / name
            if path.is_file():
                yield path, component


def load_notes(tree: CodeTree) -> list[NoteEntry]:
    """Every entry of the tree's upgrade notes, each once."""
    seen: set[tuple[str, str, str, str]] = set()
    entries: list[NoteEntry] = []
    for path, component in _notes_files(tree):
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise NotesError(
                f"cannot read {path}: {exc.strerror}", "check the code tree's permissions"
            ) from None
        source = str(path.relative_to(tree.root))
        if path.name == "UPGRADING.md":
            parsed = parse_upgrading_md(text, source=source, component=component)
        else:
            parsed = parse_upgrade_txt(text, component=component, source=source)
        for entry in parsed:
            identity = (entry.release, entry.component, entry.kind, entry.text)
            if identity not in seen:
                seen.add(identity)
                entries.append(entry)
    return entries


def notes_between(entries: Iterable[NoteEntry], after: str, upto: str) -> list[NoteEntry]:
    """Entries of releases after ``after`` and up to ``upto`` (site releases such as
    "4.5.6 (Build: 20250811)" or "5.0.6+")."""
    low, high = release_key(after), release_key(upto)
    return [e for e in entries if low < e.first_release <= high]
