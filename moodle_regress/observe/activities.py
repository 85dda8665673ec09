"""Observation area ``activities``: each course's activities, by natural key.

An activity's natural key is its ID number (``mr-seed-MR-C001-quiz1``), or
``<module>:<name>`` for one without (the automatic Announcements forum).  Facts, from
``core_course_get_contents`` (the module on the course page),
``core_course_get_course_module`` (ID number, completion rules, grading) and the
module's ``mod_<name>_get_<plural>_by_courses`` (its settings):

==============================================  ============================================
``activities/<C>/<A>/module``                   type, name, section, visibility, indent,
                                                group mode
``activities/<C>/<A>/completion``               tracking and its rules
``activities/<C>/<A>/availability``             access restrictions (ids as natural keys)
``activities/<C>/<A>/grading``                  maximum grade, pass grade, scale
``activities/<C>/<A>/settings/<field>``         each setting of the module's own table
``activities/@site/modules-enabled``            the activity chooser's modules
``activities/@site/modules-installed``          (a sandbox) each module, enabled or not
==============================================  ============================================

Dates are relative to the course start (``start+14d``), so the same plan gives the
same facts on sites seeded on different days.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from moodle_regress.observation import SITE_ENTITY, make_key

Fact = tuple[str, Any]

#: Module fields that hold a date (0 meaning "no date").
DATE_FIELDS = frozenset(
    {
        "allowsubmissionsfromdate",
        "duedate",
        "cutoffdate",
        "gradingduedate",
        "timeopen",
        "timeclose",
        "timeavailablefrom",
        "timeavailableto",
        "timeviewfrom",
        "timeviewto",
        "chattime",
        "deadline",
        "available",
        "submissionstart",
        "submissionend",
        "assessmentstart",
        "assessmentend",
        "openingtime",
        "closingtime",
        "completionexpected",
        "assesstimestart",
        "assesstimefinish",
        "duedate_forum",
        "cutoffdate_forum",
    }
)
#: Settings that are ids, times of change or files, not settings a user chose.
IGNORED_SETTINGS = frozenset(
    {
        "id",
        "coursemodule",
        "course",
        "cmid",
        # The module's context id (a database id; h5pactivity's answer carries it) and
        # its package file (files are the files area's: its URL holds that id).
        "context",
        "package",
        "section",
        "name",
        "intro",
        "introfiles",
        "introformat",
        "timemodified",
        "timecreated",
        "revision",
        "contentfiles",
        "packageurl",
        "sha1hash",
        "md5hash",
        "reference",
        "meetingid",
        "moderatorpass",
        "viewerpass",
        "password",
        "quizpassword",
        "resourcekey",
        "servicesalt",
        "cmidnumber",
        "introattachments",
        "instructorcustomparameters",
        "lang",
        # Shown in the module fact (from the course page).
        "visible",
        "groupmode",
        "groupingid",
    }
)
MODULE_FIELDS = ("modname", "name", "visible", "visibleoncoursepage", "indent", "groupmode")
COMPLETION_FIELDS = (
    "completion",
    "completionview",
    "completionexpected",
    "completionpassgrade",
    "completiongradeitemnumber",
)
GRADING_FIELDS = ("grade", "scale", "gradepass", "advancedgrading", "outcomes")
_TIMESTAMP = 100_000_000  # anything larger is a date, not a duration


def activity_key(module: Mapping[str, Any], idnumber: str | None) -> str:
    """``idnumber``, or ``<modname>:<name>`` for an activity without one."""
    if idnumber:
        return idnumber
    return f"{module.get('modname')}:{module.get('name')}"


def relative_date(value: Any, start: int) -> Any:
    """A date as days and hours after (or before) the course start: ``start+14d``."""
    if not isinstance(value, int) or isinstance(value, bool) or value < _TIMESTAMP:
        return value
    offset = value - start
    sign = "+" if offset >= 0 else "-"
    days, rest = divmod(abs(offset), 86_400)
    hours, rest = divmod(rest, 3_600)
    text = f"start{sign}{days}d"
    if hours or rest:
        text += f"{hours}h" if not rest else f"{hours}h{rest}s"
    return text


def module_facts(
    course: str, key: str, module: Mapping[str, Any], section: int, cm: Mapping[str, Any] | None
) -> list[Fact]:
    """The activity as the course page shows it, its completion rules and grading."""
    base = {name: module[name] for name in MODULE_FIELDS if name in module}
    base["section"] = section
    if cm is not None and "groupmode" in cm:
        base["groupmode"] = cm["groupmode"]
    facts = [(make_key("activities", course, key, "module"), base)]
    if cm is None:
        return facts
    completion = {name: cm[name] for name in COMPLETION_FIELDS if name in cm}
    facts.append((make_key("activities", course, key, "completion"), completion))
    grading = {name: cm[name] for name in GRADING_FIELDS if name in cm}
    if grading:
        facts.append((make_key("activities", course, key, "grading"), grading))
    return facts


def availability_fact(
    course: str, key: str, availability: str | None, cm_keys: Mapping[int, str]
) -> Fact | None:
    """Access restrictions, with the activities they name as natural keys."""
    if not availability:
        return None
    try:
        tree = json.loads(availability)
    except ValueError:
        return make_key("activities", course, key, "availability"), availability
    return make_key("activities", course, key, "availability"), _cm_ids_to_keys(tree, cm_keys)


def _cm_ids_to_keys(value: Any, cm_keys: Mapping[int, str]) -> Any:
    if isinstance(value, list):
        return [_cm_ids_to_keys(item, cm_keys) for item in value]
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for name, item in value.items():
            if name == "cm" and isinstance(item, int):
                out[name] = cm_keys.get(item, "<activity ?>")
            elif name == "id" and isinstance(item, int) and value.get("type") == "group":
                out[name] = "<group>"
            else:
                out[name] = _cm_ids_to_keys(item, cm_keys)
        return out
    return value


def settings_facts(course: str, key: str, instance: Mapping[str, Any], start: int) -> list[Fact]:
    """Each setting of the module's own record (dates relative to the course start)."""
    facts = []
    for name, value in sorted(instance.items()):
        if name in IGNORED_SETTINGS or name.startswith("completion"):
            continue
        if isinstance(value, (dict, list)) and name.endswith("files"):
            continue
        shown = relative_date(value, start) if name in DATE_FIELDS else value
        facts.append((make_key("activities", course, key, "settings", name), shown))
    return facts


