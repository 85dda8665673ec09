"""Observations: one normalised fact about a site, under a stable key.

A key reads ``area/entity/aspect``: ``courses/MR-C001/sections/2/name`` is the name
of section 2 of the course whose natural key (its shortname) is ``MR-C001``.  The
entity is always a natural key, never a database id, so that the same fact on two
sites (or before and after an upgrade) has the same key.  Components that contain
``/`` or ``%`` are percent-escaped by :func:`make_key`.

Normalisation removes what differs without meaning.  Each rule is a small named
function below, applied in this order by :class:`Normaliser`:

1. :func:`ids_to_natural_keys` - fields holding database ids (``courseid``,
   ``userid``...) become the natural key of what they point to.
2. :func:`drop_timestamps` - fields holding times (``timecreated``, ``lastaccess``,
   ``startdate``...) are removed.
3. :func:`clean_string` on every string: :func:`strip_sesskeys`,
   :func:`strip_theme_revisions` and :func:`strip_url_hosts` (URLs lose scheme,
   host and the site's path prefix, and volatile query parameters).
4. :func:`sort_lists` - lists are sorted by a stable key, except those under a
   field named in ``ordered_fields`` (where the order is itself the fact, like the
   modules of a section).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from moodle_regress.errors import MoodleRegressError

#: Where a fact was read: web services, a browser, or the site's database (schema, rows).
Source = Literal["api", "browser", "database"]
SOURCES: tuple[Source, ...] = ("api", "browser", "database")

#: Entity name for facts about the site as a whole (``@`` never starts a shortname
#: the seeder makes, and keeps site facts sorted apart).
SITE_ENTITY = "@site"


class ObservationError(MoodleRegressError, ValueError):
    """An observation that cannot be recorded (bad key, value that is not JSON)."""


# --- keys ---------------------------------------------------------------------------


def escape_component(part: str) -> str:
    """One key component with ``%`` and ``/`` escaped, so ``/`` only separates."""
    return part.replace("%", "%25").replace("/", "%2F")


def unescape_component(part: str) -> str:
    return unquote(part)


def make_key(area: str, entity: str, *aspect: str | int) -> str:
    """``make_key("courses", "MR/1", "sections", 2)`` -> ``courses/MR%2F1/sections/2``."""
    parts = [area, entity, *(str(a) for a in aspect)]
    if not aspect:
        raise ObservationError(f"key for {area}/{entity} has no aspect")
    for part in parts:
        if part == "":
            raise ObservationError(f"empty component in key {parts!r}")
    return "/".join(escape_component(p) for p in parts)


@dataclass(frozen=True, slots=True)
class KeyParts:
    area: str
    entity: str
    aspect: str


def split_key(key: str) -> KeyParts:
    """``courses/MR-C001/sections/2/name`` -> area, entity (unescaped), aspect."""
    parts = key.split("/", 2)
    if len(parts) < 3 or not all(parts):
        raise ObservationError(
            f"{key!r} is not an observation key; keys read area/entity/aspect, "
            "for example courses/MR-C001/format"
        )
    return KeyParts(parts[0], unescape_component(parts[1]), parts[2])


class Keyed:
    """What a ``key`` (area/entity/aspect) names, for the classes that carry one."""

    __slots__ = ()
    key: str

    @property
    def area(self) -> str:
        return split_key(self.key).area

    @property
    def entity(self) -> str:
        return split_key(self.key).entity

    @property
    def aspect(self) -> str:
        return split_key(self.key).aspect


# --- the observation ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Observation(Keyed):
    """One fact about a site.

    ``attachments`` name files that illustrate the fact (``{"screenshot": path}``);
    a snapshot stores their paths relative to itself.
    """

    key: str
    value: Any
    source: Source = "api"
    release: str = ""
    attachments: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        split_key(self.key)
        if self.source not in SOURCES:
            raise ObservationError(f"{self.key}: source {self.source!r} is not one of {SOURCES}")
        check_json(self.value, where=self.key)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"key": self.key, "value": self.value, "source": self.source}
        if self.release:
            data["release"] = self.release
        if self.attachments:
            data["attachments"] = dict(self.attachments)
        return data


def check_json(value: Any, *, where: str) -> None:
    """Refuse values that JSON cannot carry faithfully (sets, bytes, NaN, int keys)."""
    if value is None or isinstance(value, bool | int | str):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ObservationError(f"{where}: {value} is not a finite number")
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            check_json(item, where=f"{where}[{index}]")
        return
    if isinstance(value, dict):
        for name, item in value.items():
            if not isinstance(name, str):
                raise ObservationError(f"{where}: mapping key {name!r} is not a string")
            check_json(item, where=f"{where}.{name}")
        return
    raise ObservationError(
        f"{where}: a {type(value).__name__} is not a JSON value; "
        "normalise it to str, number, bool, None, list or dict"
    )


def canonical(value: Any) -> str:
    """A value's canonical JSON text: equal values give equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# --- normalisation rules ------------------------------------------------------------

