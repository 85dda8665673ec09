"""The HTML report: one self-contained file a person reads at a glance.

Everything is inline (CSS, a little JavaScript, images as ``data:`` URIs); a
Content-Security-Policy forbids loading anything else.  Every value comes from a
site and is escaped; values never reach the script (filters read ``data-``
attributes the server wrote, escaped).
"""

from __future__ import annotations

import base64
import difflib
import html
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from moodle_regress import __version__
from moodle_regress.compare import SCREENSHOT, Comparison, Difference
from moodle_regress.files import write_atomic
from moodle_regress.observation import Observation
from moodle_regress.snapshot import Snapshot, SnapshotMeta

#: Image types embedded, by their first bytes.  SVG is not embedded: it is text
#: from the site and could carry markup.
_MAGIC = {
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
    b"GIF87a": "image/gif",
    b"GIF89a": "image/gif",
}
_DIFF_ATTACHMENT = "difference"

_CSS = """
:root { --bg:#fff; --fg:#1d2125; --muted:#6a737b; --line:#dee2e6; --add:#e6f4ea;
  --rem:#fce8e6; --chg:#fff4d6; --ok:#1e7e34; --bad:#c5221f; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0;
  color: var(--fg); background: var(--bg); }
header, main { padding: 12px 24px; }
header { border-bottom: 1px solid var(--line); background: #f8f9fa; }
h1 { font-size: 20px; margin: 4px 0 8px; }
h2 { font-size: 17px; margin: 24px 0 8px; border-bottom: 2px solid var(--line); }
h3 { font-size: 15px; margin: 16px 0 6px; font-family: ui-monospace, monospace; }
table.meta td, table.meta th { padding: 2px 12px 2px 0; text-align: left; }
.cards { display: flex; flex-wrap: wrap; gap: 8px; margin: 12px 0; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 6px 14px; min-width: 96px; }
.card b { display: block; font-size: 22px; }
.card.unexpected b, .card.breaking b { color: var(--bad); }
.card.unexpected.none b { color: var(--ok); }
table.areas { border-collapse: collapse; margin: 8px 0; }
table.areas td, table.areas th { border: 1px solid var(--line); padding: 3px 10px;
  text-align: right; } table.areas td:first-child { text-align: left; }
.filters { position: sticky; top: 0; background: var(--bg); padding: 8px 0;
  border-bottom: 1px solid var(--line); display: flex; gap: 12px; flex-wrap: wrap;
  align-items: center; z-index: 1; }
.diff { border: 1px solid var(--line); border-radius: 6px; margin: 6px 0; padding: 6px 10px; }
.diff.added { background: var(--add); } .diff.removed { background: var(--rem); }
.diff.changed { background: var(--chg); }
.diff .head { display: flex; gap: 10px; align-items: baseline; flex-wrap: wrap; }
.key { font-family: ui-monospace, monospace; font-weight: 600; }
.badge { border-radius: 10px; padding: 0 8px; font-size: 12px; border: 1px solid #0002; }
.badge.expected { background: #d7f0dd; } .badge.unexpected { background: #f9d1cf; }
.reason { color: var(--muted); font-style: italic; }
.sides { display: grid; grid-template-columns: 1fr 1fr; gap: 8px; margin-top: 6px; }
.sides > div { min-width: 0; }
.sides h4, .images h4 { margin: 0 0 2px; font-size: 12px; color: var(--muted); }
pre { margin: 0; padding: 6px; background: #fff; border: 1px solid var(--line);
  border-radius: 4px; white-space: pre-wrap; word-break: break-word; max-height: 360px;
  overflow: auto; font-size: 12px; }
pre.textdiff .ins { background: #c9f0d0; } pre.textdiff .del { background: #f7c6c2; }
.absent { color: var(--muted); font-style: italic; }
.images { display: grid; grid-template-columns: repeat(3, 1fr); gap: 8px; margin-top: 6px; }
.images img { max-width: 100%; border: 1px solid var(--line); }
.visual { color: #7b1fa2; font-size: 12px; }
.badge.breaking { background: #f9d1cf; font-weight: 600; }
.badge.non-breaking { background: #d7f0dd; }
.badge.deprecation { background: #ffe3b3; }
.notes { margin-top: 6px; border-left: 3px solid #6a8caf; padding: 2px 8px; background: #f4f8fc; }
.notes.possibly { border-left-color: #b0b7bf; background: #f8f9fa; }
.notes h4 { margin: 0; font-size: 12px; color: var(--muted); }
.notes p { margin: 2px 0; white-space: pre-wrap; font-size: 13px; }
.hidden { display: none !important; }
details.entity > summary { cursor: pointer; margin: 10px 0 4px; }
details.entity > summary h3 { display: inline; }
footer { color: var(--muted); padding: 12px 24px; font-size: 12px; }
"""

