"""The run tag: how seeded entities are recognised, for idempotence and cleanup.

Every entity the seeder creates gets an idnumber beginning ``mr-<tag>-``:

=========== ===================================== =====================================
entity      idnumber                              found again by
=========== ===================================== =====================================
category    ``mr-<tag>-<plan idnumber>``          its idnumber
course      ``mr-<tag>-<shortname>``              its shortname (natural key)
user        ``mr-<tag>-<username>``               its username (natural key)
group       ``mr-<tag>-<name slug>-<hash>``       course + name
cohort      ``mr-<tag>-<plan idnumber>``          its idnumber
=========== ===================================== =====================================

An entity that already existed (same natural key, no tag) is used but never
tagged, so ``cleanup`` leaves it alone.  Enrolments, group and cohort members are
not tagged: they go when their user, course, group or cohort goes.
"""

from __future__ import annotations

import hashlib

from moodle_regress.errors import MoodleRegressError
from moodle_regress.seeding.generate import slug
from moodle_regress.seeding.plan import TAG_RE

PREFIX = "mr"


class TagError(MoodleRegressError):
    """A run tag that cannot mark entities unambiguously."""


def check_tag(tag: str) -> str:
    """``tag`` if it is a valid run tag (as a plan's ``tag:``), else :class:`TagError`.

    No hyphen: ``mr-a-b-x`` must mean tag ``a``, so that cleaning up one tag never
    touches another's entities.
    """
    if not TAG_RE.match(tag):
        raise TagError(
            f"run tag {tag!r} is not valid: a tag is 1-12 lower case letters or digits",
            "give a tag like qa1 (a-z and 0-9 only: no spaces, hyphens or capitals)",
        )
    return tag


def tag_prefix(tag: str) -> str:
    return f"{PREFIX}-{tag}-"


def tagged(tag: str, key: str) -> str:
    return f"{tag_prefix(tag)}{key}"


def group_idnumber(tag: str, name: str) -> str:
    # Group idnumbers are unique per course and at most 100 characters.
    digest = hashlib.sha1(name.encode()).hexdigest()[:6]  # noqa: S324 - a label, not security
    return tagged(tag, f"{slug(name)[:60]}-{digest}")


def is_tagged(idnumber: str | None, tag: str | None = None) -> bool:
    """Whether ``idnumber`` carries ``tag`` (any run tag when ``tag`` is None)."""
    if not idnumber:
        return False
    if tag is not None:
        return idnumber.startswith(tag_prefix(tag))
    return idnumber.startswith(f"{PREFIX}-") and idnumber.count("-") >= 2