#: id-holding fields and the kind of entity they point to.
ID_FIELDS: Mapping[str, str] = {
    "courseid": "course",
    "userid": "user",
    "groupid": "group",
    "groupingid": "grouping",
    "categoryid": "category",
    "category": "category",
    "roleid": "role",
    "cohortid": "cohort",
    "sectionid": "section",
    "cmid": "module",
    "enrolid": "enrol",
}

#: Fields that hold times.
TIMESTAMP_FIELDS = frozenset(
    {
        "timecreated",
        "timemodified",
        "timeaccess",
        "timestart",
        "timeend",
        "timeenrolled",
        "firstaccess",
        "lastaccess",
        "lastlogin",
        "currentlogin",
        "lastcourseaccess",
        "lastip",
        "startdate",
        "enddate",
        "cacherev",
        "sectioncacherev",
        "modinfo_cacherev",
        "created",
        "modified",
        "added",
    }
)

#: Query parameters that change from request to request.
VOLATILE_PARAMS = frozenset({"sesskey", "rev", "_", "time", "ts", "t", "token", "wstoken"})

#: Which id map a field points to and the id; unknown ids read ``<kind #?>``.
IdMap = Mapping[str, Mapping[int, str]]


def ids_to_natural_keys(value: Any, idmap: IdMap, fields: Mapping[str, str] = ID_FIELDS) -> Any:
    """Replace ids in id fields by natural keys: ``{"courseid": 7}`` -> ``{"courseid": "MR-C001"}``.

    An id the map lacks becomes ``"<course ?>"``: still not a database id (which
    would differ between sites for the same fact), but visibly unresolved.
    """
    if isinstance(value, list):
        return [ids_to_natural_keys(item, idmap, fields) for item in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for name, item in value.items():
        kind = fields.get(name)
        if kind is not None and isinstance(item, int) and not isinstance(item, bool):
            out[name] = idmap.get(kind, {}).get(item, f"<{kind} ?>")
        elif kind is not None and isinstance(item, list):
            out[name] = [
                idmap.get(kind, {}).get(i, f"<{kind} ?>") if isinstance(i, int) else i for i in item
            ]
        else:
            out[name] = ids_to_natural_keys(item, idmap, fields)
    return out


def drop_timestamps(value: Any, fields: frozenset[str] = TIMESTAMP_FIELDS) -> Any:
    """Remove time fields at any depth: they differ on every run and every site."""
    if isinstance(value, list):
        return [drop_timestamps(item, fields) for item in value]
    if isinstance(value, dict):
        return {k: drop_timestamps(v, fields) for k, v in value.items() if k not in fields}
    return value


_SESSKEY = re.compile(
    r"(?P<lead>[?&;]|&amp;)sesskey=[A-Za-z0-9]+|\"sesskey\"\s*:\s*\"[A-Za-z0-9]+\""
)
_DANGLING_QUERY = re.compile(r"\?(?=$|[\s\"'<>#])")
# Cache revisions in Moodle's slash-argument URLs: the first all-digit segment (9+
# digits, or -1 when theme designer mode is on) after "<script>.php" and up to three
# name segments: /theme/image.php/boost/core/1712345678/i/edit,
# /theme/styles.php/boost/1712345678_1/all, /lib/javascript.php/1712345678/...,
# /theme/yui_combo.php?m/1712345678/...  Context ids (/pluginfile.php/5/...) are
# short and stay.
_REVISION = re.compile(
    r"(?P<head>\.php(?:/_s)?(?:/[A-Za-z_][A-Za-z0-9_]*){0,3}|\.php\?m)"
    r"/(?P<rev>-1|\d{9,}(?:_\d+)?)(?=[/?#\"'\s]|$)"
)
_URL = re.compile(r"https?://[^\s\"'<>()]+")


def strip_sesskeys(text: str) -> str:
    """Remove session keys.

    ``?a=1&sesskey=Xy7`` -> ``?a=1``; ``"sesskey":"Xy7"`` -> ``"sesskey":""``.
    """

    def repl(match: re.Match[str]) -> str:
        if match.group(0).startswith('"'):
            return '"sesskey":""'
        return "?" if match.group("lead") == "?" else ""

    if "sesskey" not in text:
        return text
    cleaned = _SESSKEY.sub(repl, text)
    # "?sesskey=x&b=2" left "?&b=2"; "?sesskey=x" left a dangling "?".
    cleaned = cleaned.replace("?&amp;", "?").replace("?&", "?").replace("?;", "?")
    return _DANGLING_QUERY.sub("", cleaned)


def strip_theme_revisions(text: str) -> str:
    """Theme and JavaScript cache revisions become ``REV``: they change on every cache purge."""
    return _REVISION.sub(lambda m: f"{m.group('head')}/REV", text)


def normalise_url(url: str, site_root: str | None = None) -> str:
    """A URL without scheme, host, the site's own path prefix and volatile parameters.

    ``https://lms.example.org/moodle/course/view.php?id=3&sesskey=x`` with site root
    ``https://lms.example.org/moodle`` -> ``/course/view.php?id=3``.  Given a site
    root, URLs of other hosts (links to moodle.org, say) keep their host: they name
    the same thing on every site.
    """
    parts = urlsplit(url)
    path = parts.path or "/"
    if site_root:
        root = urlsplit(site_root)
        if parts.netloc.lower() != root.netloc.lower():
            return url
        root_path = root.path.rstrip("/")
        if root_path and (path == root_path or path.startswith(root_path + "/")):
            path = path[len(root_path) :] or "/"
    # URLs found in HTML carry "&amp;" between parameters; keep that form.
    html_amp = "&amp;" in parts.query
    raw_query = parts.query.replace("&amp;", "&") if html_amp else parts.query
    # Moodle's slash-argument queries ("yui_combo.php?m/REV/core/x.js") are no
    # key=value pairs: keep them whole.
    query = parse_qsl(raw_query, keep_blank_values=True) if "=" in raw_query else []
    kept = [(k, v) for k, v in query if k not in VOLATILE_PARAMS]
    out = path
    if kept:
        encoded = urlencode(kept, quote_via=quote, safe="/")
        out += "?" + (encoded.replace("&", "&amp;") if html_amp else encoded)
    elif parts.query and not query:
        out += "?" + parts.query
    if parts.fragment:
        out += "#" + parts.fragment
    return out


def strip_url_hosts(text: str, site_root: str | None = None) -> str:
    """Every absolute URL inside ``text`` rewritten by :func:`normalise_url`."""
    return _URL.sub(lambda m: normalise_url(m.group(0), site_root), text)


def clean_string(text: str, site_root: str | None = None) -> str:
    """The string rules, in order: session keys, theme revisions, URL hosts."""
    return strip_url_hosts(strip_theme_revisions(strip_sesskeys(text)), site_root)


#: Fields whose natural key sorts a list of mappings, first present wins.
SORT_FIELDS: tuple[str, ...] = (
    "key",
    "shortname",
    "username",
    "idnumber",
    "component",
    "type",
    "name",
    "section",
    "number",
)


def stable_sort_key(item: Any) -> tuple[str, str]:
    """Sort by the item's natural key where it has one, then by its canonical JSON."""
    if isinstance(item, dict):
        for name in SORT_FIELDS:
            natural = item.get(name)
            if isinstance(natural, bool):
                continue
            if isinstance(natural, int):
                # Zero-padded so that section 10 sorts after section 9.
                return (f"{natural:+021d}", canonical(item))
            if isinstance(natural, str):
                return (natural, canonical(item))
    return ("", canonical(item))


def sort_lists(value: Any, ordered_fields: frozenset[str] = frozenset()) -> Any:
    """Sort every list by :func:`stable_sort_key`, except lists under ``ordered_fields``."""
    return _sort_lists(value, ordered_fields, ordered=False)


def _sort_lists(value: Any, ordered_fields: frozenset[str], *, ordered: bool) -> Any:
    if isinstance(value, list):
        items = [_sort_lists(item, ordered_fields, ordered=False) for item in value]
        return items if ordered else sorted(items, key=stable_sort_key)
    if isinstance(value, dict):
        return {
            k: _sort_lists(v, ordered_fields, ordered=k in ordered_fields) for k, v in value.items()
        }
    return value


def map_strings(value: Any, fn: Callable[[str], str]) -> Any:
    """Apply ``fn`` to every string value (not to mapping keys)."""
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, list):
        return [map_strings(item, fn) for item in value]
    if isinstance(value, dict):
        return {k: map_strings(v, fn) for k, v in value.items()}
    return value


