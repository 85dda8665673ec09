"""Observation area ``files``: the files of each activity, with a hash of their content.

From ``core_course_get_contents`` (each module's ``contents``), the content downloaded
through ``webservice/pluginfile.php`` for its hash.  A file's key is its file area and
path; book chapters, whose paths hold database ids, are keyed by their title.

=========================================  ==============================================
``files/<C>/<A>/<filearea>/<path>``        component, size, MIME type, SHA-1 of content
=========================================  ==============================================
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

from moodle_regress.observation import make_key

Fact = tuple[str, Any]

#: Larger files are not downloaded: their hash reads "not downloaded".
MAX_DOWNLOAD = 2 * 1024 * 1024


def file_parts(fileurl: str) -> tuple[str, str]:
    """(component, file area) from ``.../pluginfile.php/<context>/<component>/<area>/...``."""
    path = unquote(urlsplit(fileurl).path)
    marker = "pluginfile.php/"
    if marker not in path:
        return "?", "?"
    parts = path.split(marker, 1)[1].split("/")
    return (parts[1], parts[2]) if len(parts) > 2 else ("?", "?")


def file_key(module: Mapping[str, Any], item: Mapping[str, Any]) -> str:
    _, area = file_parts(str(item.get("fileurl", "")))
    if module.get("modname") == "book" and item.get("filename") == "index.html":
        return f"{area}/{item.get('content') or '?'}"  # the chapter's title
    return f"{area}{item.get('filepath') or '/'}{item.get('filename')}"


def wanted(item: Mapping[str, Any]) -> bool:
    return item.get("type") == "file" and bool(item.get("fileurl"))


def content_hash(content: bytes | str | None, size: int) -> str:
    if content is None:
        return f"not downloaded ({size} bytes)"
    data = content.encode("utf-8", "surrogateescape") if isinstance(content, str) else content
    return hashlib.sha1(data).hexdigest()  # noqa: S324 - a fingerprint


def comparable_content(
    content: bytes | str | None, size: int, clean: Callable[[str], str]
) -> bytes | str | None:
    """What is hashed of a file: a file Moodle renders as it serves it (size 0: a page's
    or a book chapter's text, through filters such as activity-name links, which write
    the site's own address in) with that address made relative by ``clean``, so that a
    copy of the site at another address serves the same page; a stored file as it is."""
    if isinstance(content, str) and size == 0:
        return clean(content)
    return content


def file_fact(
    course: str,
    activity: str,
    module: Mapping[str, Any],
    item: Mapping[str, Any],
    content: bytes | str | None,
    *,
    clean: Callable[[str], str] = str,
) -> Fact:
    """A file's observation (``clean``: the site's rule for its own address)."""
    component, _ = file_parts(str(item.get("fileurl", "")))
    size = int(item.get("filesize") or 0)
    content = comparable_content(content, size, clean)
    value = {
        "component": component,
        "size": size,
        "mimetype": item.get("mimetype"),
        "sha1": content_hash(content, size),
    }
    return make_key("files", course, activity, file_key(module, item)), value
