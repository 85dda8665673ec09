"""A preflight shown to people: a table in the terminal, a section of the HTML report."""

from __future__ import annotations

import html

from rich.console import Console
from rich.table import Table

from moodle_regress.preflight.checks import describe_usage
from moodle_regress.preflight.model import PluginFate, PreflightReport
from moodle_regress.sandbox.codetree import short_release

_COLOURS = {"ok": "green", "warning": "yellow", "blocker": "red"}
#: Plugins worth a row of their own: what the upgrade takes away or refuses.
SHOWN_FATES = ("refused", "uninstalled", "dropped", "missing")


def print_preflight(report: PreflightReport, console: Console, *, all_checks: bool = False) -> None:
    """The checks (only warnings and blockers unless ``all_checks``), the plugins that
    go, and the verdict."""
    table = Table(
        title=f"preflight {short_release(report.source.release)} -> "
        f"{short_release(report.target.release)}"
    )
    table.add_column("verdict")
    table.add_column("area")
    table.add_column("check")
    table.add_column("cause", overflow="fold", max_width=70)
    table.add_column("fix", overflow="fold", max_width=50)
    for check in report.checks:
        if check.verdict == "ok" and not all_checks:
            continue
        colour = _COLOURS[check.verdict]
        table.add_row(
            f"[{colour}]{check.verdict}[/]", check.area, check.title, check.cause, check.fix
        )
    if table.row_count:
        console.print(table)
    gone = shown_plugins(report)
    if gone:
        console.print(_plugins_table(gone))
    for note in report.notes:
        console.print(f"[dim]{note}[/]")
    colour = _COLOURS[report.verdict]
    console.print(f"[{colour}]preflight: {report.summary()}[/] ({report.seconds:.1f} s)")


def shown_plugins(report: PreflightReport) -> list[PluginFate]:
    """The plugins worth a row: those that go or block, subplugins folded into one row
    per type."""
    shown: list[PluginFate] = []
    groups: dict[str, list[PluginFate]] = {}
    for plugin in report.plugins:
        if plugin.fate not in SHOWN_FATES:
            continue
        if plugin.group is not None:
            groups.setdefault(plugin.group, []).append(plugin)
        else:
            shown.append(plugin)
    for group, members in sorted(groups.items()):
        shown.append(
            PluginFate(component=f"{group}_* ({len(members)} plugins)", fate=members[0].fate)
        )
    return shown


def _plugins_table(plugins: list[PluginFate]) -> Table:
    table = Table(title="plugins the upgrade removes, leaves without code, or refuses")
    table.add_column("plugin")
    table.add_column("fate")
    table.add_column("site", justify="right")
    table.add_column("target", justify="right")
    table.add_column("what goes with it", overflow="fold", max_width=60)
    for plugin in plugins:
        table.add_row(
            plugin.component,
            plugin.fate,
            plugin.site_release or plugin.site_version or "",
            plugin.target_release or plugin.target_version or "",
            describe_usage(plugin.usage),
        )
    return table


_CSS = """
section.preflight { border: 1px solid var(--line, #dee2e6); border-radius: 6px; padding: 4px 14px;
  margin: 12px 0; } section.preflight h2 { margin-top: 8px; }
section.preflight table { border-collapse: collapse; margin: 6px 0; }
section.preflight td, section.preflight th { border: 1px solid var(--line, #dee2e6);
  padding: 3px 8px; text-align: left; vertical-align: top; }
.verdict-ok { color: #1e7e34; } .verdict-warning { color: #9a6700; font-weight: 600; }
.verdict-blocker { color: #c5221f; font-weight: 700; }
"""


def _e(value: object) -> str:
    return html.escape(str(value if value is not None else ""), quote=True)


def preflight_html(report: PreflightReport) -> str:
    """The preflight as a ``<section>`` for the top of the HTML report."""
    checks = "".join(
        f"<tr><td class='verdict-{c.verdict}'>{_e(c.verdict)}</td><td>{_e(c.area)}</td>"
        f"<td>{_e(c.title)}</td><td>{_e(c.cause)}</td><td>{_e(c.fix)}</td></tr>"
        for c in report.checks
        if c.verdict != "ok"
    )
    plugins = "".join(
        f"<tr><td>{_e(p.component)}</td><td>{_e(p.fate)}</td>"
        f"<td>{_e(p.site_release or p.site_version)}</td>"
        f"<td>{_e(p.target_release or p.target_version)}</td>"
        f"<td>{_e(describe_usage(p.usage))}</td>{_activities(p)}</tr>"
        for p in shown_plugins(report)
    )
    counts = {fate: len(report.fates(fate)) for fate in ("installed", "upgraded", "kept")}
    parts = [
        f"<section class='preflight' id='preflight'><style>{_CSS}</style>",
        f"<h2>Preflight: <span class='verdict-{report.verdict}'>{_e(report.verdict)}</span></h2>",
        f"<p>{_e(report.summary())}; plugins installed {counts['installed']}, upgraded "
        f"{counts['upgraded']}, unchanged {counts['kept']}.</p>",
    ]
    if checks:
        # Warnings alone fold away (the plugins table below says the same); blockers show.
        state = " open" if report.blockers else ""
        parts.append(
            f"<details{state}><summary>{len(report.blockers)} blockers, "
            f"{len(report.warnings)} warnings</summary>"
            "<table><tr><th>verdict</th><th>area</th><th>check</th><th>cause</th><th>fix</th></tr>"
            f"{checks}</table></details>"
        )
    if plugins:
        parts.append(
            "<table><tr><th>plugin</th><th>fate</th><th>site</th><th>target</th>"
            f"<th>what goes with it</th><th>activities per course</th></tr>{plugins}</table>"
        )
    parts.extend(f"<p class='reason'>{_e(note)}</p>" for note in report.notes)
    parts.append("</section>")
    return "".join(parts)


def _activities(plugin: PluginFate) -> str:
    activities = plugin.usage.get("activities") or {}
    text = ", ".join(f"{course}: {n}" for course, n in sorted(activities.items()))
    return f"<td>{_e(text)}</td>"