def completion_settings(instance: Mapping[str, Any]) -> dict[str, Any]:
    """The module's own completion rules (``completionsubmit``, ``completionposts``...)."""
    return {k: v for k, v in instance.items() if k.startswith("completion")}


def enabled_modules_fact(content_items: Mapping[str, Any] | None) -> Fact | None:
    """The modules the activity chooser offers: the site's enabled activity modules."""
    if content_items is None:
        return None
    names = {
        str(item.get("componentname", "")).removeprefix("mod_")
        for item in content_items.get("content_items", [])
    }
    return make_key("activities", SITE_ENTITY, "modules-enabled"), sorted(n for n in names if n)


def installed_modules_fact(modules: Sequence[Mapping[str, Any]]) -> Fact:
    """Installed activity modules, enabled or not (read from a sandbox's code: no
    web-service function says, and the chooser leaves subsections and tools out)."""
    value = {str(m["name"]): "enabled" if m.get("enabled") else "disabled" for m in modules}
    return make_key("activities", SITE_ENTITY, "modules-installed"), value


_BY_COURSES = re.compile(r"^mod_(?P<mod>[a-z0-9]+)_get_[a-z0-9]+_by_courses$")


def instances_functions(functions: Sequence[str]) -> dict[str, str]:
    """Module name -> the function listing its instances in courses, among ``functions``."""
    found = (
        {"assign": "mod_assign_get_assignments"}
        if "mod_assign_get_assignments" in functions
        else {}
    )
    for function in functions:
        match = _BY_COURSES.match(function)
        if match:
            found.setdefault(match["mod"], function)
    return found


def instances_in(answer: Any) -> list[Mapping[str, Any]]:
    """The activity records of a ``..._by_courses`` answer (assignments are per course,
    forums a plain list)."""
    if isinstance(answer, list):
        answer = {"items": answer}
    if not isinstance(answer, dict):
        return []
    found: list[Mapping[str, Any]] = []
    for value in answer.values():
        if not isinstance(value, list):
            continue
        for item in value:
            if isinstance(item, dict) and ("coursemodule" in item or "cmid" in item):
                found.append(item)
            elif isinstance(item, dict) and isinstance(item.get("assignments"), list):
                found.extend(item["assignments"])
    return found


def instance_cmid(instance: Mapping[str, Any]) -> int | None:
    value = instance.get("coursemodule", instance.get("cmid"))
    return int(value) if isinstance(value, int) else None
