"""Observation area ``forums``: discussions and their posts.

From ``mod_forum_get_forum_discussions`` (per forum) and
``mod_forum_get_discussion_posts`` (per discussion).  A discussion's natural key is its
subject; a post's message is kept as a hash of its text with the site's address
removed, so equal messages on two sites hash alike.

===========================================  ==========================================
``forums/<C>/<A>/<subject>``                 author, pinned, locked, the posts in order
                                             (author, subject, parent, message hash)
``forums/<C>/<A>/discussions``               the count of discussions
===========================================  ==========================================
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from moodle_regress.observation import make_key

Fact = tuple[str, Any]


def text_hash(text: str, clean: Callable[[str], str]) -> str:
    return hashlib.sha1(clean(text).encode()).hexdigest()  # noqa: S324 - a fingerprint


def discussion_fact(
    course: str,
    forum: str,
    discussion: Mapping[str, Any],
    posts: Sequence[Mapping[str, Any]],
    *,
    usernames: Mapping[int, str],
    clean: Callable[[str], str],
) -> Fact:
    by_id = {int(p["id"]): p for p in posts}
    ordered = sorted(posts, key=lambda p: int(p["id"]))

    def author(post: Mapping[str, Any]) -> str:
        person = post.get("author") or {}
        return usernames.get(int(person.get("id", 0)), "<user ?>")

    value = {
        "author": usernames.get(int(discussion.get("userid", 0)), "<user ?>"),
        "pinned": bool(discussion.get("pinned")),
        "locked": bool(discussion.get("locked")),
        "posts": [
            {
                "author": author(post),
                "subject": post.get("subject"),
                "parent": (by_id.get(int(post.get("parentid") or 0)) or {}).get("subject"),
                "message_sha1": text_hash(str(post.get("message") or ""), clean),
            }
            for post in ordered
        ],
    }
    return make_key("forums", course, forum, str(discussion.get("name"))), value


def count_fact(course: str, forum: str, discussions: Sequence[Any]) -> Fact:
    return make_key("forums", course, forum, "discussions"), len(discussions)