_JS = """
(function () {
  var area = document.getElementById('f-area'), exp = document.getElementById('f-expected'),
      kind = document.getElementById('f-kind'), text = document.getElementById('f-text'),
      con = document.getElementById('f-contract'), why = document.getElementById('f-explanation'),
      shown = document.getElementById('shown');
  function apply() {
    var a = area.value, e = exp.value, k = kind.value, t = text.value.toLowerCase(), n = 0,
        c = con.value, w = why.value;
    document.querySelectorAll('.diff').forEach(function (el) {
      var ok = (!a || el.dataset.area === a) && (!e || el.dataset.expected === e) &&
               (!k || el.dataset.kind === k) &&
               (!c || el.dataset.contract === c) && (!w || el.dataset.explanation === w) &&
               (!t || el.dataset.key.toLowerCase().indexOf(t) >= 0);
      el.classList.toggle('hidden', !ok); if (ok) { n++; }
    });
    document.querySelectorAll('.entity, .area').forEach(function (group) {
      group.classList.toggle('hidden', !group.querySelector('.diff:not(.hidden)'));
    });
    shown.textContent = String(n);
  }
  [area, exp, kind, con, why].forEach(function (el) { el.addEventListener('change', apply); });
  text.addEventListener('input', apply);
  apply();
})();
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _pretty(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)


def _value_block(title: str, obs: Observation | None) -> str:
    if obs is None:
        return f"<div><h4>{_e(title)}</h4><p class='absent'>absent</p></div>"
    return f"<div><h4>{_e(title)}</h4><pre>{_e(_pretty(obs.value))}</pre></div>"


def _text_diff(before: Any, after: Any) -> str:
    """A line diff for values of several lines, where side by side is hard to read."""
    old = _pretty(before).splitlines()
    new = _pretty(after).splitlines()
    if len(old) < 4 and len(new) < 4:
        return ""
    lines = []
    for line in difflib.unified_diff(old, new, "before", "after", lineterm="", n=2):
        css = "ins" if line.startswith("+") else "del" if line.startswith("-") else ""
        lines.append(f"<span class='{css}'>{_e(line)}</span>" if css else _e(line))
    return "<h4>line difference</h4><pre class='textdiff'>" + "\n".join(lines) + "</pre>"


def data_uri(data: bytes) -> str | None:
    """``data:`` URI of a raster image, or None when the bytes are no known image type."""
    for magic, mime in _MAGIC.items():
        if data.startswith(magic):
            return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return f"data:image/webp;base64,{base64.b64encode(data).decode('ascii')}"
    return None


def _image(snapshot: Snapshot, obs: Observation | None, name: str) -> tuple[str | None, str]:
    """(data URI or None, note) for an observation's attachment."""
    if obs is None or name not in obs.attachments:
        return None, ""
    path = snapshot.attachment_path(obs, name)
    if path is None or not path.is_file():
        return None, f"{name} missing: {path}"
    uri = data_uri(path.read_bytes())
    return (uri, "") if uri else (None, f"{name} is not a PNG, JPEG, GIF or WebP image")


def _figure(title: str, uri: str | None, note: str) -> str:
    if uri is None:
        body = f"<p class='absent'>{_e(note or 'none')}</p>"
    else:
        body = f"<img alt='{_e(title)}' src='{uri}'>"
    return f"<figure><h4>{_e(title)}</h4>{body}</figure>"


