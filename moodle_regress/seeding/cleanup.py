"""Remove exactly what a seeding run created: the entities carrying its tag.

Courses, categories, cohorts and groups are found by their ``mr-<tag>-``
idnumbers.  Users are found through the plan's usernames when a plan is given,
and through the site's user list otherwise; either way a user is deleted only
when its idnumber carries the tag.  Nothing without the tag is touched: a site's
own course, or a user the plan named that already existed, stays.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from moodle_regress.guard import ensure_writable
from moodle_regress.seeding.apply import chunks
from moodle_regress.seeding.generate import Dataset
from moodle_regress.seeding.tags import is_tagged, tag_prefix
from moodle_ws import MoodleClient

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


def find_tagged(
    client: MoodleClient, tag: str, *, usernames: Sequence[str] | None = None
) -> Tagged:
    """Every entity on the site whose idnumber carries ``tag``."""
    courses = [c for c in client.courses.get() if is_tagged(c.idnumber, tag)]
    course_ids = {c.id for c in courses}
    categories = [c for c in client.categories.get() if is_tagged(c.idnumber, tag)]
    categories.sort(key=lambda c: -(c.depth or (c.path or "").count("/")))
    cohorts = [c.id for c in client.cohorts.get([]) if is_tagged(c.idnumber, tag)]
    if usernames is not None:
        found = client.map_concurrently(
            lambda batch: client.users.get_by_field("username", batch),
            chunks(list(usernames), 500),
        )
        users = [u.id for batch in found for u in batch if is_tagged(u.idnumber, tag)]
    else:
        users = _tagged_users(client, tag)
    # Groups in courses that stay (tagged groups in tagged courses go with them).
    others = [c.id for c in client.courses.get() if c.id not in course_ids and c.id != 1]
    group_lists = client.map_concurrently(client.groups.get_course_groups, others)
    groups = [g.id for gl in group_lists for g in gl if is_tagged(g.idnumber, tag)]
    return Tagged(users, sorted(course_ids), [c.id for c in categories], cohorts, groups)


def _tagged_users(client: MoodleClient, tag: str) -> list[int]:
    # core_user_get_users matches idnumber exactly; list users by auth method
    # instead and keep the tagged ones.
    found = []
    for auth in ("manual", "nologin"):
        result = client.call("core_user_get_users", criteria=[{"key": "auth", "value": auth}])
        for user in result.get("users", []):
            if str(user.get("idnumber", "")).startswith(tag_prefix(tag)):
                found.append(int(user["id"]))
    return found


def cleanup(
    client: MoodleClient,
    tag: str,
    *,
    allow_writes: bool = False,
    data: Dataset | None = None,
) -> CleanupSummary:
    """Delete every entity tagged ``tag`` (see the module's docstring)."""
    ensure_writable(client, allow_writes)
    usernames = [u.username for u in data.users] if data is not None else None
    tagged = find_tagged(client, tag, usernames=usernames)
    summary = CleanupSummary()
    if tagged.groups:
        client.groups.delete(tagged.groups)
    summary.deleted["groups"] = len(tagged.groups)
    for batch in chunks(tagged.courses, 20):
        for warning in client.courses.delete(batch):
            summary.notes.append(f"course {warning.itemid}: {warning.message}")
    summary.deleted["courses"] = len(tagged.courses)
    if tagged.cohorts:
        client.cohorts.delete(tagged.cohorts)
    summary.deleted["cohorts"] = len(tagged.cohorts)
    client.map_concurrently(client.users.delete, chunks(tagged.users, 200), max_workers=2)
    summary.deleted["users"] = len(tagged.users)
    # Deepest first, each on its own: a category still holding an untagged
    # course or category is kept (Moodle refuses to delete it without recursive).
    kept = 0
    for categoryid in tagged.categories:
        if _category_is_empty(client, categoryid):
            # Empty, so "recursive" deletes nothing else; without it Moodle wants
            # a category to move the (absent) content to.
            client.categories.delete([categoryid], recursive=True)
        else:
            kept += 1
            summary.notes.append(
                f"category {categoryid} kept: it holds courses or categories not seeded"
            )
    summary.deleted["categories"] = len(tagged.categories) - kept
    return summary


def _category_is_empty(client: MoodleClient, categoryid: int) -> bool:
    children = client.categories.get({"parent": categoryid}, addsubcategories=False)
    courses = client.courses.get_by_field("category", categoryid)
    return not children and not courses