@dataclass
class Normaliser:
    """The rules above, with what they need from one site: its root and its id maps.

    ``ordered=True`` keeps a top-level list's order (the value itself is ordered).
    """

    site_root: str | None = None
    idmap: dict[str, dict[int, str]] = field(default_factory=dict)
    ordered_fields: frozenset[str] = frozenset({"modules", "sections", "order"})

    def remember(self, kind: str, ids: Iterable[tuple[int, str]]) -> None:
        """Record natural keys for ids of one kind: ``remember("course", [(7, "MR-C001")])``."""
        self.idmap.setdefault(kind, {}).update(ids)

    def natural_key(self, kind: str, ident: int) -> str:
        return self.idmap.get(kind, {}).get(ident, f"<{kind} ?>")

    def normalise(self, value: Any, *, ordered: bool = False) -> Any:
        value = ids_to_natural_keys(value, self.idmap)
        value = drop_timestamps(value)
        root = self.site_root
        value = map_strings(value, lambda s: clean_string(s, root))
        return _sort_lists(value, self.ordered_fields, ordered=ordered)

    def observation(
        self,
        key: str,
        value: Any,
        *,
        release: str = "",
        source: Source = "api",
        ordered: bool = False,
        attachments: Mapping[str, str] | None = None,
    ) -> Observation:
        return Observation(
            key=key,
            value=self.normalise(value, ordered=ordered),
            source=source,
            release=release,
            attachments=dict(attachments or {}),
        )