def _images(comparison: Comparison, diff: Difference) -> str:
    has = any(o is not None and SCREENSHOT in o.attachments for o in (diff.before, diff.after))
    if not has:
        return ""
    before_uri, before_note = _image(comparison.before, diff.before, SCREENSHOT)
    after_uri, after_note = _image(comparison.after, diff.after, SCREENSHOT)
    diff_uri, diff_note = _image(comparison.after, diff.after, _DIFF_ATTACHMENT)
    if diff_uri is None and diff.visual is not None:
        png = diff.visual.diff_png()
        diff_uri = data_uri(png) if png else None
    visual = f"<p class='visual'>{_e(diff.visual.summary())}</p>" if diff.visual else ""
    return (
        visual
        + "<div class='images'>"
        + _figure("before", before_uri, before_note)
        + _figure("after", after_uri, after_note)
        + _figure("difference", diff_uri, diff_note or "no difference image")
        + "</div>"
    )


def _contract_badge(diff: Difference) -> str:
    if diff.contract is None:
        return ""
    severity = diff.contract.severity
    return (
        f"<span class='badge {severity}' title='web-service contract'>{_e(severity)}</span> "
        f"<span class='reason'>{_e(diff.contract.change)}</span>"
    )


def _notes(diff: Difference) -> str:
    """The upgrade-note entries beside a difference: text, release and tracker link."""
    parts = []
    for match in diff.notes:
        entry = match.entry
        link = (
            f" <a href='{_e(entry.url)}' rel='noopener noreferrer' target='_blank'>"
            f"{_e(entry.issue)}</a>"
            if entry.url
            else ""
        )
        parts.append(
            f"<div class='notes{'' if match.strong else ' possibly'}'>"
            f"<h4>{_e(match.strength)}: upgrade note of {_e(entry.component)}, "
            f"{_e(entry.release)}, {_e(entry.kind)}{link} "
            f"<span class='reason'>({_e(match.rule)}; {_e(entry.source)})</span></h4>"
            f"<p>{_e(entry.text)}</p></div>"
        )
    return "".join(parts)


def _difference(comparison: Comparison, diff: Difference) -> str:
    expected = "yes" if diff.expected else "no"
    badge = (
        "<span class='badge expected'>expected</span> "
        f"<span class='reason'>{_e(diff.reason)}</span>"
        if diff.expected
        else "<span class='badge unexpected'>unexpected</span>"
    )
    sides = (
        "<div class='sides'>"
        + _value_block(f"before ({comparison.before.meta.release or 'before'})", diff.before)
        + _value_block(f"after ({comparison.after.meta.release or 'after'})", diff.after)
        + "</div>"
    )
    extra = _text_diff(diff.before_value, diff.after_value) if diff.kind == "changed" else ""
    contract = diff.contract.severity if diff.contract is not None else "none"
    return (
        f"<article class='diff {diff.kind}' data-area='{_e(diff.area)}' "
        f"data-expected='{expected}' data-kind='{diff.kind}' data-key='{_e(diff.key)}' "
        f"data-contract='{contract}' data-explanation='{_e(diff.explanation)}'>"
        f"<div class='head'><span class='key'>{_e(diff.aspect)}</span>"
        f"<span class='badge'>{diff.kind}</span> {_contract_badge(diff)} {badge}"
        f"<span class='reason'>{_e(diff.source)}</span></div>"
        f"{_notes(diff)}{sides}{extra}{_images(comparison, diff)}</article>"
    )


_WHOLE_FUNCTION = ("function added", "function removed")


