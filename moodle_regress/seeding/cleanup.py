"""Remove exactly what a seeding run created: the entities carrying its tag.

Courses, users and groups are found by exactly the idnumber the run gave them
(``mr-<tag>-<shortname>``, ``mr-<tag>-<username>``...); categories and cohorts by
their plan keys when the plan is given, else by the ``mr-<tag>-`` prefix.  Users are
found through the plan's usernames when a plan is given, and through the site's
user list otherwise.  Nothing without the tag is touched: a site's
own course, or a user the plan named that already existed, stays.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from moodle_regress.guard import ensure_writable
from moodle_regress.seeding.apply import chunks
from moodle_regress.seeding.generate import Dataset
from moodle_regress.seeding.site import LocalSite
from moodle_regress.seeding.tags import group_idnumber, is_tagged, tagged
from moodle_ws import MoodleClient
from moodle_ws.areas.users import User

log = logging.getLogger(__name__)


@dataclass
class CleanupSummary:
    deleted: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Tagged:
    """The tagged entities on a site, by id."""

    users: list[int]
    courses: list[int]
    categories: list[int]  # deepest first
    cohorts: list[int]
    groups: list[int]  # groups in courses that stay


def find_tagged(client: MoodleClient, tag: str, *, data: Dataset | None = None) -> Tagged:
    """Every entity on the site that the seeding run tagged ``tag`` created.

    Courses, users and groups must carry exactly the idnumber the run gave them (from
    their shortname, username or name), so ``mr-a-b-x`` of another tag never counts
    as tag ``a``'s; categories and cohorts too when the run's ``data`` is given, else
    their idnumber must begin ``mr-<tag>-``.
    """
    courses = [c for c in client.courses.get() if c.idnumber == tagged(tag, c.shortname)]
    course_ids = {c.id for c in courses}
    mine = _made_by_run(tag, data)
    categories = [c for c in client.categories.get() if mine("categories", c.idnumber)]
    categories.sort(key=lambda c: -(c.depth or (c.path or "").count("/")))
    cohorts = [c.id for c in client.cohorts.get([]) if mine("cohorts", c.idnumber)]
    if data is not None:
        found = client.map_concurrently(
            lambda batch: client.users.get_by_field("username", batch),
            chunks([u.username for u in data.users], 500),
        )
        users = [u.id for batch in found for u in batch if _user_is_tagged(u, tag)]
    else:
        users = _tagged_users(client, tag)
    # Groups in courses that stay (tagged groups in tagged courses go with them).
    others = [c.id for c in client.courses.get() if c.id not in course_ids and c.id != 1]
    group_lists = client.map_concurrently(client.groups.get_course_groups, others)
    groups = [g.id for gl in group_lists for g in gl if g.idnumber == group_idnumber(tag, g.name)]
    return Tagged(users, sorted(course_ids), [c.id for c in categories], cohorts, groups)


def _made_by_run(tag: str, data: Dataset | None) -> Callable[[str, str | None], bool]:
    if data is None:
        return lambda _kind, idnumber: is_tagged(idnumber, tag)
    keys = {
        "categories": {tagged(tag, c.key) for c in data.categories},
        "cohorts": {tagged(tag, c.key) for c in data.cohorts},
    }
    return lambda kind, idnumber: idnumber in keys[kind]


def _user_is_tagged(user: User, tag: str) -> bool:
    return user.username is not None and user.idnumber == tagged(tag, user.username)


def _tagged_users(client: MoodleClient, tag: str) -> list[int]:
    # core_user_get_users matches idnumber exactly; list users by auth method
    # instead and keep the tagged ones.
    found = []
    for auth in ("manual", "nologin"):
        result = client.call("core_user_get_users", criteria=[{"key": "auth", "value": auth}])
        for user in result.get("users", []):
            username = str(user.get("username", ""))
            if username and user.get("idnumber") == tagged(tag, username):
                found.append(int(user["id"]))
    return found


def cleanup(
    client: MoodleClient,
    tag: str,
    *,
    allow_writes: bool = False,
    data: Dataset | None = None,
    local: LocalSite | None = None,
) -> CleanupSummary:
    """Delete every entity tagged ``tag`` (see the module's docstring)."""
    ensure_writable(client, allow_writes)
    found = find_tagged(client, tag, data=data)
    summary = CleanupSummary()
    if found.groups:
        client.groups.delete(found.groups)
    summary.deleted["groups"] = len(found.groups)
    # Content the plan put in courses that stay (a site's own course): tagged
    # activities and question categories.  Tagged courses take theirs with them.
    staying = _content_courses_that_stay(client, tag, data)
    if staying:
        summary.deleted.update(_cleanup_content(client, tag, staying, local, summary))
    # Five at a time: a course with content (activities, attempts, grades) takes Moodle
    # seconds to delete, and a call must finish within the client's deadline.
    for batch in chunks(found.courses, 5):
        for warning in client.courses.delete(batch):
            summary.notes.append(f"course {warning.itemid}: {warning.message}")
    summary.deleted["courses"] = len(found.courses)
    if found.cohorts:
        client.cohorts.delete(found.cohorts)
    summary.deleted["cohorts"] = len(found.cohorts)
    client.map_concurrently(client.users.delete, chunks(found.users, 200), max_workers=2)
    summary.deleted["users"] = len(found.users)
    # Deepest first, each on its own: a category still holding an untagged
    # course or category is kept (Moodle refuses to delete it without recursive).
    kept = 0
    for categoryid in found.categories:
        if _category_is_empty(client, categoryid):
            # Empty, so "recursive" deletes nothing else; without it Moodle wants
            # a category to move the (absent) content to.
            client.categories.delete([categoryid], recursive=True)
        else:
            kept += 1
            summary.notes.append(
                f"category {categoryid} kept: it holds courses or categories not seeded"
            )
    summary.deleted["categories"] = len(found.categories) - kept
    return summary


def _content_courses_that_stay(client: MoodleClient, tag: str, data: Dataset | None) -> list[str]:
    if data is None or data.plan is None:
        return []
    named = {a.course for a in data.plan.activities} | {
        c.course for c in data.plan.question_categories
    }
    staying = []
    for shortname in sorted(named):
        found = client.courses.get_by_field("shortname", shortname)
        if found and not is_tagged(found[0].idnumber, tag):
            staying.append(shortname)
    return staying


def _cleanup_content(
    client: MoodleClient,
    tag: str,
    shortnames: Sequence[str],
    local: LocalSite | None,
    summary: CleanupSummary,
) -> dict[str, int]:
    if local is not None:
        from moodle_regress.seeding.content_apply import LocalContent

        return LocalContent(local.code_dir, log=local.log).cleanup(tag, shortnames)
    cmids = []
    for shortname in shortnames:
        courseid = client.courses.get_by_field("shortname", shortname)[0].id
        modules = [
            m["id"]
            for s in client.call("core_course_get_contents", courseid=courseid)
            for m in s.get("modules") or []
        ]
        for answer in client.map_concurrently(
            lambda cmid: client.call("core_course_get_course_module", cmid=cmid), modules
        ):
            if is_tagged(str(answer["cm"].get("idnumber") or ""), tag):
                cmids.append(int(answer["cm"]["id"]))
    if cmids:
        client.call("core_course_delete_modules", cmids=cmids)
    summary.notes.append(
        f"question categories tagged {tag!r} in {', '.join(shortnames)} are kept: no "
        "web-service function deletes question categories (delete them in the course's "
        "question bank)"
    )
    return {"activities": len(cmids)}


def _category_is_empty(client: MoodleClient, categoryid: int) -> bool:
    children = client.categories.get({"parent": categoryid}, addsubcategories=False)
    courses = client.courses.get_by_field("category", categoryid)
    return not children and not courses
