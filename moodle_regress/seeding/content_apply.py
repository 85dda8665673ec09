"""Apply a plan's content to a site.

On a sandbox (its code tree on this machine) everything is made by one PHP script of
ours, ``moodle_regress/php/content.php``, with Moodle's own data generators: one run
to enable the plan's modules and learn the site's modules, then the courses' content
in a few runs side by side (courses split between them), each course one database
transaction.  Every item is found again by its natural key first, so a second run
makes nothing new.

On any other site, Moodle 4.5-5.1 offer no web-service function that creates an
activity, a question category or a question (``core_course_*`` edits and deletes
modules but never adds one), so the summary counts them as not possible.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moodle_regress.phprun import run_php_script
from moodle_regress.seeding.apply import Progress, StepCount, Summary
from moodle_regress.seeding.content import Content, by_course, generate_content, has_content
from moodle_regress.seeding.generate import Dataset
from moodle_regress.seeding.site import LocalSite
from moodle_regress.seeding.tags import tagged
from moodle_ws import MoodleClient, MoodleError

log = logging.getLogger(__name__)

SCRIPT = "content.php"
#: Content steps as the seeding summary shows them, in order.
CONTENT_STEPS = (
    "modules_enabled",
    "question_categories",
    "questions",
    "activities",
    "quiz_attempts",
    "assign_submissions",
    "assign_grades",
    "forum_posts",
    "choice_responses",
    "completions",
    "grade_overrides",
    "course_criteria",
    "course_completions",
)
#: Why a remote site gets no activities or questions.
NO_WS_NOTE = (
    "{amount} activities and {questions} questions are not made: Moodle 4.5-5.1 have no "
    "web-service function that creates an activity or a question (core_course_* edits and "
    "deletes course modules, never adds one; nothing adds to a question bank). Seed a "
    "sandbox, or restore a backup holding them; students' work in the plan's activities "
    "that exist on the site is made through web services."
)


@dataclass(frozen=True)
class SiteModules:
    """What a site offers for content: its modules and question types."""

    #: Installed, enabled modules with a data generator.
    usable: tuple[str, ...]
    #: Installed but disabled modules.
    disabled: tuple[str, ...] = ()
    qtypes: tuple[str, ...] = ()
    #: Course question banks are qbank activities (5.0+).
    qbank_activities: bool = False

    @classmethod
    def from_probe(cls, probe: Mapping[str, Any]) -> SiteModules:
        modules = probe.get("modules") or []
        return cls(
            usable=tuple(m["name"] for m in modules if m["enabled"] and m["generator"]),
            disabled=tuple(m["name"] for m in modules if not m["enabled"]),
            qtypes=tuple(probe.get("qtypes") or ()),
            qbank_activities=bool(probe.get("qbank_activities")),
        )


@dataclass
class ContentResult:
    """Per content step: created / existing / unavailable, plus notes and seconds."""

    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    runs: int = 0
    #: CPU seconds the PHP runs used (the machine's other work left out).
    cpu_seconds: float = 0.0

    def merge(self, result: Mapping[str, Any]) -> None:
        for kind, values in (result.get("counts") or {}).items():
            mine = self.counts.setdefault(kind, {"created": 0, "existing": 0, "unavailable": 0})
            for what, amount in values.items():
                mine[what] = mine.get(what, 0) + int(amount)
        # Runs go side by side: a step's time is the sum over runs divided by
        # how many ran at once, which the caller knows; keep the sum here.
        for kind, seconds in (result.get("seconds") or {}).items():
            self.seconds[kind] = self.seconds.get(kind, 0.0) + float(seconds)
        for note in result.get("notes") or []:
            if note not in self.notes:
                self.notes.append(note)
        self.cpu_seconds += float(result.get("cpu_seconds") or 0.0)
        self.runs += 1


class LocalContent:
    """Content made on a sandbox by ``content.php`` against its code tree."""

    def __init__(
        self, code_dir: Path, *, log: Path | None = None, workers: int = 2, chunk: int = 4
    ) -> None:
        self.code_dir = code_dir
        self.log = log
        self.workers = max(1, workers)
        self.chunk = max(1, chunk)

    def run(self, payload: Mapping[str, Any], timeout: float = 3600) -> Any:
        return run_php_script(self.code_dir, SCRIPT, payload, log=self.log, timeout=timeout)

    def prepare(self, enable_modules: Sequence[str]) -> tuple[SiteModules, ContentResult]:
        """Enable the plan's modules, then learn which the site offers."""
        result = ContentResult()
        if enable_modules:
            payload = {"action": "apply", "enable_modules": list(enable_modules), "courses": []}
            result.merge(self.run(payload))
        return SiteModules.from_probe(self.run({"action": "probe"})), result

    def apply(
        self,
        content: Content,
        tag: str,
        result: ContentResult,
        done: Callable[[int], None] | None = None,
    ) -> ContentResult:
        """Make the content, a few courses per run, ``workers`` runs side by side;
        ``done(n)`` after each run with its number of courses."""
        courses = content_payload(content, tag)
        parts = [courses[i : i + self.chunk] for i in range(0, len(courses), self.chunk)]
        started = time.perf_counter()
        lock = threading.Lock()

        def one(part: list[dict[str, Any]]) -> None:
            outcome = self.run({"action": "apply", "courses": part})
            with lock:
                result.merge(outcome)
            if done is not None:
                done(len(part))

        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            for future in [pool.submit(one, part) for part in parts]:
                future.result()
        result.seconds["total"] = time.perf_counter() - started
        return result

    def cleanup(self, tag: str, courses: Sequence[str]) -> dict[str, int]:
        """Delete tagged activities and question categories from courses that stay."""
        found = self.run({"action": "cleanup", "prefix": tagged(tag, ""), "courses": list(courses)})
        return {str(k): int(v) for k, v in (found.get("deleted") or {}).items()}