def _entity(comparison: Comparison, entity: str, diffs: list[Difference]) -> str:
    """One entity's differences; a function added or removed as a whole is folded
    under one line (its keys say the same thing)."""
    inner = "".join(_difference(comparison, d) for d in diffs)
    changes = {d.contract.change if d.contract is not None else None for d in diffs}
    if len(changes) != 1 or next(iter(changes)) not in _WHOLE_FUNCTION:
        return f"<div class='entity'><h3>{_e(entity)}</h3>{inner}</div>"
    first = diffs[0]
    issues = dict.fromkeys(m.entry.issue for d in diffs for m in d.notes if m.strong)
    verdicts = {d.expected for d in diffs}
    summary = (
        f"<h3>{_e(entity)}</h3> {_contract_badge(first)} ({len(diffs)} keys)"
        + (
            f" <span class='badge expected'>explained: {_e(', '.join(filter(None, issues)))}</span>"
            if issues
            else ""
        )
        + ("" if verdicts != {False} else " <span class='badge unexpected'>unexpected</span>")
    )
    return f"<details class='entity'><summary>{summary}</summary>{inner}</details>"


def _meta_row(label: str, before: SnapshotMeta, after: SnapshotMeta, field: str) -> str:
    a = getattr(before, field, "") or ""
    b = getattr(after, field, "") or ""
    return f"<tr><th>{_e(label)}</th><td>{_e(a)}</td><td>{_e(b)}</td></tr>"


def _extra_cards(comparison: Comparison) -> list[tuple[str, int, str]]:
    """Contract severities when the contract was compared, explanations when notes were read."""
    counts = comparison.counts()
    cards: list[tuple[str, int, str]] = []
    if any(d.contract is not None for d in comparison.differences):
        cards += [
            ("breaking", counts.breaking, "breaking"),
            ("non-breaking", counts.non_breaking, ""),
            ("deprecations", counts.deprecation, ""),
        ]
    if comparison.notes_used is not None:
        cards += [
            ("explained", counts.explained, ""),
            ("possibly related", counts.possibly_related, ""),
            ("unexplained", counts.unexplained, ""),
            ("unexpected explained", counts.unexpected_explained, ""),
        ]
    return cards


def _notes_line(comparison: Comparison) -> str:
    used = comparison.notes_used
    if used is None:
        return "<p class='reason' id='notes-used'>No upgrade notes were read.</p>"
    return f"<p class='reason' id='notes-used'>Upgrade notes: {_e(used.get('summary', ''))}</p>"


def _notes_html(comparison: Comparison) -> str:
    """What the observers could not see, on either side."""
    rows = [
        f"<li><b>{side}:</b> {_e(note)}</li>"
        for side, meta in (("before", comparison.before.meta), ("after", comparison.after.meta))
        for note in meta.notes
    ]
    return f"<h2>Not observed</h2><ul class='notes'>{''.join(rows)}</ul>" if rows else ""


def _adhoc_html(tasks: Sequence[Mapping[str, Any]]) -> str:
    """The ad hoc tasks run after the upgrade, as cron would have run them."""
    if not tasks:
        return ""
    rows = "".join(
        f"<tr><td>{_e(str(t['classname']))}</td><td>{t['ran']}</td><td>{t['complete']}</td>"
        f"<td>{t['failed']}</td><td>{float(t['seconds']):.2f}</td></tr>"
        for t in tasks
    )
    return (
        "<h2>Ad hoc tasks run after the upgrade</h2><table class='areas adhoc'><tr>"
        "<th>task</th><th>ran</th><th>complete</th><th>failed</th><th>seconds</th></tr>"
        f"{rows}</table>"
    )


