"""The write guard: the tool writes only to sites marked as test sites.

A site is a test site when it has a course category whose idnumber is
:data:`MARKER_IDNUMBER`.  The sandbox creates that category when it brings a site
up; on a staging site an administrator creates it by hand (Site administration >
Courses > Manage courses and categories > Create new category, ID number
``moodle-regress-test-site``; hide it so nobody sees it).  Without the marker every
writing command refuses unless the user passes ``--allow-writes``.
"""

from __future__ import annotations

import logging
import threading
import weakref
from typing import Any

from moodle_regress.errors import MoodleRegressError
from moodle_ws import MoodleClient

log = logging.getLogger(__name__)

MARKER_IDNUMBER = "moodle-regress-test-site"
MARKER_NAME = "moodle-regress test site (do not delete)"
#: Names of what the suites make for themselves on any site (the browser suites' users
#: and courses, the API suites' scratch entities): never a site's own.
SUITE_PREFIXES = ("mr-b-", "mr-t-")


def made_by_the_suites(name: str) -> bool:
    """A course shortname or username the suites made (see ``SUITE_PREFIXES``)."""
    return name.startswith(SUITE_PREFIXES)


class WriteRefusedError(MoodleRegressError):
    """The tool refused to write to a site that is not marked as a test site."""

    def __init__(self, site: str, cause: str) -> None:
        self.site = site
        self.cause = cause
        super().__init__(
            f"refusing to write to {site}: {cause}",
            f"if {site} is a test site, mark it: create a course category with ID number "
            f"'{MARKER_IDNUMBER}' (Site administration > Courses > Manage courses and "
            "categories); or pass --allow-writes to write to it once anyway",
        )


_lock = threading.Lock()
# One answer per client object: the marker does not come and go during a run.
_cache: weakref.WeakKeyDictionary[MoodleClient, bool] = weakref.WeakKeyDictionary()


def is_marked_test_site(client: MoodleClient, *, refresh: bool = False) -> bool:
    """Whether the site carries the test-site marker category (cached per client)."""
    with _lock:
        if not refresh and client in _cache:
            return _cache[client]
    found: Any = client.call(
        "core_course_get_categories",
        criteria=[{"key": "idnumber", "value": MARKER_IDNUMBER}],
        addsubcategories=0,
    )
    marked = any(isinstance(c, dict) and c.get("idnumber") == MARKER_IDNUMBER for c in found or [])
    with _lock:
        _cache[client] = marked
    return marked


def ensure_writable(client: MoodleClient, allow_writes: bool) -> None:
    """Raise :class:`WriteRefusedError` unless the site may be written to."""
    if allow_writes:
        log.warning("writing to %s: allowed explicitly (--allow-writes)", client.url)
        return
    if not is_marked_test_site(client):
        raise WriteRefusedError(
            client.url,
            f"it has no course category with ID number '{MARKER_IDNUMBER}', "
            "so it is not marked as a test site",
        )


def mark_test_site(client: MoodleClient) -> int:
    """Create the marker category if missing; return its id.

    This is itself a write: call it only for a site you know is a test site.
    """
    found: Any = client.call(
        "core_course_get_categories",
        criteria=[{"key": "idnumber", "value": MARKER_IDNUMBER}],
        addsubcategories=0,
    )
    for category in found or []:
        if category.get("idnumber") == MARKER_IDNUMBER:
            return int(category["id"])
    created: Any = client.call(
        "core_course_create_categories",
        categories=[{"name": MARKER_NAME, "idnumber": MARKER_IDNUMBER, "parent": 0}],
    )
    with _lock:
        _cache[client] = True
    return int(created[0]["id"])
