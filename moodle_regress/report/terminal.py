"""The terminal summary: counts per area, then the unexpected differences."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from moodle_regress.compare import Comparison, Difference

KIND_STYLE = {"added": "green", "removed": "red", "changed": "yellow"}


def _short(value: Any, width: int = 60) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _line(diff: Difference) -> Text:
    # Text objects, never markup strings: values come from the site.
    line = Text("  ")
    line.append(f"{diff.kind:<8}", style=KIND_STYLE[diff.kind])
    line.append(diff.key)
    if diff.kind == "changed":
        line.append(f"  {_short(diff.before_value)}", style="dim")
        line.append(" → ")
        line.append(_short(diff.after_value))
    elif diff.kind == "added":
        line.append(f"  {_short(diff.after_value)}")
    if diff.visual is not None:
        line.append(f"  [{diff.visual.summary()}]", style="magenta")
    if diff.contract is not None:
        style = "bold red" if diff.contract.severity == "breaking" else "cyan"
        line.append(f"  [{diff.contract.severity}: {diff.contract.change}]", style=style)
    issues = [m.entry.issue for m in diff.notes if m.strong and m.entry.issue]
    if issues:
        line.append(f"  [explained: {', '.join(dict.fromkeys(issues))}]", style="green")
    elif diff.notes:
        line.append("  [possibly related note]", style="dim")
    return line


_WHOLE_FUNCTION = ("function added", "function removed")


def fold_whole_functions(diffs: list[Difference]) -> list[Difference | list[Difference]]:
    """The differences, those of a function added or removed as a whole as one group
    (one line says what its many keys say)."""
    items: list[Difference | list[Difference]] = []
    for diff in diffs:
        whole = diff.contract is not None and diff.contract.change in _WHOLE_FUNCTION
        last = items[-1] if items else None
        if whole and isinstance(last, list) and last[0].entity == diff.entity:
            last.append(diff)
        else:
            items.append([diff] if whole else diff)
    return items


def _folded_line(group: list[Difference]) -> Text:
    first = group[0]
    line = Text("  ")
    line.append(f"{first.kind:<8}", style=KIND_STYLE[first.kind])
    line.append(f"{first.area}/{first.entity}/** ({len(group)} keys)")
    issues = dict.fromkeys(m.entry.issue for d in group for m in d.notes if m.strong)
    if first.contract is not None:
        style = "bold red" if first.contract.severity == "breaking" else "cyan"
        line.append(f"  [{first.contract.severity}: {first.contract.change}]", style=style)
    if any(issues):
        line.append(f"  [explained: {', '.join(i for i in issues if i)}]", style="green")
    return line


def _contract_and_notes(comparison: Comparison, console: Console) -> None:
    """The contract severities and how many differences the upgrade notes explain."""
    total = comparison.counts()
    if any(d.contract is not None for d in comparison.differences):
        console.print(
            f"web-service contract: {total.breaking} breaking, {total.non_breaking} "
            f"non-breaking, {total.deprecation} deprecation(s)"
        )
    used = comparison.notes_used
    if used is not None:
        console.print(
            f"upgrade notes ({used.get('summary', '')}): {total.explained} explained, "
            f"{total.possibly_related} possibly related, {total.unexplained} unexplained; "
            f"{total.unexpected_explained} of {total.unexpected} unexpected explained"
        )


def print_summary(comparison: Comparison, console: Console, *, limit: int = 40) -> None:
    """Counts per area and the first ``limit`` unexpected differences."""
    before, after = comparison.before.meta, comparison.after.meta
    console.print(
        Text.assemble(
            ("Compared ", "bold"),
            f"{before.site_name or before.site_url or 'before'} ({before.release or '?'})",
            (" → ", "bold"),
            f"{after.site_name or after.site_url or 'after'} ({after.release or '?'})",
        )
    )
    table = Table(show_edge=False, pad_edge=False)
    table.add_column("area")
    for name in ("added", "removed", "changed", "expected", "unexpected"):
        table.add_column(name, justify="right")
    for area in comparison.areas():
        counts = comparison.counts(area)
        table.add_row(
            Text(area),
            str(counts.added),
            str(counts.removed),
            str(counts.changed),
            str(counts.expected),
            Text(str(counts.unexpected), style="bold red" if counts.unexpected else ""),
        )
    total = comparison.counts()
    table.add_row(
        Text("all", style="bold"),
        str(total.added),
        str(total.removed),
        str(total.changed),
        str(total.expected),
        Text(str(total.unexpected), style="bold red" if total.unexpected else "bold green"),
    )
    if total.total:
        console.print(table)
    console.print(
        f"{total.total} difference(s): {total.expected} expected, {total.unexpected} "
        f"unexpected; {total.unchanged} observation(s) unchanged"
    )
    _contract_and_notes(comparison, console)
    unexpected = fold_whole_functions(comparison.unexpected)
    if unexpected:
        console.print(Text("Unexpected differences:", style="bold red"))
        for item in unexpected[:limit]:
            line = _line(item) if isinstance(item, Difference) else _folded_line(item)
            console.print(line, soft_wrap=True)
        if len(unexpected) > limit:
            console.print(f"  … and {len(unexpected) - limit} more (see the HTML or JSON report)")
    for rule in comparison.unused_rules:
        console.print(Text(f"expected-changes rule matched nothing: {rule}", style="dim"))