def content_payload(content: Content, tag: str) -> list[dict[str, Any]]:
    """The PHP script's courses: each course's bank, activities and work, tagged."""

    def site(key: str) -> str:
        return tagged(tag, key)

    categories = by_course(content.categories)
    questions: dict[str, list[Any]] = {}
    for question in content.questions:
        questions.setdefault(question.category, []).append(question)
    activities = by_course(content.activities)
    work = {name: by_course(getattr(content, field)) for name, (field, _) in _WORK.items()}
    return [
        {
            "shortname": shortname,
            "bank": [_category(c, questions, site) for c in categories.get(shortname, [])],
            "activities": [_activity(a, site) for a in activities.get(shortname, [])],
            "work": {
                name: [describe(item, site) for item in work[name].get(shortname, [])]
                for name, (_, describe) in _WORK.items()
            },
        }
        for shortname in content.courses()
    ]


Site = Callable[[str], str]


def _category(category: Any, questions: dict[str, list[Any]], site: Site) -> dict[str, Any]:
    return {
        "idnumber": site(category.key),
        "name": category.name,
        "info": category.info,
        "parent": site(category.parent) if category.parent else None,
        "questions": [
            {
                "idnumber": site(q.key),
                "qtype": q.qtype,
                "name": q.name,
                "text": q.text,
                "answers": list(q.answers),
                "correct": q.correct,
            }
            for q in questions.get(category.key, [])
        ],
    }


def _attempt(a: Any, site: Site) -> dict[str, Any]:
    return {"quiz": site(a.quiz), "user": a.user, "finished": a.finished, "right": list(a.right)}


def _submission(s: Any, site: Site) -> dict[str, Any]:
    return {"assign": site(s.assign), "user": s.user, "text": s.text, "submitted": s.submitted}


def _grade(g: Any, site: Site) -> dict[str, Any]:
    return {"assign": site(g.assign), "user": g.user, "grade": g.grade, "feedback": g.feedback}


def _post(d: Any, site: Site) -> dict[str, Any]:
    return {
        "forum": site(d.forum),
        "user": d.user,
        "subject": d.subject,
        "message": d.message,
        "replies": [{"user": u, "message": m} for u, m in d.replies],
    }


def _response(r: Any, site: Site) -> dict[str, Any]:
    return {"choice": site(r.choice), "user": r.user, "option": r.option}