def render_html(
    comparison: Comparison,
    *,
    title: str | None = None,
    adhoc_tasks: Sequence[Mapping[str, Any]] = (),
    preface: str = "",
) -> str:
    """The report as one HTML document; ``adhoc_tasks`` as
    ``AdhocResult.by_class()`` gives them, for a rehearsal; ``preface`` (HTML the tool
    wrote, such as the preflight's section) goes at the top of the main part."""
    before, after = comparison.before.meta, comparison.after.meta
    counts = comparison.counts()
    heading = title or (f"What changed: {before.release or 'before'} → {after.release or 'after'}")
    areas = comparison.areas()
    area_rows = "".join(
        f"<tr><td>{_e(area)}</td><td>{c.added}</td><td>{c.removed}</td><td>{c.changed}</td>"
        f"<td>{c.expected}</td><td>{c.unexpected}</td></tr>"
        for area in areas
        for c in [comparison.counts(area)]
    )
    cards = "".join(
        f"<div class='card {css}' data-count='{name}'><b>{value}</b>{_e(name)}</div>"
        for name, value, css in (
            ("differences", counts.total, ""),
            ("added", counts.added, ""),
            ("removed", counts.removed, ""),
            ("changed", counts.changed, ""),
            ("expected", counts.expected, ""),
            (
                "unexpected",
                counts.unexpected,
                "unexpected" + ("" if counts.unexpected else " none"),
            ),
            ("unchanged", counts.unchanged, ""),
            *_extra_cards(comparison),
        )
    )
    options = "".join(f"<option value='{_e(a)}'>{_e(a)}</option>" for a in areas)
    body: list[str] = []
    for area, entities in comparison.by_area().items():
        body.append(f"<section class='area' data-area='{_e(area)}'><h2>{_e(area)}</h2>")
        for entity, diffs in entities.items():
            body.append(_entity(comparison, entity, diffs))
        body.append("</section>")
    if not comparison.differences:
        body.append("<p id='nodiff'>No differences: every observation is the same.</p>")
    unused = "".join(f"<li>{_e(rule)}</li>" for rule in comparison.unused_rules)
    unused_html = (
        f"<h2>Expected-changes rules that matched nothing</h2><ul>{unused}</ul>" if unused else ""
    )
    meta = (
        "<table class='meta'><tr><th></th><th>before</th><th>after</th></tr>"
        + _meta_row("site", before, after, "site_name")
        + _meta_row("URL", before, after, "site_url")
        + _meta_row("release", before, after, "release")
        + _meta_row("version", before, after, "version")
        + _meta_row("theme", before, after, "theme")
        + _meta_row("database", before, after, "database")
        + _meta_row("plan", before, after, "plan")
        + _meta_row("taken", before, after, "created_at")
        + "</table>"
    )
    csp = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'"
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<meta http-equiv='Content-Security-Policy' content=\"{csp}\">"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{_e(heading)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{_e(heading)}</h1>{meta}<div class='cards' id='summary'>{cards}</div>"
        f"{_notes_line(comparison)}"
        "<table class='areas'><tr><th>area</th><th>added</th><th>removed</th><th>changed</th>"
        f"<th>expected</th><th>unexpected</th></tr>{area_rows}</table>"
        f"{_adhoc_html(adhoc_tasks)}{_notes_html(comparison)}</header><main>{preface}"
        "<div class='filters'>"
        f"<label>Area <select id='f-area'><option value=''>all</option>{options}</select></label>"
        "<label>Verdict <select id='f-expected'><option value=''>all</option>"
        "<option value='no'>unexpected</option><option value='yes'>expected</option></select>"
        "</label><label>Change <select id='f-kind'><option value=''>all</option>"
        "<option value='added'>added</option><option value='removed'>removed</option>"
        "<option value='changed'>changed</option></select></label>"
        "<label>Contract <select id='f-contract'><option value=''>all</option>"
        "<option value='breaking'>breaking</option><option value='non-breaking'>non-breaking"
        "</option><option value='deprecation'>deprecation</option>"
        "<option value='none'>not a contract change</option></select></label>"
        "<label>Upgrade notes <select id='f-explanation'><option value=''>all</option>"
        "<option value='explained'>explained</option>"
        "<option value='possibly related'>possibly related</option>"
        "<option value='unexplained'>unexplained</option></select></label>"
        "<label>Key <input id='f-text' type='search' placeholder='filter by key'></label>"
        "<span><b id='shown'>0</b> shown</span></div>"
        + "".join(body)
        + unused_html
        + f"</main><footer>moodle-regress {_e(__version__)}</footer>"
        f"<script>{_JS}</script></body></html>"
    )


def write_html_report(
    comparison: Comparison,
    path: Path,
    *,
    title: str | None = None,
    adhoc_tasks: Sequence[Mapping[str, Any]] = (),
    preface: str = "",
) -> None:
    write_atomic(
        Path(path),
        render_html(comparison, title=title, adhoc_tasks=adhoc_tasks, preface=preface),
    )