def _completion(c: Any, site: Site) -> dict[str, Any]:
    return {"activity": site(c.activity), "user": c.user}


def _override(o: Any, site: Site) -> dict[str, Any]:
    return {"activity": site(o.activity), "user": o.user, "grade": o.grade, "feedback": o.feedback}


#: The students' work in the payload: name -> (the content's field, how an item reads).
_WORK: dict[str, tuple[str, Callable[[Any, Site], dict[str, Any]]]] = {
    "attempts": ("attempts", _attempt),
    "submissions": ("submissions", _submission),
    "grades": ("grades", _grade),
    "posts": ("discussions", _post),
    "responses": ("responses", _response),
    "completions": ("completions", _completion),
    "overrides": ("overrides", _override),
}


def _activity(activity: Any, site: Any) -> dict[str, Any]:
    body = dict(activity.content)
    if "questions" in body:
        body["questions"] = [site(q) for q in body["questions"]]
    return {
        "modname": activity.modname,
        "idnumber": site(activity.key),
        "name": activity.name,
        "intro": activity.intro,
        "section": activity.section,
        "visible": activity.visible,
        "completion": activity.completion,
        "completion_rules": dict(activity.completion_rules),
        "dates": dict(activity.dates),
        "settings": dict(activity.settings),
        "content": body,
    }


def apply_content(
    client: MoodleClient,
    data: Dataset,
    summary: Summary,
    progress: Progress,
    *,
    local: LocalSite | None,
    workers: int = 2,
) -> Content | None:
    """Make the content of ``data.plan`` on the site; fold the counts into ``summary``."""
    if data.plan is None or not has_content(data.plan):
        return None
    started = time.perf_counter()
    if local is None:
        content = generate_content(data.plan, data, remote_modules(client))
        _remote(client, data, content, summary)
        return content
    runner = LocalContent(
        local.code_dir,
        log=local.log,
        workers=workers,
    )
    modules, result = runner.prepare(data.plan.enable_modules)
    content = generate_content(data.plan, data, modules.usable)
    progress.begin("content", len(content.courses()))
    runner.apply(content, data.tag, result, done=lambda n: progress.advance("content", n))
    used = min(runner.workers, max(1, -(-len(content.courses()) // runner.chunk)))
    for step in CONTENT_STEPS:
        counts = result.counts.get(step)
        if counts is None:
            continue
        summary.steps[step] = StepCount(
            created=counts.get("created", 0),
            existing=counts.get("existing", 0),
            unavailable=counts.get("unavailable", 0),
            seconds=result.seconds.get(step, 0.0) / used,
        )
    summary.notes.extend(n for n in result.notes if n not in summary.notes)
    summary.calls += result.runs
    summary.php_cpu_seconds += result.cpu_seconds
    log.info("content made in %.1f s", time.perf_counter() - started)
    return content


def remote_modules(client: MoodleClient) -> list[str]:
    """Enabled activity modules of a site whose code the tool cannot see: the activity
    chooser's content items (``core_course_get_course_content_items``) of the front page."""
    try:
        found = client.call("core_course_get_course_content_items", courseid=1)
    except MoodleError as exc:
        log.info("content items unavailable: %s", exc)
        return []
    names = {
        str(i.get("componentname", "")).removeprefix("mod_") for i in found.get("content_items", [])
    }
    return sorted(n for n in names if n)


def _remote(client: MoodleClient, data: Dataset, content: Content, summary: Summary) -> None:
    """What a site whose code the tool cannot run can have: the students' work in the
    plan's activities that exist there (see ``content_remote``)."""
    from moodle_regress.seeding.content_remote import RemoteWork

    counts = content.counts()
    work = RemoteWork(client, data, content, summary)
    work.find_activities()
    there = len(work.activities)
    summary.steps["activities"] = StepCount(
        existing=there, unavailable=counts["activities"] - there
    )
    for step in ("question_categories", "questions"):
        if counts[step]:
            summary.steps[step] = StepCount(unavailable=counts[step])
    missing = counts["activities"] - there
    if missing or counts["questions"]:
        summary.notes.append(NO_WS_NOTE.format(amount=missing, questions=counts["questions"]))
    work.run()
